"""What a newcomer meets in the first hour (issue 21): one input file, the words of the summaries and
the report, previews of tiny volumes, grouped help, and the names nidataset 0.9.1 used."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from conftest import write_volume
from nidataset.cli import main


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes, but the report (it names the input as given) and the
    resume records (they hold the input's inode)."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "report.html" and ".nidataset" not in p.relative_to(root).parts
    }


@pytest.fixture
def two_volumes(tmp_path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    write_volume(folder / "a.nii.gz", np.arange(4 * 5 * 3, dtype=np.int16).reshape(4, 5, 3))
    mask = np.zeros((6, 7, 4), dtype=np.uint8)
    mask[1:3, 2:5, 1:3] = 1
    write_volume(folder / "b.nii.gz", mask)
    return folder


@pytest.mark.parametrize(
    "extra",
    [
        ["--save-stats", "--save-manifest", "--view", "axial,sagittal"],
        ["--save-manifest", "--preview", "--window", "auto", "--format", "png"],
    ],
    ids=["tiff", "png"],
)
def test_slices_of_one_file_are_those_its_folder_gives(tmp_path, two_volumes, capsys, extra):
    """``nidataset slices scan.nii.gz out/`` runs that file as a dataset of one: the same files, bytes
    and manifest rows as the folder's run writes for it."""
    assert main(["slices", str(two_volumes / "b.nii.gz"), str(tmp_path / "one"), *extra]) == 0
    assert capsys.readouterr().out.startswith("1 of 1 files done, ")
    only_b = tmp_path / "only_b"
    only_b.mkdir()
    (only_b / "b.nii.gz").write_bytes((two_volumes / "b.nii.gz").read_bytes())
    assert main(["slices", str(only_b), str(tmp_path / "folder"), *extra]) == 0
    assert tree(tmp_path / "one") == tree(tmp_path / "folder")
    assert (tmp_path / "one" / "report.html").is_file()


def test_slices_of_a_file_in_the_working_folder(tmp_path, two_volumes, monkeypatch, capsys):
    monkeypatch.chdir(two_volumes)
    assert main(["slices", "a.nii.gz", str(tmp_path / "out"), "--save-manifest"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "1 of 1 files done, 3 slices written",
        f"report: {tmp_path / 'out' / 'report.html'}",
    ]
    manifest = pd.read_csv(tmp_path / "out" / "axial_manifest.csv")
    assert set(manifest["source"]) == {"a.nii.gz"}


def test_annotations_and_preview_take_one_file(tmp_path, two_volumes, capsys):
    assert (
        main(["annotations", str(two_volumes / "b.nii.gz"), str(tmp_path / "ann"), "--data-mode", "box"]) == 0
    )
    assert (tmp_path / "ann" / "b" / "axial").is_dir()
    assert main(["preview", str(two_volumes / "b.nii.gz"), str(two_volumes), str(tmp_path / "pre")]) == 0
    assert (tmp_path / "pre" / "previews" / "b_axial_preview.png").is_file()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["build", "{a}", "{folder}", "{out}"],
            "nidataset build: error: argument IMAGES: '{a}' is a file: give its folder",
        ),
        (
            ["build", "{folder}", "{a}", "{out}"],
            "nidataset build: error: argument MASKS: '{a}' is a file: give its folder",
        ),
        (
            ["preview", "{folder}", "{a}", "{out}"],
            "nidataset preview: error: argument MASKS_FOLDER: '{a}' is a file: give its folder",
        ),
    ],
    ids=["build-images", "build-masks", "preview-masks"],
)
def test_a_file_where_only_a_folder_can_work_says_so(tmp_path, two_volumes, capsys, argv, message):
    names = {"a": str(two_volumes / "a.nii.gz"), "folder": str(two_volumes), "out": str(tmp_path / "out")}
    with pytest.raises(SystemExit) as exit_:
        main([part.format(**names) for part in argv])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == message.format(**names)


