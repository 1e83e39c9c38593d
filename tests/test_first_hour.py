"""What a newcomer meets in the first hour (issue 21): one input file, the words of the summaries and
the report, previews of tiny volumes, grouped help, and the names nidataset 0.9.1 used."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

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
