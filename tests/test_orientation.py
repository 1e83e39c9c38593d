"""orientation="radiological" / "neurological": SPEC Part 2's table, whatever the storage order.

The expected images come from nibabel (``as_reoriented``, ``as_closest_canonical``) and the SPEC's
numpy expressions written out here, never from the package's own orientation code.
"""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from conftest import DATA, read_tiff
from nidataset import extract_annotations_dataset, extract_slices, extract_slices_dataset
from nidataset.cli import main

VIEWS = ("axial", "coronal", "sagittal")
CONVENTIONS = ("radiological", "neurological")
RAS_SHAPE = (5, 6, 7)  # X (left -> right), Y (posterior -> anterior), Z (inferior -> superior)
RAS_AFFINE = np.array([[0.8, 0, 0, -10], [0, 0.9, 0, 20], [0, 0, 2.5, 30], [0, 0, 0, 1]])

#: SPEC Part 2, on the RAS+ array d: slice index -> image.
SPEC = {
    ("radiological", "axial"): lambda d, k: d[::-1, ::-1, k].T,
    ("neurological", "axial"): lambda d, k: d[:, ::-1, k].T,
    ("radiological", "coronal"): lambda d, j: d[::-1, j, ::-1].T,
    ("neurological", "coronal"): lambda d, j: d[:, j, ::-1].T,
    ("radiological", "sagittal"): lambda d, i: d[i, ::-1, ::-1].T,
    ("neurological", "sagittal"): lambda d, i: d[i, ::-1, ::-1].T,
}
RAS_AXIS = {"axial": 2, "coronal": 1, "sagittal": 0}


def spec_slices(ras: np.ndarray, convention: str, view: str) -> list[np.ndarray]:
    return [SPEC[convention, view](ras, n) for n in range(ras.shape[RAS_AXIS[view]])]


def all_orientations() -> list[np.ndarray]:
    """The 48 axis orientations: every permutation of the three axes, each axis flipped or not."""
    return [
        np.array([[axis, sign] for axis, sign in zip(perm, signs, strict=True)], dtype=float)
        for perm in itertools.permutations(range(3))
        for signs in itertools.product((1, -1), repeat=3)
    ]


def ras_volume() -> np.ndarray:
    """Distinct int16 values, plus a marker at the patient's right-anterior-superior corner."""
    data = np.arange(np.prod(RAS_SHAPE), dtype=np.int16).reshape(RAS_SHAPE) + 100
    data[-1, -1, -1] = -1  # right (X max), anterior (Y max), superior (Z max)
    return data


@pytest.fixture(scope="module")
def stored_48(tmp_path_factory) -> Path:
    """The same RAS+ anatomy stored in all 48 orientations, with matching affines (nibabel's)."""
    folder = tmp_path_factory.mktemp("orientations")
    canonical = nib.Nifti1Image(ras_volume(), RAS_AFFINE)
    for number, ornt in enumerate(all_orientations()):
        stored = canonical.as_reoriented(ornt)
        codes = "".join(nib.aff2axcodes(stored.affine))
        nib.save(stored, str(folder / f"o{number:02d}_{codes}.nii.gz"))
    return folder


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_all_48_storage_orders_give_the_spec_images(stored_48, tmp_path, convention):
    out = tmp_path / "out"
    result = extract_slices_dataset(
        str(stored_48), str(out), view=list(VIEWS), orientation=convention, progress=False
    )
    assert len(result.done) == 48 and not result.skipped
    for view in VIEWS:
        expected = spec_slices(ras_volume(), convention, view)
        reference: dict[str, bytes] = {}
        for case in sorted(p.name for p in out.iterdir() if not p.name.startswith(".")):
            files = sorted((out / case / view).glob("*.tif"))
            assert len(files) == len(expected), (case, view)
            for index, (path, image) in enumerate(zip(files, expected, strict=True)):
                np.testing.assert_array_equal(read_tiff(path), image, err_msg=f"{case} {view} {index}")
                key = path.name.split("_", 2)[-1]
                assert reference.setdefault(key, path.read_bytes()) == path.read_bytes()  # byte-identical


@pytest.mark.parametrize(
    ("convention", "view", "index", "corner"),
    [
        ("radiological", "axial", -1, (0, 0)),  # top = anterior, image left = patient right
        ("neurological", "axial", -1, (0, -1)),  # image right = patient right
        ("radiological", "coronal", -1, (0, 0)),  # top = superior, image left = patient right
        ("neurological", "coronal", -1, (0, -1)),
        ("radiological", "sagittal", -1, (0, 0)),  # top = superior, image left = anterior
        ("neurological", "sagittal", -1, (0, 0)),
    ],
)
def test_the_right_anterior_superior_marker_lands_where_the_table_says(
    stored_48, tmp_path, convention, view, index, corner
):
    for path in sorted(stored_48.glob("*.nii.gz"))[::7]:  # several storage orders, LPS among them
        paths = extract_slices(str(path), str(tmp_path / path.name), view, orientation=convention)
        image = read_tiff(paths[index])
        assert image[corner] == -1 and np.count_nonzero(image == -1) == 1, path.name


