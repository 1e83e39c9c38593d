"""DICOM series as inputs: equal to dcm2niix's NIfTI, SimpleITK's geometry, pydicom's own files, and
every hostile series skipped with its reason (SPEC.md Part 3, "Inputs beyond NIfTI")."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

pydicom = pytest.importorskip("pydicom")
pd = pytest.importorskip("pandas")
tifffile = pytest.importorskip("tifffile")

from conftest import DATA as SHARED_DATA  # noqa: E402
from dicom_writer import Acquisition, write_enhanced, write_series  # noqa: E402
from nidataset import extract_slices_dataset  # noqa: E402
from nidataset.io.readers import open_volume  # noqa: E402

DATA = str(SHARED_DATA)  # ../shared/data beside the project, as conftest finds it
if not os.path.isdir(DATA):
    pytest.skip("../shared/data is not beside the project", allow_module_level=True)
VIEWS = ["axial", "coronal", "sagittal"]


def _nifti(name: str) -> tuple[np.ndarray, np.ndarray, tuple[float | None, float | None]]:
    image = nib.load(os.path.join(DATA, name))
    return np.asarray(image.dataobj), image.affine, image.header.get_slope_inter()


#: name -> (NIfTI file, acquisition): CT with an intercept, scaled MR, three acquisition planes.
SERIES = {
    "ct_axial": ("anatomical.nii", dict(modality="CT", slope=1.0, inter=-1024.0, offset=1024, extension="")),
    "ct_axial_down": ("anatomical.nii", dict(modality="CT", slope=1.0, inter=-1024.0, offset=1024,
                                             flip_slices=True)),
    "mr_coronal": ("someones_anatomy.nii.gz", dict(slice_axis=1, column_axis=0, row_axis=2)),
    "mr_sagittal": ("standard.nii.gz", dict(slice_axis=0, column_axis=1, row_axis=2, extension="")),
    "mr_sagittal_big": ("anatomical.nii", dict(slice_axis=0, column_axis=1, row_axis=2)),
    "mr_oblique": ("anatomical.nii", dict(slice_axis=1, column_axis=0, row_axis=2, rotate=(0.3, -0.2, 0.5))),
}  # fmt: skip


def _write(folder: str, name: str, shuffle: int | None = 0, **changes: object) -> list[str]:
    nifti, settings = SERIES[name]
    data, affine, (slope, inter) = _nifti(nifti)
    settings = dict(settings)
    if "rotate" in settings:  # an oblique acquisition: the volume turned about the scanner's origin
        affine = np.eye(4)
        affine[:3, :3] = _rotation(settings.pop("rotate"))  # type: ignore[arg-type]
        affine = affine @ _nifti(nifti)[1]
    acquisition = Acquisition(**{**settings, **changes})  # type: ignore[arg-type]
    if slope is not None and acquisition.slope is None and (slope, inter) != (1.0, 0.0):
        acquisition.slope, acquisition.inter = float(np.float32(slope)), float(np.float32(inter))
    stored = data.astype(np.int32) + acquisition.offset
    return write_series(
        stored.astype(np.uint16), affine, os.path.join(folder, name), acquisition, shuffle=shuffle
    )


@pytest.fixture(scope="module")
def dicom_folder(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = str(tmp_path_factory.mktemp("dicom"))
    for name in SERIES:
        _write(folder, name)
    return folder


def _run(folder: str, out: str, **options: object):  # type: ignore[no-untyped-def]
    defaults = dict(view=VIEWS, orientation="radiological", save_manifest=True, progress=False)
    return extract_slices_dataset(folder, out, **{**defaults, **options})  # type: ignore[arg-type]


def _same_outputs(ours: str, reference: str, rename: dict[str, str]) -> int:
    """Assert every slice and manifest row of ``ours`` equals ``reference``'s; the slices compared."""
    compared = 0
    for view in VIEWS:
        a = pd.read_csv(os.path.join(ours, f"{view}_manifest.csv"))
        b = pd.read_csv(os.path.join(reference, f"{view}_manifest.csv"))
        b["source"] = b["source"].map(lambda s: rename.get(s, s))
        a, b = a.sort_values(["source", "slice_index"]), b.sort_values(["source", "slice_index"])
        assert list(a["source"]) == list(b["source"])
        columns = [c for c in a.columns if c.startswith("pix2world")]
        np.testing.assert_allclose(a[columns].to_numpy(float), b[columns].to_numpy(float), atol=1e-3)
    for path in sorted(glob.glob(os.path.join(ours, "*", "*", "*.tif"))):
        case = os.path.basename(os.path.dirname(os.path.dirname(path)))
        twin = os.path.join(reference, case, os.path.relpath(path, os.path.join(ours, case)))
        mine, theirs = tifffile.imread(path), tifffile.imread(twin)
        assert mine.dtype == theirs.dtype and np.array_equal(mine, theirs), path
        compared += 1
    return compared


