"""Reassembly against hostile manifests and images: paths that leave the slices folder, hidden
output names, images larger than their row says, cells that are not numbers; space codes kept."""

from __future__ import annotations

import csv
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import tifffile

from nidataset import build_dataset, extract_slices_dataset, reassemble

SHAPE = (6, 7, 5)


def rows_of(manifest: Path) -> list[dict[str, str]]:
    with open(manifest, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def write_rows(manifest: Path, rows: list[dict[str, str]]) -> None:
    with open(manifest, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture
def extracted(tmp_path: Path) -> Path:
    """Axial slices of two int16 volumes, ``a`` and ``b``, with their manifest."""
    folder = tmp_path / "in"
    folder.mkdir()
    for number, name in enumerate("ab"):
        data = (np.arange(np.prod(SHAPE)).reshape(SHAPE) + 100 * number).astype(np.int16)
        nib.save(nib.Nifti1Image(data, np.diag([0.5, 0.75, 2.0, 1.0])), str(folder / f"{name}.nii.gz"))
    slices = tmp_path / "slices"
    extract_slices_dataset(str(folder), str(slices), view="axial", save_manifest=True, progress=False)
    return slices


ESCAPES = {
    "parent": "../secret/x.tif",
    "parent after a folder": "a/../../secret/x.tif",
    "absolute": "{secret}/x.tif",
    "backslashes": "..\\secret\\x.tif",
    "drive letter": "C:\\secret\\x.tif",
    "drive relative": "C:secret/x.tif",
    "unc": "\\\\server\\share\\x.tif",
}


@pytest.mark.parametrize("kind", list(ESCAPES))
def test_a_manifest_path_leaving_the_slices_folder_skips_that_source_only(
    extracted: Path, tmp_path: Path, kind: str
) -> None:
    secret = tmp_path / "secret"
    secret.mkdir()
    tifffile.imwrite(secret / "x.tif", np.full(SHAPE[:2], 9999, dtype=np.int16))
    manifest = extracted / "axial_manifest.csv"
    rows = rows_of(manifest)
    target = next(r for r in rows if r["source"] == "a.nii.gz" and r["source_index"] == "2")
    target["path"] = ESCAPES[kind].format(secret=secret)
    write_rows(manifest, rows)
    out = tmp_path / "out"
    result = reassemble(str(extracted), str(out), str(manifest), progress=False)
    (skipped,) = result.skipped
    assert skipped.name == "a.nii.gz" and "path leaves the slices folder" in (skipped.reason or "")
    assert sorted(p.name for p in out.iterdir()) == ["b.nii.gz"]


def test_a_path_with_dots_that_stays_inside_is_read(extracted: Path, tmp_path: Path) -> None:
    manifest = extracted / "axial_manifest.csv"
    rows = rows_of(manifest)
    for row in rows:
        row["path"] = "./" + row["path"].replace("/axial/", "/axial/../axial/")
    write_rows(manifest, rows)
    result = reassemble(str(extracted), str(tmp_path / "out"), str(manifest), progress=False)
    assert result.summary() == "2 of 2 files done, 2 volumes written"


def test_a_source_named_only_by_its_suffix_is_skipped_not_written_hidden(
    extracted: Path, tmp_path: Path
) -> None:
    manifest = extracted / "axial_manifest.csv"
    rows = rows_of(manifest)
    for row in rows:
        if row["source"] == "a.nii.gz":
            row["source"] = ".nii.gz"
    write_rows(manifest, rows)
    out = tmp_path / "out"
    result = reassemble(str(extracted), str(out), str(manifest), progress=False)
    (skipped,) = result.skipped
    assert skipped.name == ".nii.gz" and "hidden file" in (skipped.reason or "")
    assert sorted(p.name for p in out.iterdir()) == ["b.nii.gz"]


@pytest.mark.parametrize("codes", [(1, 1), (1, 0), (0, 4), (0, 0), (2, 2)])
def test_reassembled_volumes_keep_the_sources_space_codes(tmp_path: Path, codes: tuple[int, int]) -> None:
    affine = np.array([[0, -0.8, 0, 10], [0.9, 0, 0, -20], [0, 0, 2.5, 5], [0, 0, 0, 1.0]])
    data = np.arange(np.prod(SHAPE), dtype=np.int16).reshape(SHAPE)
    image = nib.Nifti1Image(data, None)
    image.header.set_qform(affine, code=codes[0])
    image.header.set_sform(affine, code=codes[1])
    (tmp_path / "in").mkdir()
    nib.save(image, str(tmp_path / "in" / "case.nii.gz"))
    source = nib.load(str(tmp_path / "in" / "case.nii.gz"))
    slices = tmp_path / "slices"
    extract_slices_dataset(
        str(tmp_path / "in"), str(slices), view="coronal", save_manifest=True, progress=False
    )
    reassemble(str(slices), str(tmp_path / "out"), str(slices / "coronal_manifest.csv"), progress=False)
    back = nib.load(str(tmp_path / "out" / "case.nii.gz"))
    assert (int(back.header["qform_code"]), int(back.header["sform_code"])) == codes
    np.testing.assert_allclose(back.affine, source.affine)
    np.testing.assert_array_equal(np.asarray(back.dataobj), data)


@pytest.mark.parametrize("codes", [(1, 1), (0, 4)])
def test_a_built_datasets_manifest_carries_the_sources_space_codes_to_reassembly(
    tmp_path: Path, codes: tuple[int, int]
) -> None:
    affine = np.array([[0, -0.8, 0, 10], [0.9, 0, 0, -20], [0, 0, 2.5, 5], [0, 0, 0, 1.0]])
    data = np.arange(np.prod(SHAPE), dtype=np.int16).reshape(SHAPE)
    for folder, voxels in (("images", data), ("masks", (data % 3).astype(np.uint8))):
        image = nib.Nifti1Image(voxels, None)
        image.header.set_qform(affine, code=codes[0])
        image.header.set_sform(affine, code=codes[1])
        (tmp_path / folder).mkdir()
        nib.save(image, str(tmp_path / folder / "case.nii.gz"))
    built = tmp_path / "built"
    build_dataset(str(tmp_path / "images"), str(tmp_path / "masks"), str(built), progress=False)
    rows = rows_of(built / "axial_manifest.csv")
    assert {(row["qform_code"], row["sform_code"]) for row in rows} == {(str(codes[0]), str(codes[1]))}
    reassemble(str(built), str(tmp_path / "out"), str(built / "axial_manifest.csv"), progress=False)
    back = nib.load(str(tmp_path / "out" / "case.nii.gz"))
    assert (int(back.header["qform_code"]), int(back.header["sform_code"])) == codes


def test_a_sheared_affine_is_kept_by_the_sform_and_never_put_in_a_qform_without_its_shear(
    tmp_path: Path,
) -> None:
    sheared = np.array([[0.8, 0.3, 0, 10], [0, 0.9, 0, -20], [0, 0, 2.5, 5], [0, 0, 0, 1.0]])
    image = nib.Nifti1Image(np.arange(np.prod(SHAPE), dtype=np.int16).reshape(SHAPE), None)
    image.header.set_qform(sheared, code=1)  # nibabel strips the shear: the scanner's qform
    image.header.set_sform(sheared, code=1)
    (tmp_path / "in").mkdir()
    nib.save(image, str(tmp_path / "in" / "case.nii.gz"))
    slices = tmp_path / "slices"
    extract_slices_dataset(str(tmp_path / "in"), str(slices), save_manifest=True, progress=False)
    reassemble(str(slices), str(tmp_path / "out"), str(slices / "axial_manifest.csv"), progress=False)
    back = nib.load(str(tmp_path / "out" / "case.nii.gz"))
    assert (int(back.header["qform_code"]), int(back.header["sform_code"])) == (0, 1)
    np.testing.assert_allclose(back.header.get_sform(), sheared, atol=1e-5)


def test_a_manifest_without_space_codes_still_reassembles_with_an_aligned_sform(
    extracted: Path, tmp_path: Path
) -> None:
    manifest = extracted / "axial_manifest.csv"
    rows = [
        {k: v for k, v in row.items() if k not in ("qform_code", "sform_code")} for row in rows_of(manifest)
    ]
    write_rows(manifest, rows)
    result = reassemble(str(extracted), str(tmp_path / "out"), str(manifest), progress=False)
    assert result.summary() == "2 of 2 files done, 2 volumes written"
    back = nib.load(str(tmp_path / "out" / "a.nii.gz"))
    assert (int(back.header["qform_code"]), int(back.header["sform_code"])) == (0, 2)
    np.testing.assert_array_equal(back.affine, np.diag([0.5, 0.75, 2.0, 1.0]))


def test_an_image_larger_than_its_row_says_is_refused_from_its_header_before_decoding(
    extracted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A zlib TIFF of 8000 x 8000 zeros is 60 kB on disk and 64 MB decoded: it is never decoded."""
    from nidataset.io import image_files

    target = extracted / "a" / "axial" / "a_axial_002.tif"
    tiles = (np.zeros((512, 512), np.uint8) for _ in range(16 * 16))
    tifffile.imwrite(target, tiles, shape=(8000, 8000), dtype=np.uint8, tile=(512, 512), compression="zlib")
    real = image_files.read_image

    def decoding(path: str) -> np.ndarray:
        assert not path.endswith("a_axial_002.tif"), "decoded before its size was checked"
        return real(path)

    monkeypatch.setattr(image_files, "read_image", decoding)
    from nidataset.reassembly import job

    monkeypatch.setattr(job, "read_image", decoding)
    result = reassemble(
        str(extracted), str(tmp_path / "out"), str(extracted / "axial_manifest.csv"), progress=False
    )
    (skipped,) = result.skipped
    assert skipped.reason == "a_axial_002.tif is 8000x8000; the manifest says 6x7"


@pytest.mark.parametrize("kind", ["png", "npy"])
def test_png_and_npy_sizes_are_read_from_their_headers(tmp_path: Path, kind: str) -> None:
    from PIL import Image

    from nidataset.io.image_files import image_shape

    path = tmp_path / f"x.{kind}"
    data = np.zeros((3, 5), np.uint16)
    if kind == "png":
        Image.fromarray(data).save(path)
    else:
        np.save(path, data)
    assert image_shape(str(path)) == (3, 5)


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("affine_00", "nan", "affine_00 is 'nan', not a finite number"),
        ("affine_03", "inf", "affine_03 is 'inf', not a finite number"),
        ("shape_i", "NaN", "shape_i is 'NaN', not a finite number"),
        ("shape_i", "3000000000", "too large: a volume of shape (3000000000, 3000000000, 3000000000)"),
    ],
)
def test_cells_that_are_not_finite_or_shapes_beyond_int64_skip_the_source(
    extracted: Path, tmp_path: Path, column: str, value: str, reason: str
) -> None:
    manifest = extracted / "axial_manifest.csv"
    rows = rows_of(manifest)
    for row in rows:
        if row["source"] == "a.nii.gz":
            row[column] = value
            if value == "3000000000":
                row["shape_j"] = row["shape_k"] = value
    write_rows(manifest, rows)
    result = reassemble(str(extracted), str(tmp_path / "out"), str(manifest), progress=False)
    (skipped,) = result.skipped
    assert skipped.name == "a.nii.gz" and reason in (skipped.reason or ""), skipped.reason


def test_resampling_back_works_in_row_blocks_with_the_same_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """A resampled 1000 x 1000 plane: the same values in blocks of 7 voxels as in one block, and a
    peak of a few times the image, not the ~70x of sampling the whole plane at once."""
    import tracemalloc

    from nidataset.geometry import sampling

    image = np.random.default_rng(0).random((1000, 1000), dtype=np.float32)
    pix2vox = np.array([[0.999, 0.0, 0.0], [0.0, 0.0, 2.0], [0.0, 0.999, 0.0]])
    tracemalloc.start()
    values, covered = sampling.sample_plane(image, pix2vox, 1, (1000, 1000))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 12 * image.nbytes, peak / image.nbytes  # mostly one block of ~20 MB
    monkeypatch.setattr(sampling, "BLOCK_VOXELS", 7)
    small_values, small_covered = sampling.sample_plane(image, pix2vox, 1, (1000, 1000))
    np.testing.assert_array_equal(values, small_values)
    np.testing.assert_array_equal(covered, small_covered)
    # independently: voxel (a, b) lies at pixel (a / 0.999, b / 0.999), bilinear between its four pixels
    a, b = 500, 321
    r, c = a / 0.999, b / 0.999
    r0, c0, fr, fc = int(r), int(c), r - int(r), c - int(c)
    expected = (
        image[r0, c0] * (1 - fr) * (1 - fc)
        + image[r0, c0 + 1] * (1 - fr) * fc
        + image[r0 + 1, c0] * fr * (1 - fc)
        + image[r0 + 1, c0 + 1] * fr * fc
    )
    assert values[a, b] == pytest.approx(expected, rel=1e-6)


def test_a_large_manifest_is_held_as_columns_not_as_a_dict_per_row(extracted: Path, tmp_path: Path) -> None:
    """20,000 rows of 4,000 sources: held in less than 3x the CSV's size (a dict of strings per row: 15x)."""
    import tracemalloc

    from nidataset.reassembly.manifests import source_plan, sources_of

    rows = rows_of(extracted / "axial_manifest.csv")[:5]
    big = tmp_path / "big.csv"
    write_rows(
        big,
        [
            {**row, "source": f"c{n}.nii.gz", "path": f"c{n}/{row['path']}"}
            for n in range(4000)
            for row in rows
        ],
    )
    tracemalloc.start()
    groups = sources_of(str(big))
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert len(groups) == 4000 and held < 3 * big.stat().st_size, (held, big.stat().st_size)
    plan = source_plan("c7.nii.gz", groups["c7.nii.gz"])
    assert plan.shape == SHAPE and [s.path for s in plan.slices] == [f"c7/{row['path']}" for row in rows]
