"""NRRD and MetaImage inputs: written by SimpleITK from real NIfTI volumes, they give the slices and
pix2world of the NIfTI SimpleITK writes from the same image (SPEC.md Part 3)."""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

sitk = pytest.importorskip("SimpleITK")
pd = pytest.importorskip("pandas")
tifffile = pytest.importorskip("tifffile")

from conftest import DATA as SHARED_DATA  # noqa: E402
from nidataset import extract_slices_dataset  # noqa: E402
from nidataset.io.readers import open_volume  # noqa: E402

DATA = str(SHARED_DATA)  # ../shared/data beside the project, as conftest finds it
if not os.path.isdir(DATA):
    pytest.skip("../shared/data is not beside the project", allow_module_level=True)
VIEWS = ["axial", "coronal", "sagittal"]
#: (suffix, compressed): every encoding SimpleITK writes, attached and detached.
WRITES = [(".nrrd", False), (".nrrd", True), (".nhdr", False), (".nhdr", True), (".mha", False),
          (".mha", True), (".mhd", False), (".mhd", True)]  # fmt: skip
SOURCES = ["anatomical.nii", "someones_anatomy.nii.gz", "resampled_anat_moved.nii", "standard.nii.gz"]


def _name(source: str) -> str:
    return source.split(".")[0]


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """One folder of NIfTI written by SimpleITK, one of the same images in every other encoding."""
    nifti, others = tmp_path_factory.mktemp("nifti"), tmp_path_factory.mktemp("others")
    sitk.ProcessObject.SetGlobalWarningDisplay(False)  # MetaImage warns about NIfTI-only fields
    for source in SOURCES:
        image = sitk.ReadImage(os.path.join(DATA, source))
        for suffix, compressed in WRITES:
            name = f"{_name(source)}_{suffix[1:]}{'_z' if compressed else ''}"
            sitk.WriteImage(image, str(others / (name + suffix)), useCompression=compressed)
            sitk.WriteImage(image, str(nifti / (name + ".nii.gz")))
    return str(nifti), str(others)


