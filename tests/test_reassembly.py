"""reassemble: slice images back into volumes from the manifest alone.

Expected values come from nibabel (the source volumes and their affines), numpy and scipy, and from
manifests written out by hand here: never from the package's own geometry.
"""

from __future__ import annotations

import csv
import logging
import multiprocessing
import pickle
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import tifffile

import nidataset
from nidataset import extract_slices_dataset, reassemble
from nidataset.cli import main
from nidataset.reassembly.options import reassembly_options

VIEWS = ("axial", "coronal", "sagittal")
ORIENTATIONS = ("stored", "radiological", "neurological")
SHAPES = {"case_0": (6, 7, 5), "case_1": (5, 4, 8), "case_2": (7, 5, 6)}
AFFINE_COLUMNS = [f"affine_{r}{c}" for r in range(3) for c in range(4)]
COLUMNS = (
    "path,source,view,orientation,slice_index,source_axis,source_index,rows,cols,pad_top,pad_left,"
    "shape_i,shape_j,shape_k,"
    + ",".join(AFFINE_COLUMNS)
    + ","
    + ",".join(f"pix2vox_{r}{c}" for r in range(3) for c in range(3))
    + ","
    + ",".join(f"pix2world_{r}{c}" for r in range(3) for c in range(3))
    + ",interpolation,value_map,dtype,qform_code,sform_code"
).split(",")


def oblique_affine(seed: int) -> np.ndarray:
    """A rotated, scaled, translated affine with a permuted, flipped dominant direction."""
    rng = np.random.default_rng(seed)
    angles = rng.uniform(0.1, 0.4, size=3)
    rotation = np.eye(3)
    for axis, angle in enumerate(angles):
        plane = [a for a in range(3) if a != axis]
        turn = np.eye(3)
        turn[np.ix_(plane, plane)] = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
        rotation = rotation @ turn
    permutation = np.eye(3)[list(rng.permutation(3))] * rng.choice([-1, 1], size=3)[:, None]
    affine = np.eye(4)
    affine[:3, :3] = rotation @ permutation @ np.diag(rng.uniform(0.5, 3.0, size=3))
    affine[:3, 3] = rng.uniform(-100, 100, size=3)
    return affine