@pytest.mark.skipif(
    shutil.which("dcm2niix") is None, reason="dcm2niix is not installed (pip install dcm2niix)"
)
def test_series_equal_dcm2niix_nifti(dicom_folder: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    reference = tmp_path / "dcm2niix"
    reference.mkdir()
    for name in SERIES:
        command = ["dcm2niix", "-z", "n", "-b", "n", "-f", name, "-o", str(reference)]
        subprocess.run([*command, os.path.join(dicom_folder, name)], check=True, capture_output=True)
    ours, theirs = _run(dicom_folder, str(tmp_path / "ours")), _run(str(reference), str(tmp_path / "ref"))
    assert all(o.reason is None for o in (*ours.outcomes, *theirs.outcomes))
    compared = _same_outputs(str(tmp_path / "ours"), str(tmp_path / "ref"), {f"{n}.nii": n for n in SERIES})
    slices = sum(sum(o.counts) for o in ours.outcomes)
    assert compared == slices > 0
    print(f"{len(SERIES)} series x {len(VIEWS)} views: {compared} slices equal to dcm2niix's")


def test_geometry_equals_simpleitk_series_reader(dicom_folder: str) -> None:
    sitk = pytest.importorskip("SimpleITK")
    for name in SERIES:
        folder = os.path.join(dicom_folder, name)
        reader = sitk.ImageSeriesReader()
        reader.SetFileNames(reader.GetGDCMSeriesFileNames(folder))
        image = reader.Execute()
        with open_volume(folder) as source:
            ours, volume = source.header, source.volume()
        corners = np.array(np.meshgrid(*[[0, n - 1] for n in ours.shape], indexing="ij")).reshape(3, -1).T
        world = [tuple(np.round(ours.affine[:3, :3] @ c + ours.affine[:3, 3], 3)) for c in corners]
        lps = [image.TransformIndexToPhysicalPoint([int(v) for v in c]) for c in corners]
        theirs = [tuple(np.round([-x, -y, z], 3)) for x, y, z in lps]
        assert sorted(world) == sorted(theirs), name
        real = volume * (ours.slope or 1.0) + (ours.inter or 0.0)
        assert np.allclose(np.sort(real.ravel()), np.sort(sitk.GetArrayFromImage(image).ravel()), atol=1e-4)


def test_values_are_the_niftis_and_report_names_format(dicom_folder: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with open_volume(os.path.join(dicom_folder, "ct_axial")) as source:
        header, volume = source.header, source.volume()
    data, affine, _ = _nifti("anatomical.nii")
    assert (header.format, header.slope, header.inter) == ("dicom", 1.0, -1024.0)
    assert dict(header.details)["modality"] == "CT"
    # Rows were written top-down: our j runs along the NIfTI's -y.
    assert np.array_equal(volume.astype(np.int32) - 1024, data[:, ::-1, :])
    np.testing.assert_allclose(
        header.affine[:3, :3] @ [0, 40, 0] + header.affine[:3, 3], affine[:3, 3], atol=1e-6
    )
    run = _run(dicom_folder, str(tmp_path / "o"), view="axial", save_report=True, save_manifest=True)
    html = (tmp_path / "o" / "report.html").read_text()
    assert "format: dicom; modality: CT; series description: test series" in html
    assert set(pd.read_csv(tmp_path / "o" / "axial_manifest.csv")["source"]) == set(SERIES)
    assert {o.name for o in run.outcomes} == set(SERIES)


@pytest.mark.parametrize(
    "variant",
    ["MR_small_implicit.dcm", "MR_small_bigendian.dcm", "MR_small_expb.dcm", "MR_small_RLE.dcm",
     "MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm"],
)  # fmt: skip
def test_pydicom_files_every_transfer_syntax(variant: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pydicom.data import get_testdata_file

    expected = pydicom.dcmread(get_testdata_file("MR_small.dcm")).pixel_array.T
    folder = tmp_path / "mr"
    folder.mkdir()
    shutil.copy(get_testdata_file(variant), folder / "image")  # no extension: found by its marker
    run = extract_slices_dataset(str(tmp_path), str(tmp_path / "out"), progress=False)
    reason = run.outcomes[0].reason
    if reason is not None:
        assert "nidataset[dicom-codecs]" in reason and "no decoder" in reason
        return
    with open_volume(str(folder)) as source:
        assert np.array_equal(source.volume()[:, :, 0], expected)


def test_pydicom_ct_small_alone(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pydicom.data import get_testdata_file

    path = get_testdata_file("CT_small.dcm")
    (tmp_path / "ct").mkdir()
    shutil.copy(path, tmp_path / "ct" / "CT_small.dcm")
    ds = pydicom.dcmread(path)
    with open_volume(str(tmp_path / "ct")) as source:
        volume, header = source.volume(), source.header
    assert header.shape == (128, 128, 1) and np.array_equal(volume[:, :, 0], ds.pixel_array.T)
    assert (header.slope, header.inter) == (float(ds.RescaleSlope), float(ds.RescaleIntercept))
    position = [
        -float(ds.ImagePositionPatient[0]),
        -float(ds.ImagePositionPatient[1]),
        float(ds.ImagePositionPatient[2]),
    ]
    np.testing.assert_allclose(header.affine[:3, 3], position)


def _skip_reason(folder: str, tmp_path) -> dict[str, str | None]:  # type: ignore[no-untyped-def]
    run = extract_slices_dataset(folder, str(tmp_path / "out"), progress=False)
    return {o.name: o.reason for o in run.outcomes}


def test_hostile_series_are_skipped_with_reasons(tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = str(tmp_path / "in")
    files = _write(root, "mr_sagittal_big", shuffle=None)
    with open(files[5], "r+b") as handle:  # truncated inside its pixel data
        handle.truncate(os.path.getsize(files[5]) - 100)
    _write(root, "ct_axial", shuffle=None)
    os.remove(sorted(glob.glob(os.path.join(root, "ct_axial", "*")))[10])  # a missing slice
    _write(root, "mr_sagittal", shuffle=None)
    with open(os.path.join(root, "mr_sagittal", "notes.dcm"), "w") as handle:
        handle.write("not DICOM")
    cut = _write(root, "mr_coronal", shuffle=None)[3]
    with open(cut, "r+b") as handle:  # truncated inside its header, after the DICM marker
        handle.truncate(300)
    reasons = _skip_reason(root, tmp_path)
    bad = f"1 bad file(s) in the folder: {os.path.basename(cut)} is truncated: it ends before its image"
    assert reasons["mr_coronal"].startswith(bad)
    assert (
        "is truncated" in reasons["mr_sagittal_big"]
        and os.path.basename(files[5]) in reasons["mr_sagittal_big"]
    )
    assert "slice spacing varies from 2 to 4 mm" in reasons["ct_axial"]
    assert "notes.dcm is named .dcm but is not DICOM" in reasons["mr_sagittal"]


def test_gantry_tilt_and_mixed_sizes_are_skipped(tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = str(tmp_path / "in")
    for path in _write(root, "ct_axial", shuffle=None):
        ds = pydicom.dcmread(path)
        x, y, z = (float(v) for v in ds.ImagePositionPatient)
        ds.ImagePositionPatient = [x, y + 0.2 * z, z]  # each slice moved along y with z: a tilt
        ds.save_as(path)
    data = np.zeros((5, 6, 4), dtype=np.uint16)
    write_series(data, np.eye(4), os.path.join(root, "mixed"), Acquisition(), shuffle=None)
    more = np.zeros((5, 7, 2), dtype=np.uint16)
    uid = pydicom.dcmread(glob.glob(os.path.join(root, "mixed", "*"))[0]).SeriesInstanceUID
    affine = np.eye(4)
    affine[2, 3] = 4
    write_series(more, affine, os.path.join(root, "mixed2"), Acquisition(series_uid=uid), shuffle=None)
    for n, path in enumerate(glob.glob(os.path.join(root, "mixed2", "*"))):
        shutil.move(path, os.path.join(root, "mixed", f"extra{n}.dcm"))
    os.rmdir(os.path.join(root, "mixed2"))
    reasons = _skip_reason(root, tmp_path)
    assert reasons["ct_axial"].startswith("gantry tilt of 11.31 degrees")
    assert reasons["mixed"].startswith("mixed sizes")


def test_several_series_in_one_folder_and_a_localizer(tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = str(tmp_path / "in")
    _write(root, "mr_sagittal", series_number=3)
    _write(root, "mr_sagittal_big", series_number=5)
    for path in glob.glob(os.path.join(root, "mr_sagittal_big", "*")):
        shutil.move(path, os.path.join(root, "mr_sagittal", "b_" + os.path.basename(path)))
    os.rmdir(os.path.join(root, "mr_sagittal_big"))
    localizer = os.path.join(root, "mr_sagittal", "zz_localizer.dcm")
    ds = pydicom.dcmread(glob.glob(os.path.join(root, "mr_sagittal", "b_*"))[0])
    ds.ImageOrientationPatient, ds.SOPInstanceUID = [1, 0, 0, 0, 1, 0], pydicom.uid.generate_uid()
    ds.save_as(localizer)
    run = extract_slices_dataset(root, str(tmp_path / "out"), view="sagittal", progress=False)
    counts = {o.name: (o.counts, o.reason) for o in run.outcomes}
    assert counts == {"mr_sagittal_3": ((5,), None), "mr_sagittal_5": ((41,), None)}  # stored order
    assert {n for n in os.listdir(tmp_path / "out") if not n.startswith(".")} == {
        "mr_sagittal_3",
        "mr_sagittal_5",
    }


def test_repeated_series_numbers_count_in_uid_order(tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = str(tmp_path / "in")
    uids = ["1.2.3.9", "1.2.3.10"]  # as text, "1.2.3.10" sorts first
    _write(root, "mr_sagittal", series_uid=uids[0], series_number=None)
    _write(str(tmp_path / "b"), "mr_sagittal_big", series_uid=uids[1], series_number=None)
    for path in glob.glob(str(tmp_path / "b" / "mr_sagittal_big" / "*")):
        shutil.move(path, os.path.join(root, "mr_sagittal", "b_" + os.path.basename(path)))
    run = extract_slices_dataset(root, str(tmp_path / "out"), view="sagittal", progress=False)
    assert {o.name: o.counts for o in run.outcomes} == {"mr_sagittal_1": (41,), "mr_sagittal_2": (5,)}


def test_prefix_clash_with_a_nifti_is_refused_before_writing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = str(tmp_path / "in")
    _write(root, "mr_sagittal")
    shutil.copy(os.path.join(DATA, "standard.nii.gz"), os.path.join(root, "mr_sagittal.nii.gz"))
    with pytest.raises(ValueError, match="same prefix 'mr_sagittal'"):
        extract_slices_dataset(root, str(tmp_path / "out"), progress=False)
    assert not os.path.exists(tmp_path / "out")


def test_nifti_only_folder_with_plain_sub_folders_is_unchanged(tmp_path) -> None:  # type: ignore[no-untyped-def]
    plain, other = tmp_path / "plain", tmp_path / "other"
    for folder in (plain, other):
        folder.mkdir()
        shutil.copy(os.path.join(DATA, "standard.nii.gz"), folder)
    (other / "notes").mkdir()
    (other / "notes" / "readme.txt").write_text("no DICOM here")
    _run(str(plain), str(tmp_path / "a"), save_stats=True)
    _run(str(other), str(tmp_path / "b"), save_stats=True)
    names = sorted(
        os.path.relpath(p, tmp_path / "a") for p in glob.glob(str(tmp_path / "a" / "**"), recursive=True)
    )
    for name in names:
        a, b = tmp_path / "a" / name, tmp_path / "b" / name
        assert a.is_dir() or a.read_bytes() == b.read_bytes(), name


@pytest.mark.skipif(
    shutil.which("dcm2niix") is None, reason="dcm2niix is not installed (pip install dcm2niix)"
)
def test_slopes_varying_by_slice_give_float32_real_values_as_dcm2niix(tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "in"
    paths = _write(str(root), "mr_sagittal", shuffle=None, modality="CT", slope=1.0, inter=0.0)
    for k, path in enumerate(paths):
        ds = pydicom.dcmread(path)
        ds.RescaleSlope, ds.RescaleIntercept = str(0.5 + 0.25 * k), str(-10 * k)
        ds.save_as(path)
    command = ["dcm2niix", "-z", "n", "-b", "n", "-f", "mr_sagittal", "-o", str(tmp_path)]
    subprocess.run([*command, str(root / "mr_sagittal")], check=True, capture_output=True)
    reference = nib.load(tmp_path / "mr_sagittal.nii")
    with open_volume(str(root / "mr_sagittal")) as source:
        header, volume = source.header, source.volume()
    assert (header.dtype, header.slope) == (np.float32, None)
    ours = nib.as_closest_canonical(nib.Nifti1Image(volume, header.affine))
    theirs = nib.as_closest_canonical(reference)
    assert np.array_equal(ours.get_fdata(), theirs.get_fdata())
    np.testing.assert_allclose(ours.affine, theirs.affine, atol=1e-3)


def test_axial_slabs_read_only_their_files(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import nidataset.io.dicom as dicom

    data = np.arange(6 * 5 * 1000, dtype=np.uint16).reshape(6, 5, 1000) % 4000
    affine = np.diag([0.8, 0.9, 1.5, 1.0])
    write_series(data, affine, str(tmp_path / "long"), Acquisition(), shuffle=3)
    opened: list[str] = []
    reading = dicom._read_native
    monkeypatch.setattr(
        dicom, "_read_native", lambda image, target: (opened.append(image.path), reading(image, target))
    )
    with open_volume(str(tmp_path / "long")) as source:
        slabs = source.slabs(10)
        first = next(slabs)
        # The slices run along the normal of the rows' and columns' directions: here down the volume.
        expected = data[:, ::-1, ::-1]
        assert len(opened) == 10 and np.array_equal(first, expected[:, :, :10])
        rest = np.concatenate([first, *slabs], axis=2)
    assert len(opened) == 1000 and np.array_equal(rest, expected)


def test_two_workers_write_what_one_does_and_reassemble_reads_back(dicom_folder: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from nidataset import reassemble

    _run(dicom_folder, str(tmp_path / "one"), workers=1)
    _run(dicom_folder, str(tmp_path / "two"), workers=2)
    for path in glob.glob(str(tmp_path / "one" / "*" / "*" / "*.tif")):
        with open(path, "rb") as mine, open(path.replace("one", "two", 1), "rb") as theirs:
            assert mine.read() == theirs.read(), path
    manifest = str(tmp_path / "one" / "coronal_manifest.csv")
    reassemble(str(tmp_path / "one"), str(tmp_path / "back"), manifest, progress=False)
    for name in SERIES:
        with open_volume(os.path.join(dicom_folder, name)) as source:
            header, volume = source.header, source.volume()
        back = nib.as_closest_canonical(nib.load(tmp_path / "back" / f"{name}.nii.gz"))
        real = volume * np.float64(header.slope or 1) + (header.inter or 0)
        ours = nib.as_closest_canonical(nib.Nifti1Image(real.astype(np.float32), header.affine))
        np.testing.assert_allclose(back.affine, ours.affine, atol=1e-4)
        assert np.array_equal(back.get_fdata(), ours.get_fdata()), name


def test_without_pydicom_the_reason_names_the_extra(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import nidataset.io.dicom as dicom

    _write(str(tmp_path / "in"), "mr_sagittal")
    dicom._folder_series.cache_clear()
    monkeypatch.setitem(__import__("sys").modules, "pydicom", None)
    run = extract_slices_dataset(str(tmp_path / "in"), str(tmp_path / "out"), progress=False)
    assert run.outcomes[0].reason == "a DICOM series needs pydicom: pip install 'nidataset[dicom]'"
    dicom._folder_series.cache_clear()


def test_localizer_typed_images_are_left_out(tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    paths = _write(str(tmp_path / "in"), "mr_sagittal", shuffle=None)
    ds = pydicom.dcmread(paths[0])
    ds.ImageType, ds.SOPInstanceUID = ["ORIGINAL", "PRIMARY", "LOCALIZER"], pydicom.uid.generate_uid()
    ds.ImagePositionPatient = [0, 0, 0]
    ds.save_as(str(tmp_path / "in" / "mr_sagittal" / "scout.dcm"))
    with caplog.at_level("INFO"), open_volume(str(tmp_path / "in" / "mr_sagittal")) as source:
        assert source.header.shape == (5, 7, 4)
        assert ("left out", "left out 1 LOCALIZER image(s)") in source.header.details
        source.volume()
    assert "left out 1 LOCALIZER image(s)" in caplog.text


def test_a_compressed_series_reads_as_the_uncompressed_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pydicom.uid import RLELossless

    paths = _write(str(tmp_path / "rle"), "mr_coronal")
    plain = tmp_path / "plain"
    shutil.copytree(tmp_path / "rle" / "mr_coronal", plain)
    for path in paths:
        ds = pydicom.dcmread(path)
        ds.compress(RLELossless)  # pydicom's own RLE encoder and decoder: no extra needed
        ds.save_as(path)
    assert pydicom.dcmread(paths[0]).file_meta.TransferSyntaxUID == RLELossless
    with open_volume(str(tmp_path / "rle" / "mr_coronal")) as rle, open_volume(str(plain)) as raw:
        assert rle.header == raw.header and np.array_equal(rle.volume(), raw.volume())


@pytest.mark.skipif(
    shutil.which("dcm2niix") is None, reason="dcm2niix is not installed (pip install dcm2niix)"
)
def test_enhanced_multiframe_equals_dcm2niix_also_compressed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pydicom.uid import RLELossless

    data, affine, _ = _nifti("anatomical.nii")
    stored = (data.astype(np.int32) + 1024).astype(np.uint16)
    acquisition = Acquisition(
        slice_axis=1, column_axis=0, row_axis=2, modality="CT", slope=1.0, inter=-1024.0
    )
    write_enhanced(stored, affine, str(tmp_path / "in" / "enhanced" / "all.dcm"), acquisition)
    reference = tmp_path / "dcm2niix"
    reference.mkdir()
    command = ["dcm2niix", "-z", "n", "-b", "n", "-f", "enhanced", "-o", str(reference)]
    subprocess.run([*command, str(tmp_path / "in" / "enhanced")], check=True, capture_output=True)
    ours, theirs = (
        _run(str(tmp_path / "in"), str(tmp_path / "ours")),
        _run(str(reference), str(tmp_path / "ref")),
    )
    assert all(o.reason is None for o in (*ours.outcomes, *theirs.outcomes))
    assert _same_outputs(str(tmp_path / "ours"), str(tmp_path / "ref"), {"enhanced.nii": "enhanced"}) == 99
    # Compressed, each frame is decoded alone. (dcm2niix 1.0.20260724 misreads pydicom's multi-frame
    # RLE, though not its single-frame RLE: the reference here is the uncompressed file.)
    (tmp_path / "rle").mkdir()
    ds = pydicom.dcmread(tmp_path / "in" / "enhanced" / "all.dcm")
    ds.compress(RLELossless)
    ds.save_as(tmp_path / "rle" / "all.dcm")
    with open_volume(str(tmp_path / "rle")) as rle, open_volume(str(tmp_path / "in" / "enhanced")) as raw:
        assert rle.header == raw.header and np.array_equal(rle.volume(), raw.volume())


def test_missing_geometry_is_a_reason_and_resume_reuses_series(tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "in"
    paths = _write(str(root), "mr_sagittal", shuffle=None, series_number=3)
    _write(str(root), "ct_axial")
    ds = pydicom.dcmread(paths[2])
    del ds.PixelSpacing
    ds.save_as(paths[2])
    first = _skip_reason(str(root), tmp_path)
    assert first["mr_sagittal"] == f"{os.path.basename(paths[2])} has no usable PixelSpacing"
    assert first["ct_axial"] is None
    again = extract_slices_dataset(str(root), str(tmp_path / "out"), progress=False, resume=True)
    assert {o.name: o.reused for o in again.outcomes} == {"ct_axial": True, "mr_sagittal": False}


@pytest.mark.skipif(
    shutil.which("dcm2niix") is None, reason="dcm2niix is not installed (pip install dcm2niix)"
)
def test_pydicom_real_files_equal_dcm2niix(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pydicom.data import get_testdata_file

    for name, file in (("ct", "CT_small.dcm"), ("mr", "MR_small.dcm"), ("mr_big", "MR_small_bigendian.dcm")):
        (tmp_path / "in" / name).mkdir(parents=True)
        shutil.copy(get_testdata_file(file), tmp_path / "in" / name / "image")
        command = ["dcm2niix", "-z", "n", "-b", "n", "-f", name, "-o", str(tmp_path / "in")]
        subprocess.run([*command, str(tmp_path / "in" / name)], check=True, capture_output=True)
        shutil.move(tmp_path / "in" / f"{name}.nii", tmp_path / f"{name}.nii")
    (tmp_path / "ref").mkdir()
    for name in ("ct", "mr", "mr_big"):
        shutil.move(tmp_path / f"{name}.nii", tmp_path / "ref" / f"{name}.nii")
    _run(str(tmp_path / "in"), str(tmp_path / "ours"))
    _run(str(tmp_path / "ref"), str(tmp_path / "theirs"))
    rename = {f"{n}.nii": n for n in ("ct", "mr", "mr_big")}
    assert _same_outputs(str(tmp_path / "ours"), str(tmp_path / "theirs"), rename) == 257 + 2 * 129


def _rotation(angles: tuple[float, float, float]) -> np.ndarray:
    a, b, c = angles
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return rz @ ry @ rx


def test_any_oblique_orientation_maps_every_slice_to_its_position() -> None:
    """Property: for random orientations, spacings and file orders, the affine maps voxel (0, 0, k) to
    slice k's ImagePositionPatient (RAS: x and y negated) and one column / row to PixelSpacing."""
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies
    from nidataset.io.dicom_files import DicomImage
    from nidataset.io.dicom_geometry import arrange

    angle = st.floats(-3.1, 3.1)

    @hypothesis.settings(max_examples=60, deadline=None)
    @hypothesis.given(st.tuples(angle, angle, angle), st.floats(0.2, 3), st.floats(0.2, 3), st.floats(0.3, 5),
                      st.integers(1, 12), st.randoms())  # fmt: skip
    def check(angles, across, down, step, count, rng) -> None:  # type: ignore[no-untyped-def]
        rotation = _rotation(angles)
        row, column, normal = rotation[:, 0], rotation[:, 1], rotation[:, 2]
        origin = np.array([12.5, -40.0, 7.25])
        positions = [origin + k * step * normal for k in range(count)]
        images = [
            DicomImage(f"f{k}", "1", 1, tuple(p), (*row, *column), (5, 4), (across, down), (16, 0, 1), 1,
                       None, None, (), "1.2.840.10008.1.2.1", 0, thickness=step)
            for k, p in enumerate(positions)
        ]  # fmt: skip
        rng.shuffle(images)
        arranged = arrange(images)
        ras = np.diag([-1.0, -1.0, 1.0])
        for k, image in enumerate(arranged.images):
            assert image.path == f"f{k}"
            np.testing.assert_allclose(
                arranged.affine[:3, 2] * k + arranged.affine[:3, 3], ras @ positions[k], atol=1e-6
            )
        np.testing.assert_allclose(arranged.affine[:3, 0], ras @ row * across, atol=1e-9)
        np.testing.assert_allclose(arranged.affine[:3, 1], ras @ column * down, atol=1e-9)
        assert arranged.spacing == pytest.approx((across, down, step))

    check()


def test_single_volume_functions_take_a_series_folder(dicom_folder: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from nidataset import extract_slices

    written = extract_slices(os.path.join(dicom_folder, "mr_coronal"), str(tmp_path / "one"), view="coronal")
    _run(dicom_folder, str(tmp_path / "all"), view="coronal", orientation="stored")
    assert len(written) == 56  # stored order: the coronal view cuts across the rows
    for path in written:
        twin = tmp_path / "all" / "mr_coronal" / "coronal" / os.path.basename(path)
        assert twin.read_bytes() == Path(path).read_bytes()


def test_pydicom_truncated_file_and_an_rt_plan_beside_an_image(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pydicom.data import get_testdata_file

    (tmp_path / "in" / "t").mkdir(parents=True)
    shutil.copy(get_testdata_file("MR_truncated.dcm"), tmp_path / "in" / "t" / "x.dcm")
    (tmp_path / "in" / "r").mkdir()
    shutil.copy(get_testdata_file("rtplan.dcm"), tmp_path / "in" / "r" / "plan.dcm")  # no image: left out
    shutil.copy(get_testdata_file("MR_small.dcm"), tmp_path / "in" / "r" / "mr.dcm")
    run = extract_slices_dataset(str(tmp_path / "in"), str(tmp_path / "out"), progress=False)
    assert {o.name: (o.counts, o.reason) for o in run.outcomes} == {
        "r": ((1,), None),
        "t": ((), "x.dcm is truncated: its pixel data hold 8130 of 8192 bytes"),
    }


def test_a_dangling_symlink_or_hidden_file_beside_a_series_is_left_out(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = (np.arange(4 * 5 * 3).reshape(4, 5, 3) * 7).astype(np.uint16)
    affine = np.diag([0.8, 0.9, 2.5, 1.0])
    for name in ("plain", "linked"):
        write_series(data, affine, str(tmp_path / name), Acquisition())
    os.symlink(tmp_path / "nowhere.dcm", tmp_path / "linked" / "IM9999.dcm")  # dangling
    os.symlink(tmp_path / "nowhere", tmp_path / "linked" / ".hidden")
    (tmp_path / "linked" / "notes").mkdir()
    with open_volume(str(tmp_path / "plain")) as plain, open_volume(str(tmp_path / "linked")) as linked:
        assert linked.header == plain.header
        np.testing.assert_array_equal(linked.header.affine, plain.header.affine)
        np.testing.assert_array_equal(linked.volume(), plain.volume())
    with open_volume(str(tmp_path / "linked")) as linked:
        volume = linked.volume()
    assert sorted(volume.shape) == sorted(data.shape)  # every slice read (in the scanner's axes)
    np.testing.assert_array_equal(np.sort(volume, axis=None), np.sort(data, axis=None))