def test_same_slices_and_pix2world_as_the_nifti(folders: tuple[str, str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    options = dict(view=VIEWS, orientation="radiological", save_manifest=True, progress=False)
    ours = extract_slices_dataset(folders[1], str(tmp_path / "ours"), **options)  # type: ignore[arg-type]
    theirs = extract_slices_dataset(folders[0], str(tmp_path / "ref"), **options)  # type: ignore[arg-type]
    assert all(o.reason is None for o in (*ours.outcomes, *theirs.outcomes))
    assert len(ours.outcomes) == len(SOURCES) * len(WRITES)
    for view in VIEWS:
        a, b = (_by_case(tmp_path / run / f"{view}_manifest.csv") for run in ("ours", "ref"))
        columns = [c for c in a.columns if c.startswith("pix2world")]
        np.testing.assert_allclose(a[columns].to_numpy(float), b[columns].to_numpy(float), atol=1e-3)
        assert not set(a["source"]) & set(b["source"])  # each names its own input file
    compared = 0
    for path in glob.glob(str(tmp_path / "ours" / "*" / "*" / "*.tif")):
        twin = path.replace(str(tmp_path / "ours"), str(tmp_path / "ref"))
        mine, reference = tifffile.imread(path), tifffile.imread(twin)
        assert mine.dtype == reference.dtype and np.array_equal(mine, reference, equal_nan=True), path
        compared += 1
    assert compared == sum(sum(o.counts) for o in ours.outcomes) > 0


def _by_case(path) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    table = pd.read_csv(path)
    table["case"] = table["source"].str.replace(r"\.(nrrd|nhdr|mha|mhd|nii\.gz)$", "", regex=True)
    return table.sort_values(["case", "slice_index"])


@pytest.mark.parametrize("name", ["someones_anatomy_mha_z.mha", "someones_anatomy_nrrd_z.nrrd"])
def test_header_is_read_without_the_voxels(folders: tuple[str, str], tmp_path, name: str) -> None:  # type: ignore[no-untyped-def]
    """Half the compressed data gone: the header still reads, the voxels say truncated."""
    from nidataset.errors import VolumeError

    path = tmp_path / name
    data = Path(folders[1], name).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with open_volume(str(path)) as source:
        assert source.header.shape == (57, 67, 56) and source.header.dtype == np.float32
        assert source.header.format == name.split(".")[-1].replace("mha", "metaimage")
        with pytest.raises(VolumeError, match="truncated"):
            source.volume()


@pytest.mark.parametrize(("header", "data"), [("a.nhdr", "a.raw"), ("b.mhd", "b.raw")])
def test_missing_data_file_is_a_reason_naming_it(tmp_path, header: str, data: str) -> None:  # type: ignore[no-untyped-def]
    image = sitk.ReadImage(os.path.join(DATA, "standard.nii.gz"))
    sitk.WriteImage(image, str(tmp_path / header))
    os.remove(tmp_path / data)
    shutil.copy(os.path.join(DATA, "standard.nii.gz"), tmp_path / "ok.nii.gz")
    run = extract_slices_dataset(str(tmp_path), str(tmp_path / "out"), progress=False)
    reasons = {o.name: o.reason for o in run.outcomes}
    assert reasons["ok.nii.gz"] is None
    assert f"its data file {data!r} is missing" in (reasons[header] or "")


def test_truncated_and_prefix_clash(tmp_path) -> None:  # type: ignore[no-untyped-def]
    image = sitk.ReadImage(os.path.join(DATA, "anatomical.nii"))
    sitk.WriteImage(image, str(tmp_path / "cut.mha"))
    with open(tmp_path / "cut.mha", "r+b") as handle:
        handle.truncate(os.path.getsize(tmp_path / "cut.mha") - 10)
    run = extract_slices_dataset(str(tmp_path), str(tmp_path / "out"), progress=False)
    assert "truncated" in (run.outcomes[0].reason or "")
    shutil.copy(os.path.join(DATA, "standard.nii.gz"), tmp_path / "a.nii.gz")
    sitk.WriteImage(image, str(tmp_path / "a.nrrd"))
    with pytest.raises(ValueError, match="same prefix 'a'"):
        extract_slices_dataset(str(tmp_path), str(tmp_path / "out2"), progress=False)
    assert not os.path.exists(tmp_path / "out2")


@pytest.mark.parametrize("encoding", ["raw", "gzip", "bzip2", "ascii"])
@pytest.mark.parametrize("detached", [False, True])
def test_every_nrrd_encoding_by_pynrrd(tmp_path, encoding: str, detached: bool) -> None:  # type: ignore[no-untyped-def]
    nrrd = pytest.importorskip("nrrd")
    import nibabel as nib

    image = nib.load(os.path.join(DATA, "anatomical.nii"))
    data = np.asarray(image.dataobj)
    path = str(tmp_path / ("v.nhdr" if detached else "v.nrrd"))
    fields = {"encoding": encoding, "space": "right-anterior-superior", "endian": "big",
              "space directions": image.affine[:3, :3].T, "space origin": image.affine[:3, 3]}  # fmt: skip
    nrrd.write(path, data, fields, detached_header=detached)
    with open_volume(path) as source:
        assert source.header.format == "nrrd" and np.array_equal(source.header.affine, image.affine)
        assert np.array_equal(np.concatenate(list(source.slabs(4)), axis=2), data)


def _write_mha(path: Path, fields: dict[str, str]) -> None:
    """A LOCAL MetaImage of 2 x 3 x 4 int16 voxels, ``fields`` replacing or adding header lines."""
    lines = {"ObjectType": "Image", "NDims": "3", "DimSize": "2 3 4", "ElementType": "MET_SHORT", **fields}
    lines["ElementDataFile"] = "LOCAL"
    with open(path, "wb") as handle:
        handle.write("".join(f"{key} = {value}\n" for key, value in lines.items()).encode())
        handle.write(np.arange(24, dtype="<i2").tobytes())


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"ElementNumberOfChannels": "two"}, "invalid ELEMENTNUMBEROFCHANNELS 'two' in the MetaImage header"),
        ({"DimSize": "nan 3 4"}, "invalid DIMSIZE 'nan 3 4' in the MetaImage header"),
        ({"DimSize": "1e400 3 4"}, "invalid DIMSIZE '1e400 3 4' in the MetaImage header"),
        ({"HeaderSize": "x"}, "invalid HEADERSIZE 'x' in the MetaImage header"),
    ],
    ids=["channels", "nan", "overflow", "header size"],
)
def test_a_bad_metaimage_number_skips_that_file_only(tmp_path, capsys, fields, reason) -> None:  # type: ignore[no-untyped-def]
    import nibabel as nib

    from nidataset.cli import main

    scans = tmp_path / "scans"
    scans.mkdir()
    shutil.copy(os.path.join(DATA, "standard.nii.gz"), scans / "good.nii.gz")
    _write_mha(scans / "bad.mha", fields)
    code = main(["slices", str(scans), str(tmp_path / "out"), "--quiet"])
    assert capsys.readouterr().err.splitlines() == [f"skipped bad.mha: {reason}"]
    depth = nib.load(os.path.join(DATA, "standard.nii.gz")).shape[2]
    assert len(glob.glob(str(tmp_path / "out" / "good" / "axial" / "*.tif"))) == depth
    _write_mha(scans / "bad.mha", {"ObjectType": "Table"})  # a file skipped for a reason already handled
    assert main(["slices", str(scans), str(tmp_path / "again"), "--quiet"]) == code == 1


def test_a_reader_value_error_is_a_one_line_reason(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from nidataset.errors import VolumeError
    from nidataset.io import readers

    def _open(path: str) -> readers.VolumeSource:
        raise OverflowError("cannot convert float infinity\nto integer")

    readers.register_input_format(readers.InputFormat("toy", (".toy",), _open))
    try:
        with pytest.raises(
            VolumeError, match=r"^has an invalid header \(OverflowError: cannot convert float infinity\)$"
        ):
            readers.open_volume(str(tmp_path / "a.toy"))
    finally:
        del readers.INPUT_FORMATS["toy"]
