"""The seams between modules: shared folders under concurrent skips, one home for options, logging."""

from __future__ import annotations

import gzip
import logging
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import nidataset.slices.job as slice_job
from conftest import expected_slices, ramp, read_tiff, write_volume
from nidataset import extract_annotations, extract_annotations_dataset, extract_slices, extract_slices_dataset
from nidataset.options import Geometry, Placement, SliceOptions

VIEWS = ("axial", "coronal", "sagittal")


def truncated_volume(path: Path, shape: tuple[int, int, int] = (6, 5, 4)) -> Path:
    """A gzip NIfTI cut inside its voxels: its header reads, its voxels do not."""
    write_volume(path, ramp(shape))
    data = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(data[: len(data) - 100]))
    return path


# ------------------------------------------------------------ a skip never removes a shared folder
@pytest.mark.parametrize("view", VIEWS)
def test_a_skipped_volume_does_not_remove_the_view_folder_another_volume_is_about_to_use(
    tmp_path, monkeypatch, view
):
    """Forced interleaving: the bad volume runs, fails and rolls back between the good volume's
    creation of the shared <output>/<view>/ folder and its first write into it."""
    good = write_volume(tmp_path / "a_good.nii.gz", ramp((6, 5, 4)))
    bad = truncated_volume(tmp_path / "b_bad.nii.gz")
    options = SliceOptions(str(tmp_path / "out"), Geometry((view,)), placement=Placement("view"))
    real_make_folder = slice_job.make_folder
    bad_outcomes = []

    def make_folder_then_run_the_bad_volume(path: str) -> None:
        real_make_folder(path)
        if not bad_outcomes:  # once: the bad volume's whole run, rollback included, happens here
            bad_outcomes.append(slice_job.extract_volume(str(bad), options))

    monkeypatch.setattr(slice_job, "make_folder", make_folder_then_run_the_bad_volume)
    outcome = slice_job.extract_volume(str(good), options)
    assert bad_outcomes[0].reason is not None and bad_outcomes[0].reason.startswith("truncated")
    assert outcome.reason is None
    written = sorted((tmp_path / "out" / view).glob("a_good_*.tif"))
    expected = expected_slices(good, view)
    assert len(written) == len(expected)
    for path, slice_ in zip(written, expected, strict=True):
        np.testing.assert_array_equal(read_tiff(path), slice_)
    assert not list((tmp_path / "out" / view).glob("b_bad*"))