def label_mask(shape: tuple[int, int, int], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.choice([0, 0, 0, 1, 2, 7], size=shape).astype(np.uint8)


@pytest.fixture(scope="module")
def volumes(tmp_path_factory) -> Path:
    """Two label masks and an int16 ramp (any misplaced voxel changes a value), oblique affines."""
    folder = tmp_path_factory.mktemp("volumes")
    for seed, (prefix, shape) in enumerate(SHAPES.items()):
        if prefix == "case_1":
            data = (np.arange(np.prod(shape)).reshape(shape) * 3 - 50).astype(np.int16)
        else:
            data = label_mask(shape, seed)
        nib.save(nib.Nifti1Image(data, oblique_affine(seed)), str(folder / f"{prefix}.nii.gz"))
    return folder


def source(volumes: Path, prefix: str) -> tuple[np.ndarray, np.ndarray, np.dtype]:
    image = nib.load(str(volumes / f"{prefix}.nii.gz"))
    return np.asarray(image.dataobj), image.affine, image.get_data_dtype()


def assert_same_volume(path: Path, data: np.ndarray, affine: np.ndarray, dtype: np.dtype) -> None:
    back = nib.load(str(path))
    assert back.get_data_dtype() == dtype, path
    assert back.shape == data.shape, path
    np.testing.assert_array_equal(np.asarray(back.dataobj), data, err_msg=str(path))
    np.testing.assert_array_equal(back.affine, affine, err_msg=str(path))


@pytest.mark.parametrize("orientation", ORIENTATIONS)
@pytest.mark.parametrize("target", [None, (11, 12)], ids=["unpadded", "padded"])
def test_extracted_slices_go_back_exactly(volumes, tmp_path, orientation, target):
    slices = tmp_path / "slices"
    extract_slices_dataset(
        str(volumes),
        str(slices),
        view=list(VIEWS),
        target_size=target,
        pad_value=7,  # a label value: padding pixels must be ignored, not read as voxels
        orientation=orientation,
        save_manifest=True,
        progress=False,
    )
    for view in VIEWS:
        out = tmp_path / f"back_{view}"
        result = reassemble(str(slices), str(out), str(slices / f"{view}_manifest.csv"), progress=False)
        assert result.summary() == "3 of 3 files done, 3 volumes written"
        assert [o.note for o in result.outcomes] == [None] * 3
        assert sorted(p.name for p in out.iterdir()) == [f"{p}.nii.gz" for p in SHAPES]
        for prefix in SHAPES:
            assert_same_volume(out / f"{prefix}.nii.gz", *source(volumes, prefix))


def test_view_mode_and_the_command_line(volumes, tmp_path):
    slices = tmp_path / "slices"
    extract_slices_dataset(
        str(volumes), str(slices), view="coronal", saving_mode="view", save_manifest=True, progress=False
    )
    manifest = str(slices / "coronal_manifest.csv")
    assert main(["reassemble", str(slices), str(tmp_path / "out"), "--manifest", manifest, "--quiet"]) == 0
    for prefix in SHAPES:
        assert_same_volume(tmp_path / "out" / f"{prefix}.nii.gz", *source(volumes, prefix))
    with open(tmp_path / "out" / "volumes_failed.csv", encoding="utf-8") as handle:
        assert handle.read().strip() == "FILENAME,REASON"


@pytest.fixture
def axial(volumes, tmp_path) -> Path:
    """Unpadded stored axial slices of the three volumes, with their manifest."""
    slices = tmp_path / "slices"
    extract_slices_dataset(str(volumes), str(slices), save_manifest=True, progress=False)
    return slices


def test_predictions_with_a_suffix_in_png_and_npy(volumes, axial, tmp_path):
    pil = pytest.importorskip("PIL.Image")
    predictions = tmp_path / "predictions"
    expected = {}
    for prefix in SHAPES:
        data = source(volumes, prefix)[0]
        (predictions / prefix / "axial").mkdir(parents=True)
        for k in range(data.shape[2]):
            stem = predictions / prefix / "axial" / f"{prefix}_axial_{k:03d}_pred"
            if prefix == "case_1":
                np.save(f"{stem}.npy", data[:, :, k].astype(np.float32) / 4)
            else:
                pil.fromarray(data[:, :, k] * 10).save(f"{stem}.png")
        expected[prefix] = (
            (data.astype(np.float32) / 4, np.float32) if prefix == "case_1" else (data * 10, np.uint8)
        )
    out = tmp_path / "out"
    result = reassemble(
        str(predictions), str(out), axial / "axial_manifest.csv", suffix="_pred", progress=False
    )
    assert len(result.done) == 3
    for prefix, (data, dtype) in expected.items():
        assert_same_volume(out / f"{prefix}.nii.gz", data, source(volumes, prefix)[1], np.dtype(dtype))


def test_missing_slices_get_the_fill_value_and_a_warning(volumes, axial, tmp_path, caplog):
    for k in (1, 3):
        (axial / "case_0" / "axial" / f"case_0_axial_{k:03d}.tif").unlink()
    out = tmp_path / "out"
    with caplog.at_level(logging.WARNING, logger="nidataset"):
        result = reassemble(str(axial), str(out), str(axial / "axial_manifest.csv"), fill=-1, progress=False)
    note = "incomplete case_0.nii.gz: 2 of 5 axial slices missing, filled with -1"
    assert [o.note for o in result.outcomes] == [note, None, None]
    assert [r.getMessage() for r in caplog.records if r.name.startswith("nidataset")] == [note]
    data, affine, _ = source(volumes, "case_0")
    expected = data.astype(np.int16)  # -1 does not fit uint8: the volume widens to int16
    expected[:, :, [1, 3]] = -1
    assert_same_volume(out / "case_0.nii.gz", expected, affine, np.dtype(np.int16))
    assert_same_volume(out / "case_1.nii.gz", *source(volumes, "case_1"))


def test_rows_missing_from_the_manifest_are_missing_slices(volumes, axial, tmp_path):
    manifest = tmp_path / "partial.csv"
    with open(axial / "axial_manifest.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    kept = [r for r in rows if not (r["source"] == "case_2.nii.gz" and r["slice_index"] == "0")]
    write_manifest(manifest, kept)
    result = reassemble(str(axial), str(tmp_path / "out"), str(manifest), fill=3, progress=False)
    assert result.outcomes[2].note == "incomplete case_2.nii.gz: 1 of 6 axial slices missing, filled with 3"
    data, affine, dtype = source(volumes, "case_2")
    data[:, :, 0] = 3
    assert_same_volume(tmp_path / "out" / "case_2.nii.gz", data, affine, dtype)


def write_manifest(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def broken(kind: str, slices: Path, manifest: Path) -> str:
    """Break case_1 one way; return the reason its skip must give."""
    first = slices / "case_1" / "axial" / "case_1_axial_002.tif"
    if kind == "wrong shape":
        tifffile.imwrite(first, np.zeros((4, 5), dtype=np.int16))
        return "case_1_axial_002.tif is 4x5; the manifest says 5x4"
    if kind == "unreadable":
        first.write_bytes(b"not a tiff at all")
        return "cannot read case_1_axial_002.tif"
    if kind == "two images":
        np.save(first.with_suffix(".npy"), np.zeros((5, 4), dtype=np.int16))
        return "2 images for one slice: case_1_axial_002.tif, case_1_axial_002.npy"
    with open(manifest, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    target = next(r for r in rows if r["path"].endswith("case_1_axial_003.tif"))
    if kind == "contradiction":
        target["shape_i"] = "6"
        reason = "disagree on shape_i ('5' vs '6')"
    else:  # a pix2vox that shows another stored slice than its row says
        target["pix2vox_22"] = "4"
        reason = "case_1/axial/case_1_axial_003.tif: pix2vox does not keep stored axis 2 at 3"
    write_manifest(manifest, rows)
    return reason


@pytest.mark.parametrize("kind", ["wrong shape", "unreadable", "two images", "contradiction", "pix2vox"])
def test_a_broken_source_is_skipped_and_leaves_nothing(volumes, axial, tmp_path, kind):
    manifest = axial / "axial_manifest.csv"
    reason = broken(kind, axial, manifest)
    out = tmp_path / "out"
    result = reassemble(str(axial), str(out), str(manifest), progress=False, save_failures=True)
    assert [o.name for o in result.skipped] == ["case_1.nii.gz"]
    assert reason in (result.skipped[0].reason or "")
    assert sorted(p.name for p in out.iterdir()) == ["case_0.nii.gz", "case_2.nii.gz", "volumes_failed.csv"]
    assert "1 skipped" in result.summary()


def test_the_command_line_reports_skips_with_exit_1(axial, tmp_path, capsys):
    broken("wrong shape", axial, axial / "axial_manifest.csv")
    code = main(
        ["reassemble", str(axial), str(tmp_path / "out"), "--manifest", str(axial / "axial_manifest.csv")]
    )
    assert code == 1
    captured = capsys.readouterr()
    assert "2 of 3 files done, 2 volumes written, 1 skipped" in captured.out
    assert "skipped case_1.nii.gz: case_1_axial_002.tif is 4x5" in captured.err
    with open(tmp_path / "out" / "volumes_failed.csv", encoding="utf-8") as handle:
        assert [r["FILENAME"] for r in csv.DictReader(handle)] == ["case_1.nii.gz"]


def test_png_without_pillow_fails_that_volume_with_how_to_install(axial, tmp_path, monkeypatch):
    for path in (axial / "case_2" / "axial").glob("*.tif"):
        path.rename(path.with_suffix(".png"))  # not read at all: Pillow "is missing"
    monkeypatch.setitem(__import__("sys").modules, "PIL", None)
    result = reassemble(str(axial), str(tmp_path / "out"), str(axial / "axial_manifest.csv"), progress=False)
    assert [o.name for o in result.skipped] == ["case_2.nii.gz"]
    assert result.skipped[0].reason == "reading PNG images needs Pillow: pip install pillow"


def test_jpeg_slices_with_their_manifest_reassemble(volumes, tmp_path):
    """JPEG slices are not TIFF: their shape comes from the format table's reader, not tifffile."""
    pytest.importorskip("PIL.Image")
    slices, out = tmp_path / "slices", tmp_path / "out"
    window = ["--window", "soft_tissue", "--format", "jpeg", "--save-manifest", "--quiet"]
    assert main(["slices", str(volumes), str(slices), *window]) == 0
    assert len(list(slices.rglob("*.jpg"))) == sum(shape[2] for shape in SHAPES.values())
    manifest = str(slices / "axial_manifest.csv")
    assert main(["reassemble", str(slices), str(out), "--manifest", manifest, "--quiet"]) == 0
    for prefix, shape in SHAPES.items():
        assert nib.load(str(out / f"{prefix}.nii.gz")).shape == shape  # lossy: the shape, not values
    with open(out / "volumes_failed.csv", encoding="utf-8") as handle:
        assert handle.read().strip() == "FILENAME,REASON"


def test_a_source_without_any_image_is_skipped(axial, tmp_path):
    shutil.rmtree(axial / "case_0")
    result = reassemble(str(axial), str(tmp_path / "out"), str(axial / "axial_manifest.csv"), progress=False)
    assert [o.name for o in result.skipped] == ["case_0.nii.gz"]
    assert (result.skipped[0].reason or "").startswith("no image for any of its 5 slices")


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"manifest": "missing.csv"}, FileNotFoundError, "manifest .*missing.csv' does not exist"),
        ({"slices_folder": "nowhere"}, FileNotFoundError, "slices_folder .*nowhere' does not exist"),
        ({"columns": ["pix2vox_12"]}, ValueError, "lacks the manifest columns pix2vox_12"),
        ({"columns": ["source", "affine_03"]}, ValueError, "lacks the manifest columns source, affine_03"),
        ({"rows": 0}, ValueError, "lists no slice"),
        ({"suffix": "a/b"}, ValueError, "suffix must be text"),
        ({"fill": "zero"}, ValueError, "fill must be a number; got 'zero'"),
        ({"workers": 0}, ValueError, "workers must be None"),
    ],
    ids=["no manifest", "no folder", "a column", "two columns", "no row", "suffix", "fill", "workers"],
)
def test_bad_calls_raise_before_anything_is_written(axial, tmp_path, change, error, match):
    manifest = tmp_path / "manifest.csv"
    with open(axial / "axial_manifest.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))[: change.get("rows", 100)]
    dropped = change.get("columns", [])
    with open(manifest, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=[c for c in COLUMNS if c not in dropped], extrasaction="ignore"
        )
        writer.writeheader()
        writer.writerows(rows)
    kwargs = {k: v for k, v in change.items() if k in ("suffix", "fill", "workers")}
    folder = tmp_path / change.get("slices_folder", "") if "slices_folder" in change else axial
    chosen = tmp_path / change["manifest"] if "manifest" in change else manifest
    with pytest.raises(error, match=match):
        reassemble(str(folder), str(tmp_path / "out"), str(chosen), progress=False, **kwargs)
    assert not (tmp_path / "out").exists()


def test_a_manifest_of_two_views_is_refused(axial, tmp_path):
    with open(axial / "axial_manifest.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    rows[0]["view"] = "coronal"
    write_manifest(tmp_path / "mixed.csv", rows)
    with pytest.raises(ValueError, match=r"mixes the views \['axial', 'coronal'\]"):
        reassemble(str(axial), str(tmp_path / "out"), str(tmp_path / "mixed.csv"), progress=False)


def test_the_command_line_exits_2_on_a_missing_manifest(axial, tmp_path, capsys):
    code = main(["reassemble", str(axial), str(tmp_path / "out"), "--manifest", str(tmp_path / "no.csv")])
    assert code == 2
    assert "does not exist" in capsys.readouterr().err


# --- workers and process pools ------------------------------------------------------------------


def test_two_workers_write_the_same_bytes_as_one(axial, tmp_path):
    manifest = str(axial / "axial_manifest.csv")
    reassemble(str(axial), str(tmp_path / "one"), manifest, workers=1, progress=False)
    reassemble(str(axial), str(tmp_path / "two"), manifest, workers=2, progress=False)
    for prefix in SHAPES:
        one = (tmp_path / "one" / f"{prefix}.nii.gz").read_bytes()
        assert (tmp_path / "two" / f"{prefix}.nii.gz").read_bytes() == one


def test_the_job_runs_on_a_spawned_process_pool(volumes, axial, tmp_path):
    options = reassembly_options(str(axial), str(tmp_path / "out"), str(axial / "axial_manifest.csv"))
    assert pickle.loads(pickle.dumps(options)) == options
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        result = reassemble(
            str(axial), str(tmp_path / "out"), options.manifest, executor=pool, progress=False
        )
    assert len(result.done) == 3
    for prefix in SHAPES:
        assert_same_volume(tmp_path / "out" / f"{prefix}.nii.gz", *source(volumes, prefix))


def test_each_process_reads_the_manifest_once(axial, tmp_path, monkeypatch):
    import nidataset.reassembly.manifests as manifests

    calls = []
    real = manifests.read_table
    monkeypatch.setattr(manifests, "read_table", lambda *a: calls.append(a) or real(*a))
    manifest = tmp_path / "copy.csv"  # a path no earlier test has cached
    shutil.copy(axial / "axial_manifest.csv", manifest)
    reassemble(str(axial), str(tmp_path / "out"), str(manifest), workers=3, progress=False)
    assert len(calls) == 1


def test_the_public_names(tmp_path):
    assert nidataset.reassemble is reassemble
    assert callable(nidataset.boxes_to_volume)
    assert {"reassemble", "boxes_to_volume"} <= set(dir(nidataset))


# --- resampled slices: hand-made manifests -------------------------------------------------------


def resampled_manifest(
    path: Path,
    shape: tuple[int, int, int],
    affine: np.ndarray,
    blocks: dict[int, np.ndarray],
    image_shape: tuple[int, int],
    interpolation: str = "linear",
) -> None:
    """An axial manifest whose slice k maps pixels to voxels by the 2x3 in-plane ``blocks[k]``."""
    rows = []
    for k, block in blocks.items():
        pix2vox = np.vstack([block, [0.0, 0.0, k]])
        pix2world = (affine @ np.vstack([pix2vox, [0.0, 0.0, 1.0]]))[:3]
        row = {
            "path": f"case/axial/case_axial_{k:03d}.tif",
            "source": "case.nii.gz",
            "view": "axial",
            "orientation": "stored",
            "slice_index": k,
            "source_axis": 2,
            "source_index": k,
            "rows": image_shape[0],
            "cols": image_shape[1],
            "pad_top": 0,
            "pad_left": 0,
            "shape_i": shape[0],
            "shape_j": shape[1],
            "shape_k": shape[2],
            "interpolation": interpolation,
            "value_map": "identity",
            "dtype": "float32",
        }
        row |= {c: v for c, v in zip(AFFINE_COLUMNS, affine[:3].ravel(), strict=True)}
        row |= {f"pix2vox_{r}{c}": pix2vox[r, c] for r in range(3) for c in range(3)}
        row |= {f"pix2world_{r}{c}": pix2world[r, c] for r in range(3) for c in range(3)}
        rows.append(row)
    write_manifest(path, rows)


def render(block: np.ndarray, k: int, image_shape: tuple[int, int], shape, field, pad: float) -> np.ndarray:
    """An image whose pixels inside the volume hold ``field`` at their voxel, the others ``pad``."""
    rr, cc = np.meshgrid(*map(np.arange, image_shape), indexing="ij")
    i = block[0, 0] * rr + block[0, 1] * cc + block[0, 2]
    j = block[1, 0] * rr + block[1, 1] * cc + block[1, 2]
    inside = (i >= -1e-9) & (i <= shape[0] - 1 + 1e-9) & (j >= -1e-9) & (j <= shape[1] - 1 + 1e-9)
    return np.where(inside, field(i, j, k), pad)


def linear(i, j, k):
    return 3.0 * i - 5.0 * j + 7.0 * k + 0.25


def run_resampled(
    tmp_path, shape, blocks, image_shape, field, dtype, pad=1e6, interpolation="linear"
) -> np.ndarray:
    affine = np.diag([0.75, 0.875, 2.5, 1.0])  # float32 values: a NIfTI header holds them exactly
    folder = tmp_path / "images" / "case" / "axial"
    folder.mkdir(parents=True, exist_ok=True)
    for k, block in blocks.items():
        image = render(block, k, image_shape, shape, field, pad).astype(dtype)
        tifffile.imwrite(folder / f"case_axial_{k:03d}.tif", image)
    resampled_manifest(tmp_path / "manifest.csv", shape, affine, blocks, image_shape, interpolation)
    result = reassemble(
        str(tmp_path / "images"), str(tmp_path / "out"), str(tmp_path / "manifest.csv"), progress=False
    )
    assert result.done, result.outcomes
    back = nib.load(str(tmp_path / "out" / "case.nii.gz"))
    np.testing.assert_array_equal(back.affine, affine)
    assert back.get_data_dtype() == np.dtype(dtype)
    return np.asarray(back.dataobj)


def grid(shape):
    return np.meshgrid(*map(np.arange, shape), indexing="ij")


def test_pixels_of_half_a_voxel_go_back_to_the_pixel_on_each_voxel(tmp_path):
    shape = (5, 7, 3)
    half = np.array([[0.5, 0.0, 0.0], [0.0, 0.5, 0.0]])  # row r shows voxel i = r / 2
    blocks = dict.fromkeys(range(3), half)
    back = run_resampled(tmp_path, shape, blocks, (9, 13), linear, np.float32)
    np.testing.assert_array_equal(back, linear(*grid(shape)).astype(np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.int16])
def test_pixels_of_two_voxels_are_interpolated_back(tmp_path, dtype):
    """Transposed and flipped, padded on every side; (n - 1) / 2 whole: no voxel beyond the last pixel."""
    shape = (5, 7, 2)
    # row r shows j = 2 * (r - 1); column c shows i = 4 - 2 * (c - 2): a transposed, flipped layout.
    block = np.array([[0.0, -2.0, 8.0], [2.0, 0.0, -2.0]])
    blocks = dict.fromkeys(range(2), block)
    image_shape = (6, 6)  # content rows 1..4, columns 2..4; the rest is padding
    field = linear if dtype == np.float32 else (lambda i, j, k: i + 10 * j + 100 * k)
    back = run_resampled(tmp_path, shape, blocks, image_shape, field, dtype, pad=30000)
    i, j, k = grid(shape)
    if dtype == np.float32:  # bilinear reproduces a linear field exactly
        np.testing.assert_allclose(back, linear(i, j, k), rtol=0, atol=1e-4)
    else:  # nearest; a voxel halfway between two pixels takes the one of lower index
        col, row = (4 - i) / 2 + 2, j / 2 + 1
        near_i = 4 - 2 * (np.floor(col) - 2)
        near_j = 2 * (np.floor(row) - 1)
        np.testing.assert_array_equal(back, (near_i + 10 * near_j + 100 * k).astype(np.int16))
    assert back.max() < 30000  # no padding pixel leaks in


def test_any_one_to_one_matrix_goes_back_exactly(tmp_path):
    """A sheared grid (never written by the package, but one whole voxel per pixel): still exact."""
    shape = (4, 3, 2)
    shear = np.array([[1.0, 1.0, -2.0], [0.0, 1.0, 0.0]])  # i = row + col - 2, j = col
    field = lambda i, j, k: i + 10 * j + 100 * k  # noqa: E731
    back = run_resampled(tmp_path, shape, dict.fromkeys(range(2), shear), (6, 3), field, np.int16, -1, "none")
    np.testing.assert_array_equal(back, field(*grid(shape)))


def test_voxels_past_the_last_pixel_take_the_edge_pixel(tmp_path):
    """n = 6 at 2 voxels per pixel: 3 pixels at voxels 0, 2, 4; voxel 5 lies half a pixel past the last."""
    shape = (6, 4, 1)
    block = np.array([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    back = run_resampled(tmp_path, shape, {0: block}, (3, 4), linear, np.float32)
    i, j, k = grid(shape)
    np.testing.assert_allclose(back, linear(np.minimum(i, 4), j, k), rtol=0, atol=1e-4)


def test_a_rotated_pixel_grid_is_sampled_bilinearly(tmp_path):
    """Any invertible in-plane matrix: interior voxels match scipy's bilinear interpolation."""
    from scipy.ndimage import map_coordinates

    shape = (9, 8, 1)
    angle, scale = 0.5, 0.6  # pixels of 0.6 voxels, turned by 0.5 rad
    turn = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    offset = np.array([4.0, 3.5]) - turn @ [15.0, 15.0]  # the plane's centre on pixel (15, 15)
    block = np.hstack([turn, offset[:, None]])
    image = np.random.default_rng(0).uniform(-5, 5, size=(30, 30)).astype(np.float32)
    folder = tmp_path / "images" / "case" / "axial"
    folder.mkdir(parents=True)
    tifffile.imwrite(folder / "case_axial_000.tif", image)
    resampled_manifest(tmp_path / "manifest.csv", shape, np.eye(4), {0: block}, image.shape)
    result = reassemble(
        str(tmp_path / "images"), str(tmp_path / "out"), str(tmp_path / "manifest.csv"), progress=False
    )
    back = np.asarray(nib.load(str(tmp_path / "out" / "case.nii.gz")).dataobj)[:, :, 0]
    i, j = np.meshgrid(np.arange(9), np.arange(8), indexing="ij")
    pixel = np.linalg.solve(turn, np.stack([i.ravel(), j.ravel()]) - offset[:, None])
    # a voxel is interior when the four pixels around it show the volume
    corners = [np.floor(pixel) + np.array(offset)[:, None] for offset in [(0, 0), (0, 1), (1, 0), (1, 1)]]
    interior = np.ones(i.size, dtype=bool)
    for corner in corners:
        voxel = turn @ corner + block[:, 2:]
        interior &= np.all((corner >= 0) & (corner < 30), axis=0)
        interior &= np.all((voxel >= 0) & (voxel <= np.array([[8], [7]])), axis=0)
    expected = map_coordinates(image.astype(np.float64), pixel, order=1)
    assert interior.sum() > 30
    np.testing.assert_allclose(back.ravel()[interior], expected[interior], rtol=0, atol=1e-5)
    assert result.outcomes[0].note is None  # the edge voxels too lie next to a pixel of the volume