@pytest.mark.parametrize("convention", ["stored", *CONVENTIONS])
@pytest.mark.parametrize(
    "name", ["anatomical.nii", "resampled_anat_moved.nii", "someones_anatomy.nii.gz", "standard.nii.gz"]
)
def test_real_files_in_every_convention(tmp_path, name, convention):
    source = DATA / name
    if not source.is_file():
        pytest.skip("../shared/data is not beside the project")
    image = nib.load(str(source))
    data = np.asarray(image.get_fdata())
    ras = np.asarray(nib.as_closest_canonical(image).get_fdata())
    for view in VIEWS:
        paths = extract_slices(str(source), str(tmp_path / view), view, orientation=convention)
        if convention == "stored":
            axis = RAS_AXIS[view]
            expected = [np.take(data, n, axis=axis) for n in range(data.shape[axis])]
        else:
            expected = spec_slices(ras, convention, view)
        assert len(paths) == len(expected)
        for path, slice_ in zip(paths, expected, strict=True):
            np.testing.assert_allclose(read_tiff(path), slice_, rtol=1e-6, err_msg=path)


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("view", VIEWS)
def test_annotation_boxes_bound_the_oriented_mask_images(stored_48, tmp_path, convention, view):
    """Boxes from the annotation CSVs equal boxes measured on the mask extracted as images."""
    masks = tmp_path / "masks"
    masks.mkdir()
    rng = np.random.default_rng(7)
    ras_mask = np.zeros(RAS_SHAPE, dtype=np.uint8)
    ras_mask[1:3, 2:5, 1:6] = 1
    ras_mask[4, 0, :] = 2
    ras_mask[rng.random(RAS_SHAPE) > 0.93] = 3
    canonical = nib.Nifti1Image(ras_mask, RAS_AFFINE)
    for number, ornt in enumerate(all_orientations()[::5]):
        nib.save(canonical.as_reoriented(ornt), str(masks / f"m{number:02d}.nii.gz"))
    target = (9, 10)
    common = {"view": view, "target_size": target, "orientation": convention, "progress": False}
    extract_slices_dataset(str(masks), str(tmp_path / "images"), **common)
    extract_annotations_dataset(str(masks), str(tmp_path / "labels"), data_mode="box", **common)
    checked = 0
    for image_path in sorted((tmp_path / "images").glob(f"*/{view}/*.tif")):
        image = read_tiff(image_path)
        csv_path = (
            tmp_path
            / "labels"
            / image_path.parent.relative_to(tmp_path / "images")
            / (image_path.stem + ".csv")
        )
        rows = list(csv.reader(csv_path.open())) if csv_path.exists() else [[]]
        assert sorted(int(r[-1]) for r in rows[1:]) == sorted(int(v) for v in np.unique(image) if v > 0)
        for x_min, y_min, x_max, y_max, label in (map(int, r) for r in rows[1:]):
            ys, xs = np.nonzero(image == label)
            assert (x_min, y_min, x_max, y_max) == (xs.min(), ys.min(), xs.max(), ys.max()), image_path.name
            checked += 1
    assert checked > 20


def test_the_command_line_takes_an_orientation(stored_48, tmp_path):
    assert (
        main(["slices", str(stored_48), str(tmp_path / "out"), "--orientation", "radiological", "--quiet"])
        == 0
    )
    first = sorted((tmp_path / "out").glob("o00_*/axial/*.tif"))
    np.testing.assert_array_equal(
        read_tiff(first[-1]), spec_slices(ras_volume(), "radiological", "axial")[-1]
    )


def test_an_unknown_orientation_is_refused_before_anything_is_written(stored_48, tmp_path):
    with pytest.raises(
        ValueError, match="orientation must be one of 'stored', 'radiological', 'neurological'"
    ):
        extract_slices_dataset(str(stored_48), str(tmp_path / "out"), orientation="RAS")  # type: ignore[arg-type]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("convention", ["stored", *CONVENTIONS])
def test_one_view_streamed_slab_by_slab_equals_the_whole_volume_path(
    stored_48, tmp_path, monkeypatch, convention
):
    """A single view is read a few stored slices at a time (across the last stored axis, written as
    they come; else laid out as they come), also when that axis runs against the slice order; a list
    of views cuts them from the whole volume."""
    import nidataset.slices.job as job

    monkeypatch.setattr(job, "SLAB_BYTES", 2 * 5 * 7 * 2)  # two slices of the smallest plane per slab
    monkeypatch.setattr(job, "LAYOUT_SLAB_BYTES", 3 * 5 * 7 * 2)  # coronal, sagittal: laid out 3 at a time
    for view in VIEWS:
        streamed = extract_slices_dataset(
            str(stored_48), str(tmp_path / "streamed"), view=view, orientation=convention, progress=False
        )
        whole = extract_slices_dataset(
            str(stored_48),
            str(tmp_path / "whole"),
            view=[view, "axial" if view != "axial" else "coronal"],
            orientation=convention,
            progress=False,
        )
        assert not streamed.skipped and not whole.skipped
    files = sorted(p.relative_to(tmp_path / "streamed") for p in (tmp_path / "streamed").rglob("*.tif"))
    assert len(files) == 48 * sum(RAS_SHAPE)
    for name in files:
        assert (tmp_path / "streamed" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name