def test_a_skipped_volume_removes_its_own_case_folder_only(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write_volume(folder / "a.nii.gz", ramp((6, 5, 4)))
    truncated_volume(folder / "b.nii.gz", (40, 30, 20))  # fails after writing some axial slices
    result = extract_slices_dataset(str(folder), str(tmp_path / "out"), view=list(VIEWS), progress=False)
    assert [o.name for o in result.skipped] == ["b.nii.gz"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")) == ["a"]


@pytest.mark.parametrize("pool", ["threads", "processes"])
def test_many_bad_and_good_volumes_in_view_mode_with_several_workers(tmp_path, pool):
    folder = tmp_path / "in"
    folder.mkdir()
    good, bad = [], []
    for number in range(16):
        if number % 2:
            bad.append(truncated_volume(folder / f"case_{number:02d}.nii.gz", (9, 7, 6)).name)
        else:
            good.append(write_volume(folder / f"case_{number:02d}.nii.gz", ramp((9, 7, 6))).name)
    executor = ThreadPoolExecutor(4) if pool == "threads" else ProcessPoolExecutor(2)
    with executor:
        for attempt in range(3):
            out = tmp_path / f"out_{attempt}"
            result = extract_slices_dataset(
                str(folder), str(out), view=list(VIEWS), saving_mode="view", executor=executor, progress=False
            )
            assert sorted(o.name for o in result.skipped) == bad
            assert sorted(o.name for o in result.done) == good
            for view, count in zip(VIEWS, (6, 7, 9), strict=True):
                assert len(list((out / view).iterdir())) == count * len(good)


# ------------------------------------------------------------------------- one volume, one view
def test_extract_slices_refuses_several_views_before_writing(tmp_path):
    volume = write_volume(tmp_path / "v.nii.gz", ramp((6, 5, 4)))
    with pytest.raises(
        ValueError, match=r"view must be one view for a single volume; got \['axial', 'coronal'\]"
    ):
        extract_slices(str(volume), str(tmp_path / "out"), view=["axial", "coronal"])  # type: ignore[arg-type]
    assert not (tmp_path / "out").exists()


def test_extract_slices_takes_a_list_of_one_view(tmp_path):
    volume = write_volume(tmp_path / "v.nii.gz", ramp((6, 5, 4)))
    paths = extract_slices(str(volume), str(tmp_path / "out"), view=["coronal"])  # type: ignore[arg-type]
    assert [Path(p).name for p in paths] == [f"v_coronal_{i:03d}.tif" for i in range(5)]


def test_extract_annotations_refuses_several_views_before_writing(tmp_path):
    volume = write_volume(tmp_path / "m.nii.gz", np.ones((6, 5, 4), dtype=np.uint8))
    with pytest.raises(ValueError, match="view must be one view for a single mask"):
        extract_annotations(str(volume), str(tmp_path / "out"), view=["axial", "sagittal"])  # type: ignore[arg-type]
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------- options, checked once
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"save_stats": "yes"}, "save_stats must be True or False"),
        ({"resume": 1}, "resume must be True or False"),
        ({"save_failures": None}, "save_failures must be True or False"),
        ({"workers": 0}, "workers must be None"),
        ({"executor": object()}, "executor must be a concurrent.futures.Executor"),
        ({"progress": "bar"}, "progress must be True, False or a nidataset.progress.Progress"),
        ({"dtype": "int16"}, "dtype must be one of 'auto', 'float32'"),
        ({"saving_mode": "flat"}, "saving_mode must be one of 'case', 'view'"),
    ],
    ids=lambda value: str(value)[:30],
)
def test_every_slice_option_is_refused_before_anything_is_written(cases, tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        extract_slices_dataset(str(cases), str(tmp_path / "out"), **kwargs)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"components": "yes"}, "components must be True or False"),
        ({"save_stats": 2}, "save_stats must be True or False"),
        ({"workers": -1}, "workers must be None"),
        ({"data_mode": "boxes"}, "data_mode must be one of 'center', 'box', 'radius'"),
    ],
    ids=lambda value: str(value)[:30],
)
def test_every_annotation_option_is_refused_before_anything_is_written(cases, tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        extract_annotations_dataset(str(cases), str(tmp_path / "out"), **kwargs)
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------------------- logging
def test_skips_are_logged_and_still_shown(tmp_path, caplog, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    write_volume(folder / "a.nii.gz", ramp((6, 5, 4)))
    truncated_volume(folder / "b.nii.gz")
    with caplog.at_level(logging.WARNING, logger="nidataset"):
        extract_slices_dataset(str(folder), str(tmp_path / "out"), progress=False)
    records = [r for r in caplog.records if r.name.startswith("nidataset")]
    assert [r.levelno for r in records] == [logging.WARNING]
    assert records[0].getMessage().startswith("skipped b.nii.gz: truncated")
    assert capsys.readouterr().err.startswith("skipped b.nii.gz: truncated")


def test_a_caller_can_silence_the_skip_lines(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    truncated_volume(folder / "b.nii.gz")
    logger = logging.getLogger("nidataset")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        result = extract_slices_dataset(str(folder), str(tmp_path / "out"), progress=False)
    finally:
        logger.setLevel(level)
    assert [o.name for o in result.skipped] == ["b.nii.gz"]
    assert capsys.readouterr().err == ""


# ------------------------------------------------- every option reaches the job, in every façade
GEOMETRY_OPTIONS = [
    {"target_size": (30, 30), "pad_value": -3},
    {"orientation": "radiological"},
    {"spacing": "isotropic"},
    {"spacing": 0.9, "interpolation": "nearest", "orientation": "neurological"},
    {"dtype": "float32"},
]


@pytest.mark.parametrize("options", GEOMETRY_OPTIONS, ids=lambda o: ",".join(o))
@pytest.mark.parametrize("view", VIEWS)
def test_the_single_volume_and_dataset_functions_take_the_same_options_alike(tmp_path, view, options):
    """A façade that dropped an option would write other bytes than the other façade."""
    import nibabel as nib

    folder = tmp_path / "in"
    folder.mkdir()
    affine = np.array([[0, 0, -2.5, 1], [0.7, 0, 0, 2], [0, 1.1, 0, 3], [0, 0, 0, 1]])
    nib.save(nib.Nifti1Image(ramp((9, 8, 7)), affine), str(folder / "v.nii.gz"))
    single = extract_slices(str(folder / "v.nii.gz"), str(tmp_path / "single"), view, **options)
    extract_slices_dataset(str(folder), str(tmp_path / "dataset"), view, "view", progress=False, **options)
    default = extract_slices(str(folder / "v.nii.gz"), str(tmp_path / "default"), view)
    dataset = sorted((tmp_path / "dataset" / view).glob("*.tif"))
    assert [Path(p).name for p in single] == [p.name for p in dataset]
    assert [Path(p).read_bytes() for p in single] == [p.read_bytes() for p in dataset]
    assert [Path(p).read_bytes() for p in single] != [Path(p).read_bytes() for p in default]
    mask_options = {k: v for k, v in options.items() if k in ("target_size", "orientation", "spacing")}
    if mask_options:
        one = extract_annotations(
            str(folder / "v.nii.gz"), str(tmp_path / "a1"), view, data_mode="box", **mask_options
        )
        extract_annotations_dataset(
            str(folder), str(tmp_path / "a2"), view, "view", data_mode="box", progress=False, **mask_options
        )
        both = sorted((tmp_path / "a2" / view).glob("*.csv"))
        assert [Path(p).read_bytes() for p in one] == [p.read_bytes() for p in both]
