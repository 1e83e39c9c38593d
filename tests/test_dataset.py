"""extract_slices_dataset: layout, statistics, up-front errors, skips, workers and views."""

from __future__ import annotations

import csv
import os
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import nibabel as nib
import pandas as pd
import pytest

from conftest import all_files, ramp, read_tiff, write_volume
from nidataset import extract_slices_dataset
from nidataset.slices import extract_slices

VIEW_AXIS = {"axial": 2, "coronal": 1, "sagittal": 0}


def shapes(folder: Path) -> dict[str, tuple[int, ...]]:
    return {p.name: nib.load(str(p)).shape for p in sorted(folder.glob("*.nii*"))}


@pytest.mark.parametrize("view", ["axial", "coronal", "sagittal"])
def test_case_mode_layout_and_statistics(cases, tmp_path, view):
    out = tmp_path / "out"
    result = extract_slices_dataset(str(cases), str(out), view=view, saving_mode="case", save_stats=True)
    counts = {name: shape[VIEW_AXIS[view]] for name, shape in shapes(cases).items()}
    for name, count in counts.items():
        prefix = name.removesuffix(".nii.gz")
        names = sorted(p.name for p in (out / prefix / view).iterdir())
        assert names == [f"{prefix}_{view}_{i:03d}.tif" for i in range(count)]
    with open(out / f"{view}_slices_stats.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    running, expected = 0, [["FILENAME", "NUM_SLICES", "TOTAL_SLICES"]]
    for name, count in counts.items():
        running += count
        expected.append([name, str(count), str(running)])
    assert rows == [*expected, ["TOTAL_SLICES", str(running), str(running)]]
    assert result.total(view) == running and not result.skipped


def test_view_mode_puts_every_volume_in_one_folder(cases, tmp_path):
    extract_slices_dataset(str(cases), str(tmp_path / "out"), view="coronal", saving_mode="view")
    names = sorted(p.name for p in (tmp_path / "out" / "coronal").iterdir())
    assert len(names) == 9 + 8 + 4
    assert names[0] == "case_001_coronal_000.tif" and names[-1] == "case_003_coronal_003.tif"
    assert sorted(n for n in os.listdir(tmp_path / "out") if not n.startswith(".")) == ["coronal"]


def test_statistics_read_with_pandas_both_ways_the_seed_reads_them(cases, tmp_path):
    extract_slices_dataset(str(cases), str(tmp_path), view="axial", save_stats=True)
    stats = pd.read_csv(tmp_path / "axial_slices_stats.csv")
    per_file = stats[stats["FILENAME"] != "TOTAL_SLICES"]
    assert stats.iloc[-1]["TOTAL_SLICES"] == 5 + 11 + 3 == per_file["NUM_SLICES"].sum()
    assert per_file["NUM_SLICES"].tolist() == [5, 11, 3]


def test_only_visible_nifti_files_directly_in_the_folder_are_inputs(cases, tmp_path):
    write_volume(cases / "._case_001.nii.gz", ramp())
    (cases / "notes.txt").write_text("not a volume")
    (cases / "nested").mkdir()
    write_volume(cases / "nested" / "inner.nii.gz", ramp())
    (cases / "folder.nii.gz").mkdir()
    result = extract_slices_dataset(str(cases), str(tmp_path / "out"), progress=False)
    assert [o.name for o in result.outcomes] == ["case_001.nii.gz", "case_002.nii.gz", "case_003.nii.gz"]


def test_uncompressed_nii_files_are_inputs_too(tmp_path):
    (tmp_path / "in").mkdir()
    write_volume(tmp_path / "in" / "plain.nii", ramp())
    result = extract_slices_dataset(str(tmp_path / "in"), str(tmp_path / "out"), progress=False)
    assert result.total() == 5 and len(list((tmp_path / "out" / "plain" / "axial").iterdir())) == 5


def test_a_1100_slice_volume_gets_four_digit_names_that_sort_in_slice_order(tmp_path):
    (tmp_path / "in").mkdir()
    volume = write_volume(tmp_path / "in" / "long.nii.gz", ramp((2, 3, 1100)))
    extract_slices_dataset(str(tmp_path / "in"), str(tmp_path / "out"), progress=False)
    files = sorted((tmp_path / "out" / "long" / "axial").iterdir())
    assert [f.name for f in files[:2]] == ["long_axial_0000.tif", "long_axial_0001.tif"]
    assert len(files) == 1100
    data = nib.load(str(volume)).get_fdata()
    for index in (0, 9, 10, 99, 100, 999, 1000, 1099):
        assert (read_tiff(files[index]) == data[:, :, index]).all()


def test_a_bad_file_is_skipped_with_one_line_and_the_run_goes_on(cases, tmp_path, capsys):
    (cases / "case_002.nii.gz").write_bytes(b"\x1f\x8b" + b"garbage" * 10)
    result = extract_slices_dataset(str(cases), str(tmp_path / "out"), save_stats=True, progress=False)
    err = capsys.readouterr().err
    assert err.splitlines() == ["skipped case_002.nii.gz: corrupt gzip data (Unknown compression method)"]
    assert [o.name for o in result.skipped] == ["case_002.nii.gz"]
    assert not (tmp_path / "out" / "case_002").exists()
    stats = pd.read_csv(tmp_path / "out" / "axial_slices_stats.csv")
    assert stats["FILENAME"].tolist() == ["case_001.nii.gz", "case_003.nii.gz", "TOTAL_SLICES"]
    assert stats.iloc[-1]["TOTAL_SLICES"] == 5 + 3


def test_a_volume_whose_gzip_crc_is_wrong_is_skipped_and_leaves_no_slices(cases, tmp_path):
    data = bytearray((cases / "case_002.nii.gz").read_bytes())
    data[-8] ^= 0xFF  # the CRC32 of the gzip trailer: only noticed at the very end of the stream
    (cases / "case_002.nii.gz").write_bytes(bytes(data))
    result = extract_slices_dataset(str(cases), str(tmp_path / "out"), progress=False)
    assert [(o.name, o.reason) for o in result.skipped] == [
        ("case_002.nii.gz", "corrupt gzip data (CRC check failed)")
    ]
    assert not list((tmp_path / "out").rglob("case_002*"))
    assert result.total() == 5 + 3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"view": "axil"}, "view must be one of 'axial', 'coronal', 'sagittal'; got 'axil'"),
        ({"view": ["axial", "axial"]}, "view lists a view twice"),
        ({"view": []}, "view must name at least one"),
        ({"saving_mode": "folder"}, "saving_mode must be one of 'case', 'view'; got 'folder'"),
        ({"target_size": (512,)}, r"target_size must be None or \(height, width\)"),
        ({"target_size": (512, 0)}, "two positive integers"),
        ({"target_size": (512.0, 512.0)}, "two positive integers"),
        ({"target_size": "512x512"}, "two positive integers"),
        ({"pad_value": "zero"}, "pad_value must be a number"),
        ({"pad_value": 1e300}, "pad_value must fit float32"),
        ({"dtype": "int16"}, "dtype must be one of 'auto', 'float32'"),
        ({"workers": 0}, "workers must be None"),
        (
            {"target_size": (4, 4)},
            r"target_size \(4, 4\) is smaller than the slices of case_001.nii.gz \(axial",
        ),
    ],
)
def test_bad_options_raise_before_anything_is_written(cases, tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        extract_slices_dataset(str(cases), str(tmp_path / "out"), **kwargs)
    assert not (tmp_path / "out").exists()


def test_too_small_target_size_names_every_volume_that_does_not_fit(cases, tmp_path):
    with pytest.raises(ValueError) as error:
        extract_slices_dataset(str(cases), str(tmp_path / "out"), view="coronal", target_size=(8, 8))
    message = str(error.value)
    assert "case_002.nii.gz (coronal slices of 6x11)" in message
    assert "case_003.nii.gz (coronal slices of 10x3)" in message and "case_001" not in message
    assert not (tmp_path / "out").exists()


def test_missing_or_empty_folders_raise_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        extract_slices_dataset(str(tmp_path / "missing"), str(tmp_path / "out"))
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "._hidden.nii.gz").write_bytes(b"x")
    with pytest.raises(
        FileNotFoundError, match=r"holds no \.nii\.gz, \.nii, .* or \.mhd file and no DICOM folder"
    ):
        extract_slices_dataset(str(tmp_path / "empty"), str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_two_inputs_with_one_prefix_are_refused_before_writing(cases, tmp_path):
    write_volume(cases / "case_002.nii", ramp())
    with pytest.raises(
        ValueError, match=r"'case_002\.nii' and 'case_002\.nii\.gz' have the same prefix 'case_002'"
    ):
        extract_slices_dataset(str(cases), str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_extract_slices_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nii_path .* does not exist"):
        extract_slices(str(tmp_path / "missing.nii.gz"), str(tmp_path / "out"))
    volume = write_volume(tmp_path / "v.nii.gz", ramp())
    with pytest.raises(ValueError, match=r"v.nii.gz: sagittal slices of 9x5 do not fit target_size 8x8"):
        extract_slices(str(volume), str(tmp_path / "out"), view="sagittal", target_size=(8, 8))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("view", [["axial", "coronal", "sagittal"], ["sagittal", "axial"]])
def test_a_list_of_views_writes_what_separate_calls_write(cases, tmp_path, view):
    result = extract_slices_dataset(
        str(cases),
        str(tmp_path / "together"),
        view=view,
        target_size=(12, 12),
        save_stats=True,
        progress=False,
    )
    for one in view:
        extract_slices_dataset(
            str(cases),
            str(tmp_path / "apart"),
            view=one,
            target_size=(12, 12),
            save_stats=True,
            progress=False,
        )
    assert all_files(tmp_path / "together") == all_files(tmp_path / "apart")
    assert result.views == tuple(view)


@pytest.mark.parametrize("saving_mode", ["case", "view"])
def test_one_worker_and_two_workers_write_identical_bytes(cases, tmp_path, saving_mode):
    (cases / "case_004.nii.gz").write_bytes(b"not a volume")
    results = []
    for workers in (1, 2):
        results.append(
            extract_slices_dataset(
                str(cases),
                str(tmp_path / f"w{workers}"),
                view=["axial", "sagittal"],
                saving_mode=saving_mode,
                save_stats=True,
                workers=workers,
                progress=False,
            )
        )
    assert all_files(tmp_path / "w1") == all_files(tmp_path / "w2")
    assert results[0].outcomes == results[1].outcomes


@pytest.mark.parametrize(
    "make_executor", [ThreadPoolExecutor, ProcessPoolExecutor], ids=["threads", "processes"]
)
def test_any_executor_gives_the_same_outputs(cases, tmp_path, make_executor):
    extract_slices_dataset(str(cases), str(tmp_path / "local"), save_stats=True, workers=1, progress=False)
    with make_executor(max_workers=2) as executor:
        result = extract_slices_dataset(
            str(cases), str(tmp_path / "pool"), save_stats=True, executor=executor, progress=False
        )
    assert all_files(tmp_path / "local") == all_files(tmp_path / "pool")
    assert [o.name for o in result.done] == ["case_001.nii.gz", "case_002.nii.gz", "case_003.nii.gz"]


def test_progress_is_one_bar_on_stderr_and_can_be_turned_off(cases, tmp_path, capsys):
    extract_slices_dataset(str(cases), str(tmp_path / "a"), progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "3/3" in captured.err and "3 of 3 files done, 19 slices written" in captured.err
    extract_slices_dataset(str(cases), str(tmp_path / "b"), progress=False)
    assert capsys.readouterr() == ("", "")


def test_the_result_lists_every_file_and_sums_up(cases, tmp_path):
    (cases / "case_000.nii.gz").write_bytes(b"")
    result = extract_slices_dataset(
        str(cases), str(tmp_path / "out"), view=["axial", "coronal"], progress=False
    )
    assert [(o.name, o.counts, o.reason) for o in result.outcomes] == [
        ("case_000.nii.gz", (), "empty file (0 bytes)"),
        ("case_001.nii.gz", (5, 9), None),
        ("case_002.nii.gz", (11, 8), None),
        ("case_003.nii.gz", (3, 4), None),
    ]
    assert (result.total("axial"), result.total("coronal"), result.total()) == (19, 21, 40)
    assert result.summary() == "3 of 4 files done, 40 slices written, 1 skipped"


def test_reading_a_header_does_not_skip_to_the_voxels(tmp_path):
    """The up-front target_size check reads every header: a far vox_offset must not make it read on."""
    import gzip
    import io

    from conftest import nifti_bytes
    from nidataset.errors import VolumeError
    from nidataset.io.volumes import VolumeReader, read_header

    data = bytearray(nifti_bytes(ramp()))
    header = nib.Nifti1Header.from_fileobj(io.BytesIO(bytes(data)))
    header["vox_offset"] = 2**40
    data[:348] = header.binaryblock
    path = tmp_path / "far.nii.gz"
    path.write_bytes(gzip.compress(bytes(data)))
    assert read_header(str(path)).offset == 2**40
    with pytest.raises(VolumeError, match="truncated"), VolumeReader(str(path)) as reader:
        reader.volume()
