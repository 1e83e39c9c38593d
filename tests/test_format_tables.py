"""The format tables: a toy image format and a toy input format, registered at test time, run through the
Python API and the command line without any other module changing."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from conftest import expected_slices, ramp, write_volume
from nidataset import extract_slices_dataset, reassemble
from nidataset.cli import main
from nidataset.io import image_formats, readers


def _npy_parts(image: np.ndarray, compression: str | None) -> list[bytes | memoryview]:
    buffer = io.BytesIO()
    np.save(buffer, image, allow_pickle=False)
    return [buffer.getvalue()]


def _npy_read(path: str) -> np.ndarray:
    return np.load(path, allow_pickle=False)


@pytest.fixture
def npy_format() -> Iterator[None]:
    """The ``npy`` image format in the table for one test, and the table as it was afterwards."""
    before = dict(image_formats.IMAGE_FORMATS)
    record = image_formats.ImageFormat("npy", "npy", None, None, False, (), _npy_parts, _npy_read)
    image_formats.register_image_format(record)
    yield
    image_formats.IMAGE_FORMATS.clear()
    image_formats.IMAGE_FORMATS.update(before)


@pytest.fixture
def ct(tmp_path: Path) -> Path:
    folder = tmp_path / "scans"
    folder.mkdir()
    write_volume(folder / "ct.nii.gz", ramp((7, 9, 5)))
    write_volume(folder / "mr.nii", ramp((6, 4, 3), dtype="uint16", start=0))
    return folder


def _check_npy_slices(out: Path, scans: Path) -> None:
    for source in sorted(scans.glob("*.nii*")):
        prefix = source.name.split(".")[0]
        expected = expected_slices(source, "axial")
        files = sorted((out / prefix / "axial").glob("*.npy"))
        assert [f.name for f in files] == [f"{prefix}_axial_{i:03d}.npy" for i in range(len(expected))]
        stored = np.asarray(nib.load(str(source)).dataobj).dtype
        for file, plane in zip(files, expected, strict=True):
            image = np.load(file)
            assert image.dtype == stored
            np.testing.assert_array_equal(image, plane)


def test_a_registered_image_format_runs_through_the_api(npy_format, ct, tmp_path):
    result = extract_slices_dataset(str(ct), str(tmp_path / "out"), image_format="npy", progress=False)
    assert not result.skipped
    _check_npy_slices(tmp_path / "out", ct)


def test_a_registered_image_format_runs_through_the_command_line(npy_format, ct, tmp_path, capsys):
    assert main(["slices", str(ct), str(tmp_path / "out"), "--format", "npy", "--quiet"]) == 0
    _check_npy_slices(tmp_path / "out", ct)
    with pytest.raises(SystemExit):
        main(["slices", "--help"])
    assert "npy (.npy, any values)" in " ".join(capsys.readouterr().out.split())


def test_a_registered_image_format_reads_back_for_reassembly(npy_format, ct, tmp_path):
    extract_slices_dataset(
        str(ct), str(tmp_path / "out"), image_format="npy", save_manifest=True, progress=False
    )
    result = reassemble(
        str(tmp_path / "out"),
        str(tmp_path / "back"),
        str(tmp_path / "out" / "axial_manifest.csv"),
        progress=False,
    )
    assert not result.skipped
    original = np.asarray(nib.load(str(ct / "ct.nii.gz")).dataobj)
    np.testing.assert_array_equal(
        np.asarray(nib.load(str(tmp_path / "back" / "ct.nii.gz")).dataobj), original
    )


def _npy_shape(path: str) -> tuple[int, ...]:
    return tuple(np.load(path, mmap_mode="r", allow_pickle=False).shape)


@pytest.mark.parametrize("shape", [_npy_shape, None], ids=["its shape reader", "no shape reader"])
def test_a_registered_format_of_its_own_extension_reads_back_for_reassembly(ct, tmp_path, shape):
    """``.arr`` is neither NPY nor TIFF: reassembly learns a slice's shape from the format's record."""
    before = dict(image_formats.IMAGE_FORMATS)
    record = image_formats.ImageFormat(
        "arr", "arr", None, None, False, (), _npy_parts, _npy_read, shape=shape
    )
    image_formats.register_image_format(record)
    try:
        out, back = tmp_path / "out", tmp_path / "back"
        extract_slices_dataset(str(ct), str(out), image_format="arr", save_manifest=True, progress=False)
        result = reassemble(str(out), str(back), str(out / "axial_manifest.csv"), progress=False)
    finally:
        image_formats.IMAGE_FORMATS.clear()
        image_formats.IMAGE_FORMATS.update(before)
    assert not result.skipped
    for name in ("ct.nii.gz", "mr.nii"):
        original = np.asarray(nib.load(str(ct / name)).dataobj)
        written = np.asarray(nib.load(str(back / (name.split(".")[0] + ".nii.gz"))).dataobj)
        np.testing.assert_array_equal(written, original)


def test_the_table_is_what_it_was_after_a_registration():
    assert list(image_formats.IMAGE_FORMATS) == ["tiff", "png", "jpeg"]
    with pytest.raises(ValueError, match="image_format must be one of 'tiff', 'png', 'jpeg'; got 'npy'"):
        extract_slices_dataset("nowhere", "out", image_format="npy")


class NumpyVolume:
    """A toy input format: a ``.npv`` file is ``np.save`` of an (X, Y, Z) array."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._data = np.load(path, allow_pickle=False)
        shape = self._data.shape
        self.header = readers.Header(
            (shape[0], shape[1], shape[2]), self._data.dtype, None, None, affine=np.eye(4), format="npv"
        )
        self._at = 0

    def read(self, voxels: int, into: np.ndarray | None = None) -> np.ndarray:
        flat = self._data.ravel(order="F")[self._at : self._at + voxels]
        self._at += voxels
        return flat

    def volume(self, into: np.ndarray | None = None) -> np.ndarray:
        return np.asfortranarray(self._data)

    def slabs(self, slices_per_slab: int, buffers: Sequence[np.ndarray] = ()) -> Iterator[np.ndarray]:
        for start in range(0, self._data.shape[2], slices_per_slab):
            yield np.asfortranarray(self._data[:, :, start : start + slices_per_slab])

    def finish(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> NumpyVolume:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.fixture
def npv_input() -> Iterator[None]:
    before = dict(readers.INPUT_FORMATS)
    readers.register_input_format(readers.InputFormat("npv", (".npv",), NumpyVolume))
    yield
    readers.INPUT_FORMATS.clear()
    readers.INPUT_FORMATS.update(before)


def test_a_registered_input_format_is_listed_named_and_sliced(npv_input, ct, tmp_path):
    data = ramp((5, 6, 4), start=7)
    with open(ct / "toy.npv", "wb") as handle:
        np.save(handle, data)
    assert readers.prefix_of("toy.NPV") == "toy" and readers.is_input_name("toy.npv")
    result = extract_slices_dataset(str(ct), str(tmp_path / "out"), progress=False)
    assert sorted(o.name for o in result.outcomes) == ["ct.nii.gz", "mr.nii", "toy.npv"]
    assert not result.skipped
    import tifffile

    for k in range(4):
        np.testing.assert_array_equal(
            tifffile.imread(tmp_path / "out" / "toy" / "axial" / f"toy_axial_{k:03d}.tif"), data[:, :, k]
        )


def test_the_report_names_a_format_unless_its_record_says_not(npv_input, ct, tmp_path):
    with open(ct / "toy.npv", "wb") as handle:
        np.save(handle, ramp((5, 6, 4), start=7))
    extract_slices_dataset(str(ct), str(tmp_path / "named"), progress=False, save_report=True)
    assert "format: npv" in (tmp_path / "named" / "report.html").read_text()
    assert "format: nifti" not in (tmp_path / "named" / "report.html").read_text()
    readers.register_input_format(readers.InputFormat("npv", (".npv",), NumpyVolume, named=False))
    extract_slices_dataset(str(ct), str(tmp_path / "quiet"), progress=False, save_report=True)
    assert "format: npv" not in (tmp_path / "quiet" / "report.html").read_text()


def test_without_it_the_folder_error_lists_the_table_suffixes(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(
        FileNotFoundError, match=r"holds no \.nii\.gz, \.nii, .* or \.mhd file and no DICOM folder"
    ):
        extract_slices_dataset(str(tmp_path / "empty"), str(tmp_path / "out"))
    assert readers.prefix_of("toy.npv") == "toy.npv"


class FolderVolume(NumpyVolume):
    """A toy format whose one input is a folder holding ``volume.npy`` (as a DICOM series is a folder)."""

    def __init__(self, path: str) -> None:
        super().__init__(str(Path(path) / "volume.npy"))
        self.path = path


@pytest.fixture
def folder_input() -> Iterator[None]:
    before = dict(readers.INPUT_FORMATS)
    claims = lambda path: (Path(path) / "volume.npy").is_file()  # noqa: E731
    readers.register_input_format(readers.InputFormat("toy", (), FolderVolume, claims_folder=claims))
    yield
    readers.INPUT_FORMATS.clear()
    readers.INPUT_FORMATS.update(before)


def test_a_format_that_claims_folders_makes_them_inputs_and_leaves_others_ignored(folder_input, ct, tmp_path):
    import tifffile

    data = ramp((4, 5, 3), start=3)
    (ct / "series_1").mkdir()
    np.save(ct / "series_1" / "volume.npy", data)
    (ct / "notes").mkdir()  # no format claims it: ignored, as every sub-folder was before
    result = extract_slices_dataset(str(ct), str(tmp_path / "out"), progress=False)
    assert sorted(o.name for o in result.outcomes) == ["ct.nii.gz", "mr.nii", "series_1"]
    assert not result.skipped
    for k in range(3):
        image = tifffile.imread(tmp_path / "out" / "series_1" / "axial" / f"series_1_axial_{k:03d}.tif")
        np.testing.assert_array_equal(image, data[:, :, k])
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"holds no \.nii\.gz, .* file and no .*TOY folder"):
        extract_slices_dataset(str(tmp_path / "empty"), str(tmp_path / "out2"))
