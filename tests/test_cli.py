"""The command line: the demo, in-process and as a subprocess; and a cheap ``import nidataset``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from conftest import all_files
from nidataset.cli import main
from nidataset.phantoms import DEMO_CASES


def check_demo(output: Path) -> None:
    """The phantoms and their masks; slices as a model takes them: radiological (nibabel's RAS+
    reordering, each view shown as 3D Slicer shows it), through the soft-tissue window, 8-bit PNG."""
    volumes = sorted((output / "volumes").glob("*.nii.gz"))
    assert [v.name for v in volumes] == [f"{name}.nii.gz" for name, _, _ in DEMO_CASES]
    for volume, (name, shape, _) in zip(volumes, DEMO_CASES, strict=True):
        image = nib.load(str(volume))
        assert image.shape == shape and image.get_data_dtype() == np.int16
        mask = nib.load(str(output / "masks" / volume.name))
        assert mask.get_data_dtype() == np.uint8 and set(np.unique(np.asarray(mask.dataobj))) == {0, 1, 2}
        ras = np.asarray(nib.as_closest_canonical(image).dataobj).astype(np.float64)
        windowed = np.floor(np.clip(((ras - 49.5) / 349 + 0.5) * 255, 0, 255) + 0.5)  # soft tissue (50, 350)
        windowed[ras <= 49.5 - 174.5] = 0
        windowed[ras > 49.5 + 174.5] = 255
        middle = shape[2] // 2
        png = np.asarray(Image.open(output / "slices" / name / "axial" / f"{name}_axial_{middle:03d}.png"))
        # radiological axial: rows run from anterior (RAS+ y falling), columns from the patient's right
        # (x, which rises toward the right, falling)
        np.testing.assert_array_equal(png, windowed[::-1, ::-1, middle].T)
        for view, axis in (("axial", 2), ("coronal", 1), ("sagittal", 0)):
            assert len(list((output / "slices" / name / view).glob("*.png"))) == shape[axis]
    for view, axis in (("axial", 2), ("coronal", 1), ("sagittal", 0)):
        stats = pd.read_csv(output / "slices" / f"{view}_slices_stats.csv")
        assert stats.iloc[-1]["TOTAL_SLICES"] == sum(shape[axis] for _, shape, _ in DEMO_CASES)
        assert (output / "slices" / f"{view}_manifest.csv").is_file()
    images = sorted((output / "dataset").rglob("images/**/*.png"))
    assert len(images) == sum(shape[2] for _, shape, _ in DEMO_CASES)


def demo_lines(output: Path) -> list[str]:
    slices, tried = output / "slices", output / "tried"
    return [
        "3 of 3 files done, 664 slices written",
        "3 of 3 files done, 120 images written",
        f"{output / 'volumes'}: 3 phantom CT volumes, int16 Hounsfield-like values (air -1000, lungs -850, "
        "soft tissue 40, heart 90, bone 700)",
        f"{output / 'masks'}: their label masks, uint8 (1 lungs, 2 heart), named like the volumes",
        f"{slices}: their slices in axial, coronal, sagittal views, radiological orientation (as 3D Slicer "
        "shows them), 8-bit PNG through the soft_tissue window; statistics, manifests (<view>_manifest.csv, "
        "for reassemble), previews and report.html",
        f"{output / 'dataset'}: a training set built from volumes and masks (axial, the same window): "
        "images, masks, YOLO labels, COCO, data.yaml and report.html",
        f"report (open it in a browser): {slices / 'report.html'}",
        "next, try:",
        f"  nidataset annotations {output / 'masks'} {tried / 'annotations'} --data-mode box --images "
        f"{output / 'volumes'}",
        f"  nidataset preview {output / 'volumes'} {output / 'masks'} {tried / 'previews'}",
        f"  nidataset build {output / 'volumes'} {output / 'masks'} {tried / 'dataset'} --view coronal "
        "--window soft_tissue --format png",
        f"  nidataset reassemble {slices} {tried / 'reassembled'} --manifest {slices / 'axial_manifest.csv'}",
    ]


def test_demo_in_process(tmp_path, capsys):
    assert main(["demo", str(tmp_path / "demo")]) == 0
    check_demo(tmp_path / "demo")
    assert capsys.readouterr().out.splitlines() == demo_lines(tmp_path / "demo")
    assert main(["demo", str(tmp_path / "quiet"), "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")


def test_demo_as_a_module_subprocess(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "nidataset", "demo", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "3 of 3 files done" in done.stdout and "3/3" in done.stderr
    check_demo(tmp_path / "demo")


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["frobnicate"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_import_is_cheap():
    heavy = "('numpy', 'nibabel', 'tifffile', 'tqdm')"
    code = f"import sys, nidataset; print(sorted(m for m in {heavy} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# --- nidataset slices / annotations ----------------------------------------------------------


@pytest.fixture
def recorder(monkeypatch):
    """Capture what the command line passes to the API, with a result that says all went well."""
    calls: list[tuple[tuple, dict]] = []

    class Result:
        skipped = ()
        what = "slices"

        def summary(self) -> str:
            return "all done"

    def record(*args, **kwargs):
        calls.append((args, kwargs))
        return Result()

    monkeypatch.setattr("nidataset.slices.extract_slices_dataset", record)
    monkeypatch.setattr("nidataset.annotations.extract_annotations_dataset", record)
    return calls


def test_slices_defaults_reach_the_api(recorder):
    assert main(["slices", "in", "out"]) == 0
    ((args, kwargs),) = recorder
    assert args == ("in", "out", ["axial"], "case", None, 0.0, False)
    assert kwargs["dtype"] == "auto" and kwargs["workers"] is None and kwargs["executor"] is None
    assert kwargs["resume"] is False and kwargs["save_failures"] is True
    assert kwargs["progress"].enabled is True and kwargs["progress"].summary is False


@pytest.mark.parametrize(
    ("options", "position", "expected"),
    [
        (["--view", "coronal"], 2, ["coronal"]),
        (["--view", "axial,sagittal"], 2, ["axial", "sagittal"]),
        (["--view", "axial", "--view", "coronal,sagittal"], 2, ["axial", "coronal", "sagittal"]),
        (["--saving-mode", "view"], 3, "view"),
        (["--target-size", "512", "256"], 4, [512, 256]),
        (["--pad-value", "-1024"], 5, -1024.0),
        (["--save-stats"], 6, True),
    ],
)
def test_slices_positional_options_reach_the_api(recorder, options, position, expected):
    main(["slices", "in", "out", *options])
    assert recorder[0][0][position] == expected


@pytest.mark.parametrize(
    ("options", "keyword", "expected"),
    [
        (["--float32"], "dtype", "float32"),
        (["--workers", "3"], "workers", 3),
        (["--resume"], "resume", True),
    ],
)
def test_slices_keyword_options_reach_the_api(recorder, options, keyword, expected):
    main(["slices", "in", "out", *options])
    assert recorder[0][1][keyword] == expected


def test_quiet_turns_the_display_off(recorder, capsys):
    main(["slices", "in", "out", "--quiet"])
    assert recorder[0][1]["progress"].enabled is False
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize(
    ("options", "position", "expected"),
    [
        ([], slice(2, 8), (["axial"], "case", "slice", "center", None, False)),
        (["--extraction-mode", "volume", "--data-mode", "box"], slice(4, 6), ("volume", "box")),
        (["--target-size", "64", "32", "--save-stats"], slice(6, 8), ([64, 32], True)),
    ],
)
def test_annotations_options_reach_the_api(recorder, options, position, expected):
    assert main(["annotations", "masks", "labels", *options]) == 0
    assert recorder[0][0][position] == expected


def test_annotations_components_option_reaches_the_api(recorder):
    main(["annotations", "masks", "labels", "--components"])
    assert recorder[0][1]["components"] is True


def test_a_clean_dataset_exits_0_with_the_summary_on_stdout(cases, tmp_path, capsys):
    assert main(["slices", str(cases), str(tmp_path / "out"), "--save-stats"]) == 0
    out, err = capsys.readouterr()
    assert out == f"3 of 3 files done, 19 slices written\nreport: {tmp_path / 'out' / 'report.html'}\n"
    assert "3/3 files, 19 slices" in err  # progress goes to stderr (plain lines: not a terminal)


def test_one_bad_file_exits_1_and_says_where_the_failure_list_is(cases, tmp_path, capsys):
    (cases / "case_000.nii.gz").write_bytes(b"not a volume at all")
    out_dir = tmp_path / "out"
    assert main(["slices", str(cases), str(out_dir)]) == 1
    out, err = capsys.readouterr()
    failures = out_dir / "slices_failed.csv"
    assert out.splitlines() == [
        "3 of 4 files done, 19 slices written, 1 skipped",
        f"skipped files and reasons: {failures}",
        f"report: {out_dir / 'report.html'}",
    ]
    assert "skipped case_000.nii.gz: not a NIfTI file" in err
    assert failures.read_text().splitlines()[1].startswith("case_000.nii.gz,not a NIfTI file")


def test_quiet_leaves_only_the_errors(cases, tmp_path, capsys):
    (cases / "case_000.nii.gz").write_bytes(b"")
    assert main(["slices", str(cases), str(tmp_path / "out"), "--quiet"]) == 1
    assert capsys.readouterr() == ("", "skipped case_000.nii.gz: empty file (0 bytes)\n")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--view", "oblique"], "--view must be one of 'axial', 'coronal', 'sagittal'; got 'oblique'"),
        (["--target-size", "2", "2"], r"--target-size 2 2 is smaller than the slices of"),
        (["--workers", "0"], "--workers must be None"),
    ],
)
def test_contract_errors_exit_2_and_write_nothing(cases, tmp_path, capsys, options, message):
    assert main(["slices", str(cases), str(tmp_path / "out"), *options]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("nidataset: error: ")
    assert re.search(message, err)
    assert not (tmp_path / "out").exists()


def test_a_missing_folder_exits_2(tmp_path, capsys):
    assert main(["slices", str(tmp_path / "nowhere"), str(tmp_path / "out")]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize(
    "options", [["--saving-mode", "folder"], ["--target-size", "512"], ["--pad-value", "x"]]
)
def test_malformed_options_exit_2(options, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["slices", "in", "out", *options])
    assert exit_info.value.code == 2
    assert "usage: nidataset slices" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["slices", "annotations", "demo"])
def test_help_has_a_purpose_every_default_and_two_examples(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    assert text.count(f"nidataset {command} ") >= 2 or text.count(f"-m nidataset {command} ") >= 1
    examples = text[text.index("examples:") :].splitlines()[1:]
    assert len([line for line in examples if line.strip()]) == 2
    options = [line for line in text.splitlines() if line.strip().startswith("--")]
    assert options and all("default" in text for text in _option_helps(text))


def _option_helps(text: str) -> list[str]:
    """The help text of each option (the lines from one option to the next)."""
    body = text[text.index("options:") : text.index("examples:")]
    return [
        block for block in re.split(r"\n  (?=--)", body) if block.startswith("--") and "--help" not in block
    ]


@pytest.mark.parametrize("entry", [["-m", "nidataset"], None], ids=["python -m", "console script"])
def test_subprocess_entry_points_exit_codes_and_streams(cases, tmp_path, entry):
    (cases / "case_000.nii.gz").write_bytes(b"")
    command = [sys.executable, *entry] if entry else [str(Path(sys.executable).parent / "nidataset")]
    done = subprocess.run(
        [*command, "slices", str(cases), str(tmp_path / "out")], capture_output=True, text=True
    )
    assert done.returncode == 1
    assert done.stdout.startswith("3 of 4 files done, 19 slices written, 1 skipped\n")
    assert "skipped case_000.nii.gz: empty file (0 bytes)" in done.stderr


# --- Dask ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_cluster():
    distributed = pytest.importorskip("dask.distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield cluster, client


def test_a_dask_executor_gives_what_a_local_run_gives(dask_cluster, cases, tmp_path):
    from nidataset import extract_slices_dataset

    _, client = dask_cluster
    (cases / "case_000.nii.gz").write_bytes(b"\x1f\x8b broken")
    options = {"view": ["axial", "sagittal"], "save_stats": True, "save_failures": True, "progress": False}
    local = extract_slices_dataset(str(cases), str(tmp_path / "local"), workers=1, **options)
    remote = extract_slices_dataset(
        str(cases), str(tmp_path / "dask"), executor=client.get_executor(), **options
    )
    assert remote.outcomes == local.outcomes
    assert all_files(tmp_path / "dask") == all_files(tmp_path / "local")
    assert (tmp_path / "dask" / "slices_failed.csv").read_text().count("case_000.nii.gz") == 1


def test_the_dask_scheduler_option_gives_what_a_local_run_gives(dask_cluster, cases, tmp_path):
    cluster, _ = dask_cluster
    (cases / "case_000.nii.gz").write_bytes(b"")
    common = ["--view", "coronal", "--save-stats", "--quiet"]
    assert main(["slices", str(cases), str(tmp_path / "local"), "--workers", "1", *common]) == 1
    address = cluster.scheduler_address
    assert main(["slices", str(cases), str(tmp_path / "dask"), "--dask-scheduler", address, *common]) == 1
    dask, local = all_files(tmp_path / "dask"), all_files(tmp_path / "local")
    reports = [
        re.sub(r" in [0-9.]+ s\.", "", files.pop("report.html").decode()).replace(str(tmp_path / name), "OUT")
        for files, name in ((dask, "dask"), (local, "local"))
    ]
    assert dask == local and reports[0] == reports[1]  # the same but for the time taken


def test_shards_written_on_a_dask_cluster_are_those_of_a_local_run(dask_cluster, cases, tmp_path):
    from nidataset import extract_slices_dataset

    _, client = dask_cluster
    options = {
        "view": ["axial", "coronal"],
        "container": "webdataset",
        "save_manifest": True,
        "progress": False,
    }
    extract_slices_dataset(str(cases), str(tmp_path / "local"), workers=1, **options)
    extract_slices_dataset(str(cases), str(tmp_path / "dask"), executor=client.get_executor(), **options)
    assert all_files(tmp_path / "dask") == all_files(tmp_path / "local")
    assert len([name for name in all_files(tmp_path / "dask") if name.endswith(".tar")]) == 6


def test_an_unreachable_scheduler_is_a_usage_error(cases, tmp_path, capsys, monkeypatch):
    pytest.importorskip("dask.distributed")
    monkeypatch.setattr("nidataset.cli.common.DASK_CONNECT_SECONDS", 1)
    code = main(
        ["slices", str(cases), str(tmp_path / "out"), "--dask-scheduler", "tcp://127.0.0.1:9", "--quiet"]
    )
    assert code == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