def test_a_file_that_is_not_a_volume_is_refused(tmp_path, capsys):
    text = tmp_path / "notes.txt"
    text.write_text("not a volume")
    assert main(["slices", str(text), str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"nidataset: error: NII_FOLDER {str(text)!r} is a file, not a .nii.gz or .nii volume: give its folder"
    ]


def test_a_run_result_gives_its_total_as_0_9_1_returned_it(tmp_path, two_volumes):
    from nidataset.slices import extract_slices_dataset

    result = extract_slices_dataset(
        str(two_volumes), str(tmp_path / "out"), ["axial", "coronal"], progress=False
    )
    axial, coronal = 3 + 4, 5 + 7  # the stored Z and Y sizes of a (4, 5, 3) and a (6, 7, 4) volume
    assert int(result) == result.total == result.total() == axial + coronal
    assert (result.total("axial"), result.total("coronal")) == (axial, coronal)
    assert f"{result.total} slices" == f"{axial + coronal} slices"
    assert result.total + 1 == axial + coronal + 1
    assert result != axial + coronal and bool(result)  # a record: equality and truth are not the count's
    import pickle

    assert pickle.loads(pickle.dumps(result.total))("coronal") == coronal
    with pytest.raises(
        ValueError, match=r"view 'sagittal' is not one of this run's views \['axial', 'coronal'\]"
    ):
        result.total("sagittal")


def test_extract_annotations_takes_0_9_1_saving_mode_with_a_warning(tmp_path, two_volumes):
    from nidataset.slices import extract_annotations

    mask = str(two_volumes / "b.nii.gz")
    with pytest.warns(
        DeprecationWarning, match=r"saving_mode=\.\.\.\) is nidataset 0\.9\.1's name of extraction_mode="
    ):
        paths = extract_annotations(mask, str(tmp_path / "old"), saving_mode="volume", data_mode="box")
    assert [Path(p).name for p in paths] == ["b.csv"]
    expected = extract_annotations(mask, str(tmp_path / "new"), extraction_mode="volume", data_mode="box")
    assert Path(paths[0]).read_bytes() == Path(expected[0]).read_bytes()
    assert pd.read_csv(paths[0]).values.tolist() == [[1, 2, 1, 2, 4, 2, 1]]  # the box written above
    with (
        pytest.warns(DeprecationWarning),
        pytest.raises(ValueError, match="disagree: give extraction_mode alone"),
    ):
        extract_annotations(mask, str(tmp_path / "both"), "axial", "volume", saving_mode="slice")


def test_previews_of_a_tiny_volume_show_its_voxels_as_blocks(tmp_path, capsys):
    """A 4 x 5 slice becomes a 192-pixel tile by nearest neighbour: every tile pixel is one voxel's
    windowed value (no blend of two), and every voxel is a block of many pixels."""
    from nidataset.viewing.preview import CAPTION, GAP

    folder = tmp_path / "in"
    folder.mkdir()
    values = np.arange(0, 200, 10, dtype=np.int16).reshape(4, 5, 1)
    write_volume(folder / "tiny.nii.gz", values)
    (tmp_path / "no_masks").mkdir()
    argv = ["preview", str(folder), str(tmp_path / "no_masks"), str(tmp_path / "out"), "--window", "100,200"]
    assert main(argv) == 0
    png = np.asarray(Image.open(tmp_path / "out" / "previews" / "tiny_axial_preview.png"))
    tile = png[GAP : png.shape[0] - GAP - CAPTION, GAP : png.shape[1] - GAP]  # one slice: one tile
    # SPEC Part 2's window: c - 0.5 = 99.5, w - 1 = 199
    voxels = np.floor(((values.ravel() - 99.5) / 199 + 0.5) * 255 + 0.5).astype(int)
    shown, counts = np.unique(tile, return_counts=True)
    assert sorted(shown) == sorted(voxels)
    assert min(counts) >= tile.size // values.size // 2


def test_the_annotation_summary_counts_objects_and_boxes(tmp_path, capsys):
    """Two labels: label 1 on axial slices 1 and 2, label 2 on slice 2 only: 2 objects, 3 boxes
    (one per object per slice), in 2 CSV files (one per slice holding an object)."""
    folder = tmp_path / "masks"
    folder.mkdir()
    mask = np.zeros((6, 7, 4), dtype=np.uint8)
    mask[1:3, 1:3, 1:3] = 1
    mask[4, 5, 2] = 2
    write_volume(folder / "m.nii.gz", mask)
    labels = [value for value in np.unique(mask) if value]
    boxes = sum(np.any(mask == value, axis=(0, 1)).sum() for value in labels)
    files = np.any(mask > 0, axis=(0, 1)).sum()
    assert main(["annotations", str(folder), str(tmp_path / "out"), "--no-report"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"1 of 1 files done, {len(labels)} objects written: {boxes} boxes in {files} slice CSV files"
    ]
    assert (len(labels), boxes, files) == (2, 3, 2)


def test_the_report_names_a_big_endian_dtype_in_words(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write_volume(folder / "be.nii", np.arange(24, dtype=">i2").reshape(2, 3, 4))
    assert main(["slices", str(folder), str(tmp_path / "out"), "--quiet"]) == 0
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "int16 (big-endian)" in page and "&gt;i2" not in page and ">i2" not in page


@pytest.mark.parametrize("command", ["slices", "annotations", "build", "preview", "reassemble"])
def test_help_lists_the_options_by_section(command, capsys):
    """--help's ~25 options in four sections, in this order; only -h is left under "options"."""
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    sections = [
        line[:-1] for line in text.splitlines() if line and not line[0].isspace() and line.endswith(":")
    ]
    wanted = ["options", "inputs and outputs", "geometry", "values and formats", "run", "examples"]
    assert sections == [title for title in wanted if title in sections]
    assert {"options", "inputs and outputs", "run"} <= set(sections)
    options = text.split("\noptions:\n", 1)[1].split("\n\n", 1)[0]
    assert options.split() == ["-h,", "--help", "show", "this", "help", "message", "and", "exit"]
    inputs = text.split("\ninputs and outputs:\n", 1)[1].split("\n\n", 1)[0]
    assert ("OUTPUT" in inputs and "--report" in inputs) or command == "reassemble"
    if command in ("slices", "build"):
        values = text.split("\nvalues and formats:\n", 1)[1].split("\n\n", 1)[0]
        assert "--window NAME|C,W" in values and "--format {" in values
        assert "--target-size H W" in text.split("\ngeometry:\n", 1)[1].split("\n\n", 1)[0]


def test_every_command_runs_on_the_demo_s_outputs(tmp_path, capsys):
    """The demo prints the next steps; each of them runs as printed (annotations, preview, build,
    reassemble), and the demo runs again over its own folder with their outputs in it."""
    import shlex
    import time

    demo = tmp_path / "demo"
    started = time.monotonic()
    assert main(["demo", str(demo)]) == 0
    seconds = time.monotonic() - started
    out = capsys.readouterr().out.splitlines()
    steps = [shlex.split(line)[1:] for line in out[out.index("next, try:") + 1 :]]
    assert [step[0] for step in steps] == ["annotations", "preview", "build", "reassemble"]
    for step in steps:
        assert main(step) == 0, step
    reassembled = nib.load(str(demo / "tried" / "reassembled" / "case_001.nii.gz"))
    assert reassembled.shape == nib.load(str(demo / "volumes" / "case_001.nii.gz")).shape
    assert main(["demo", str(demo), "--quiet"]) == 0
    page = (demo / "slices" / "report.html").read_text(encoding="utf-8")
    assert "<h2>What the demo wrote</h2>" in page and "8-bit PNG through the soft_tissue window" in page
    readme = (demo / "README.txt").read_text(encoding="utf-8")
    assert "their label masks, uint8 (1 lungs, 2 heart)" in readme and "nidataset reassemble" in readme
    assert seconds < 30


def test_the_demo_s_masks_label_the_phantom_s_lungs_and_heart(tmp_path):
    """Lungs (label 1) are air-dark and the heart (label 2) soft-tissue bright in the volumes."""
    from nidataset.demo import write_demo_volumes

    write_demo_volumes(str(tmp_path / "v"), str(tmp_path / "m"))
    volume = np.asarray(nib.load(str(tmp_path / "v" / "case_001.nii.gz")).dataobj)
    mask = np.asarray(nib.load(str(tmp_path / "m" / "case_001.nii.gz")).dataobj)
    assert abs(np.median(volume[mask == 1]) + 850) < 20 and abs(np.median(volume[mask == 2]) - 90) < 20
    assert np.median(volume[mask == 0]) < -500  # mostly air around the torso


def test_an_empty_demo_folder_is_a_usage_error(capsys):
    assert main(["demo", ""]) == 2
    assert capsys.readouterr().err == "nidataset: error: the demo's folder must be named; got an empty path\n"
