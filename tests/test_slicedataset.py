"""SliceDataset: the arrays equal the decoded files build_dataset writes, for the builder tests' options.

Expected arrays are the files ``build_dataset`` wrote, decoded by tifffile, Pillow or OpenCV; expected
volumes for the round trip come from nibabel. Never from the dataset's own code.
"""

from __future__ import annotations

import csv
import gzip
import itertools
import multiprocessing
import os
import pickle
import time
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pytest
import tifffile
from PIL import Image

from conftest import read_tiff
from nidataset import SliceDataset, build_dataset, reassemble
from test_training import AFFINE, VIEWS, phantom

#: Whether the platform has the anonymous shared memory the up-front pass keeps volumes in (Linux).
MEMFD = hasattr(os, "memfd_create")
linux_only = pytest.mark.skipif(not MEMFD, reason="shared memory (memfd) is Linux only")

#: build_dataset's options as tests/test_training.py's builder tests use them (no split: SliceDataset
#: has none), with the image format the files are decoded from.
COMBINATIONS: dict[str, dict[str, Any]] = {
    "stored-3views": {"view": list(VIEWS)},
    "stored-target": {"view": list(VIEWS), "target_size": (30, 30)},
    "stored-isotropic": {"view": list(VIEWS), "spacing": "isotropic"},
    "radiological-3views": {"view": list(VIEWS), "orientation": "radiological"},
    "radiological-target": {"view": list(VIEWS), "orientation": "radiological", "target_size": (30, 30)},
    "radiological-isotropic": {"view": list(VIEWS), "orientation": "radiological", "spacing": "isotropic"},
    "radiological-32": {
        "view": ["axial", "sagittal"],
        "orientation": "radiological",
        "target_size": (32, 32),
    },
    "coronal-png-brain": {
        "view": "coronal",
        "target_size": (30, 16),
        "image_format": "png",
        "window": "brain",
    },
    "labelled": {"view": "axial", "select": "labelled"},
    "labelled-2": {"view": "axial", "select": ("labelled", 2)},
    "range": {"view": "coronal", "select": (2, 18, 3)},
    "context-8": {"view": "sagittal", "window": "brain", "image_format": "png", "context": 1},
    "context-16-tiff": {"view": "sagittal", "window": "brain", "bits": 16, "context": 1},
    "context-tiff-pad-min": {"view": "axial", "context": 1, "target_size": (30, 30)},
    "pad-0": {"view": "coronal", "target_size": (30, 30), "pad_value": 0.0},
    "auto-png16": {"view": ["axial", "coronal"], "window": "auto", "bits": 16, "image_format": "png"},
    "rgb-windows": {"view": ["axial", "sagittal"], "window": ("brain", "subdural", "bone")},
    "spacing-1mm-pad": {"view": "axial", "spacing": 1.0, "target_size": (40, 40), "pad_value": -100.0},
}


@pytest.fixture
def pairs(tmp_path: Path) -> tuple[Path, Path]:
    images, masks = tmp_path / "images_in", tmp_path / "masks_in"
    images.mkdir()
    masks.mkdir()
    for seed in range(3):
        image, mask = phantom(seed)
        nib.save(nib.Nifti1Image(image, AFFINE), str(images / f"case_{seed}_0000.nii.gz"))
        nib.save(nib.Nifti1Image(mask, AFFINE), str(masks / f"case_{seed}.nii.gz"))
    mask = phantom(0)[1].astype(np.int16)
    mask[0, 0, 0], mask[1, 1, 1] = 300, -4  # a uint16 mask image on one slice, a negative label
    nib.save(nib.Nifti1Image(mask, AFFINE), str(masks / "case_0.nii.gz"))
    return images, masks


def decoded(path: Path) -> np.ndarray:
    """The file as a reader outside the package gives it; RGB channels first."""
    if path.suffix == ".tif":
        data = tifffile.imread(path)  # Pillow narrows 16-bit RGB: it checks the others
        if data.ndim == 2 or data.dtype == np.uint8:
            data = read_tiff(path)
    else:
        import cv2  # 16-bit RGB PNG, which Pillow narrows to 8 bits

        data = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if data.ndim == 3:
            data = data[..., ::-1]  # OpenCV gives BGR
        with Image.open(path) as image:
            if data.ndim == 2:
                np.testing.assert_array_equal(np.asarray(image), data)
    return np.moveaxis(data, -1, 0) if data.ndim == 3 else data


def manifest_rows(out: Path, views: list[str]) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for view in views:
        with open(out / f"{view}_manifest.csv", encoding="utf-8") as handle:
            rows += list(csv.DictReader(handle))
    return rows


def same_array(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    assert actual.dtype == expected.dtype and actual.shape == expected.shape, what
    assert actual.tobytes() == expected.tobytes(), what


@pytest.mark.parametrize(("access", "shared"), [("volumes", True), ("volumes", False), ("seek", False)])
@pytest.mark.parametrize("options", list(COMBINATIONS.values()), ids=list(COMBINATIONS))
def test_every_sample_is_the_decoded_file_and_its_manifest_row(pairs, tmp_path, options, access, shared):
    out = tmp_path / "out"
    result = build_dataset(*map(str, pairs), str(out), labels=("masks",), progress=False, **options)
    assert not result.skipped
    ds = SliceDataset(
        *pairs,
        **{k: v for k, v in options.items() if k != "image_format"},
        image_format=options.get("image_format", "tiff"),
        access=access,
        shared_memory=shared,
    )
    assert (ds.shared_bytes > 0) == (shared and MEMFD)
    views = [options["view"]] if isinstance(options["view"], str) else options["view"]
    rows = manifest_rows(out, views)
    assert len(ds) == len(rows) > 0
    for number, row in enumerate(rows):
        got = ds[number]
        assert {key: str(value) for key, value in got["meta"].items()} == row
        same_array(got["image"], decoded(out / row["path"]), row["path"])
        mask_path = out / "masks" / Path(row["path"]).relative_to("images")
        mask_path = mask_path.with_suffix(".tif" if mask_path.suffix == ".tif" else ".png")
        same_array(got["mask"], decoded(mask_path), str(mask_path))
    ds.manifest(tmp_path / "again")
    for view in views:
        name = f"{view}_manifest.csv"
        assert (tmp_path / "again" / name).read_bytes() == (out / name).read_bytes()


def test_images_alone_and_negative_indices(pairs):
    ds = SliceDataset(pairs[0], view="coronal")
    assert len(ds) == 3 * 20 and ds[-1]["mask"] is None
    np.testing.assert_array_equal(ds[-1]["image"], ds[len(ds) - 1]["image"])
    assert ds[-1]["meta"]["slice_index"] == 19 and ds[0]["meta"]["source"] == "case_0_0000.nii.gz"
    with pytest.raises(IndexError):
        ds[len(ds)]
    with pytest.raises(ValueError, match="select='labelled' needs the masks"):
        SliceDataset(pairs[0], select="labelled")


def test_a_sample_never_aliases_the_cache(pairs):
    ds = SliceDataset(*pairs)
    first = ds[3]["image"]
    first[:] = 0
    assert ds[3]["image"].any()


def test_bad_pairs_are_listed_up_front_with_the_builders_reasons(pairs, tmp_path):
    images, masks = pairs
    image, mask = phantom(1)
    nib.save(nib.Nifti1Image(image, AFFINE), str(images / "broken.nii.gz"))
    nib.save(nib.Nifti1Image(mask, AFFINE), str(masks / "broken.nii.gz"))
    data = (images / "broken.nii.gz").read_bytes()
    (images / "broken.nii.gz").write_bytes(data[: len(data) // 2])  # truncated in the voxels
    nib.save(nib.Nifti1Image(image, AFFINE), str(images / "lonely.nii.gz"))
    nib.save(nib.Nifti1Image(mask[:, :, :-1], AFFINE), str(masks / "case_9.nii.gz"))
    nib.save(nib.Nifti1Image(image, AFFINE), str(images / "case_9.nii.gz"))
    result = build_dataset(str(images), str(masks), str(tmp_path / "out"), progress=False)
    ds = SliceDataset(images, masks)
    expected = sorted((o.name, o.reason) for o in result.skipped)
    assert ds.failures == expected
    assert {name for name, _ in ds.failures} == {"broken.nii.gz", "lonely.nii.gz", "case_9.nii.gz"}
    assert any(reason.startswith("truncated") for _, reason in ds.failures)
    assert len(ds) == 3 * 12 and all(ds[i]["image"].shape == (24, 20) for i in range(len(ds)))


def _samples(ds: SliceDataset, items: list[int]) -> list[tuple[bytes, bytes, str]]:
    """What a worker process hands back: the samples' bytes and paths (the dataset came pickled)."""
    return [
        (s["image"].tobytes(), s["mask"].tobytes(), str(s["meta"]["path"]))
        for s in map(ds.__getitem__, items)
    ]


@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_two_worker_processes_give_the_samples_of_one(pairs, method, shared):
    ds = SliceDataset(
        *pairs, view=["axial", "sagittal"], window="brain", cache_bytes=1 << 20, shared_memory=shared
    )
    order = list(np.random.default_rng(0).permutation(len(ds)))
    alone = _samples(ds, order)
    ds[0]  # a cache in the parent is not sent along
    state = pickle.dumps(ds)
    assert len(state) < 100_000 and pickle.loads(state).cache.nbytes == 0
    with multiprocessing.get_context(method).Pool(2) as pool:
        halves = pool.starmap(_samples, [(ds, order[0::2]), (ds, order[1::2])])
    together = [None] * len(order)
    together[0::2], together[1::2] = halves
    assert together == alone


def test_the_cache_keeps_to_its_budget(pairs):
    volume_bytes = 24 * 20 * 12 * (2 + 2)  # int16 voxels and uint16 labels (case_0 has a label 300)
    ds = SliceDataset(*pairs, cache_bytes=volume_bytes, access="volumes", shared_memory=False)
    for item in range(len(ds)):
        ds[item]
        assert ds.cache.nbytes <= volume_bytes
    assert ds.cache.misses == 3  # in order, each volume is read once
    ds = SliceDataset(*pairs, cache_bytes=0, access="volumes")
    assert ds.shared_bytes == 0  # nothing kept either
    ds[0], ds[1]
    assert ds.cache.nbytes == 0 and ds.cache.misses == 2


def test_predictions_go_back_to_volumes_through_the_manifest(pairs, tmp_path):
    ds = SliceDataset(*pairs, view="sagittal", orientation="radiological", target_size=(32, 32))
    predictions = tmp_path / "predictions"
    for item in range(len(ds)):
        sample = ds[item]
        path = predictions / Path(sample["meta"]["path"]).with_suffix(".npy")
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, sample["mask"])
    (manifest,) = ds.manifest(predictions)
    reassemble(str(predictions), str(tmp_path / "volumes"), manifest, progress=False)
    for seed in range(3):
        back = nib.load(str(tmp_path / "volumes" / f"case_{seed}.nii.gz"))  # named after the case
        original = nib.load(str(pairs[1] / f"case_{seed}.nii.gz"))
        np.testing.assert_array_equal(np.asarray(back.dataobj), np.maximum(np.asarray(original.dataobj), 0))
        np.testing.assert_allclose(back.affine, original.affine)


def test_boxes_go_back_to_voxels_through_the_manifest(pairs, tmp_path):
    from nidataset import boxes_to_volume

    ds = SliceDataset(*pairs, view="coronal", orientation="radiological", target_size=(30, 16))
    (manifest,) = ds.manifest(tmp_path)
    item = next(i for i in range(len(ds)) if (ds[i]["mask"] == 1).any())
    sample = ds[item]
    rows, cols = np.nonzero(sample["mask"] == 1)
    box = {
        "path": sample["meta"]["path"],
        "X_MIN": cols.min(),
        "Y_MIN": rows.min(),
        "X_MAX": cols.max(),
        "Y_MAX": rows.max(),
    }
    (found,) = boxes_to_volume([box], manifest)
    mask = np.asarray(nib.load(str(pairs[1] / sample["meta"]["source"].replace("_0000", ""))).dataobj)
    on_slice = np.argwhere(mask == 1)
    meta = sample["meta"]
    on_slice = on_slice[on_slice[:, meta["source_axis"]] == meta["source_index"]]
    assert [found[name] for name in ("X_MIN", "Y_MIN", "Z_MIN")] == on_slice.min(axis=0).tolist()
    assert [found[name] for name in ("X_MAX", "Y_MAX", "Z_MAX")] == on_slice.max(axis=0).tolist()


def test_a_truncated_gzip_member_is_one_reason_not_a_crash(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    image = np.arange(6 * 7 * 8, dtype=np.int16).reshape(6, 7, 8)
    nib.save(nib.Nifti1Image(image, np.eye(4)), str(folder / "good.nii.gz"))
    raw = gzip.compress(nib.Nifti1Image(image, np.eye(4)).to_bytes())
    (folder / "cut.nii.gz").write_bytes(raw[:-12])
    ds = SliceDataset(folder)
    assert [name for name, _ in ds.failures] == ["cut.nii.gz"] and len(ds) == 8


@pytest.mark.parametrize("members", [1, 3])
def test_seek_points_give_the_bytes_of_a_full_decompression(tmp_path, members):
    from nidataset.sliceset.seekpoints import GzipIndex

    data = np.random.default_rng(0).integers(0, 40, 3_000_000, dtype=np.uint8).tobytes()
    cuts = np.linspace(0, len(data), members + 1).astype(int)
    path = tmp_path / "data.gz"
    path.write_bytes(b"".join(gzip.compress(data[a:b]) for a, b in itertools.pairwise(cuts)) + b"\0" * 8)
    index = GzipIndex(str(path), spacing=200_000)
    assert index.size == len(data) and len(index.points) >= 15
    for number, point in enumerate(index.points):  # each the first position past its mark
        assert number * 200_000 <= point.produced < number * 200_000 + (1 << 16)
    rng = np.random.default_rng(1)
    for start in [0, *rng.integers(0, len(data), 30), len(data) - 5, 1_000_000, 999_990]:
        size = int(rng.integers(1, 300_000))
        assert index.read(int(start), size) == data[start : start + size], (start, size)
    assert b"".join(index.read(n, 70_000) for n in range(0, len(data), 70_000)) == data  # in order


def test_seek_reads_keep_only_seek_points_in_the_cache(pairs):
    small = SliceDataset(*pairs, view=["axial", "coronal"], cache_bytes=40_000)  # 52 KB of pairs
    record = small._records[0]
    assert small._seeks(record, 0) and not small._seeks(record, 1)  # coronal slices need whole volumes
    assert not SliceDataset(*pairs, cache_bytes=60_000)._seeks(record, 0)  # all fit: whole volumes
    ds = SliceDataset(*pairs, view="axial", cache_bytes=1 << 20, access="seek")
    for item in np.random.default_rng(0).permutation(len(ds)):
        ds[int(item)]
    assert ds.cache.misses == 3 and sorted(ds.cache.keys()) == [("seek", n) for n in range(3)]


def test_the_guide_examples_run(tmp_path, monkeypatch):
    """docs/slice-dataset.md's Python blocks (all but the PyTorch one) run and print what they say."""
    import contextlib
    import io
    import re

    from conftest import ROOT

    text = (ROOT / "docs" / "slice-dataset.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "import torch" not in b]
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__guide__"}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for block in blocks:
            exec(block, namespace)
    said = [line.split("# ")[1] for line in blocks[0].splitlines() if line.startswith("print(")]
    assert printed.getvalue().splitlines() == said
    assert len(list((tmp_path / "volumes").glob("*.nii.gz"))) == 2


def test_workers_sharing_a_folder_decode_each_volume_once_and_it_goes_with_the_dataset(pairs, tmp_path):
    import gc

    shared = tmp_path / "shm"
    shared.mkdir()
    ds = SliceDataset(
        *pairs, view=["axial", "sagittal"], window="brain", share_folder=shared, shared_memory=False
    )
    order = list(np.random.default_rng(0).permutation(len(ds)))
    alone = _samples(SliceDataset(*pairs, view=["axial", "sagittal"], window="brain"), order)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        halves = pool.starmap(_samples, [(ds, order[0::2]), (ds, order[1::2])])
    together = [None] * len(order)
    together[0::2], together[1::2] = halves
    assert together == alone
    (folder,) = shared.iterdir()
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(
        f"{n}-{v}.{k}.npy" for n in range(3) for v in range(2) for k in ("image", "labels")
    )
    assert _samples(ds, order) == alone  # this process maps them too
    del ds
    gc.collect()
    assert not folder.exists()


def test_a_shared_folder_full_or_locked_by_a_dead_worker_falls_back_to_private_copies(pairs, tmp_path):
    ds = SliceDataset(
        *pairs, share_folder=tmp_path / "shm", cache_bytes=1 << 20, access="volumes", shared_memory=False
    )
    folder = Path(ds._share_path)
    folder.mkdir(parents=True)
    (folder / "other.npy").write_bytes(b"\0" * (1 << 20))  # the folder's budget is taken
    expected = SliceDataset(*pairs)
    for item in (0, 1, 2):
        np.testing.assert_array_equal(ds[item]["image"], expected[item]["image"])
    assert sorted(p.name for p in folder.iterdir()) == ["other.npy"] and ds.cache.misses == 1
    ds = SliceDataset(*pairs, share_folder=tmp_path / "shm", shared_memory=False)
    folder = Path(ds._share_path)
    folder.mkdir(parents=True)
    dead = multiprocessing.get_context("spawn").Process(target=int)
    dead.start()
    dead.join()
    (folder / "0-0.lock").write_text(str(dead.pid))
    start = time.monotonic()
    np.testing.assert_array_equal(ds[0]["mask"], expected[0]["mask"])
    assert time.monotonic() - start < 5


def _as_list(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return samples


@pytest.mark.parametrize("share", [False, True])
@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_torch_dataloader_with_two_workers_gives_the_samples_of_one(pairs, tmp_path, method, share):
    """Run where PyTorch is installed (it is not in the test extra)."""
    data = pytest.importorskip("torch.utils.data")
    folder = tmp_path / "shm" if share else None
    ds = SliceDataset(
        *pairs,
        view=["axial", "coronal"],
        window="brain",
        context=1,
        share_folder=folder,
        shared_memory=not share,
    )
    loader = data.DataLoader(
        ds, batch_size=5, num_workers=2, collate_fn=_as_list, multiprocessing_context=method
    )
    got = [(s["image"].tobytes(), s["mask"].tobytes(), s["meta"]["path"]) for batch in loader for s in batch]
    assert got == _samples(ds, list(range(len(ds))))
    assert ds[0]["image"].shape == (3, 24, 20)
    if share:  # the workers left every view of every pair there, once
        assert len(list(Path(ds._share_path).glob("*.image.npy"))) == 3 * 2


def test_label_names_name_every_value_the_masks_hold(pairs):
    ds = SliceDataset(*pairs, label_names={1: "liver", 5: "spleen"})
    assert ds.label_names == {1: "liver", 2: "label_2", 5: "spleen", 300: "label_300"}


def test_a_worker_waiting_for_a_claimed_volume_decodes_an_unclaimed_one(tmp_path, monkeypatch):
    import os

    from nidataset.sliceset import shared

    monkeypatch.setattr(shared, "WAIT_SECONDS", 0.3)
    store = shared.SharedVolumes(str(tmp_path), 1 << 20)
    (tmp_path / "a.lock").write_text(str(os.getpid()))  # claimed by a process that is alive
    mine = (np.arange(6, dtype=np.int16), None)
    spare = [("a", lambda: mine), ("b", lambda: (np.ones(3, np.uint8), np.zeros(3, np.uint8)))]
    got, mapped = store.get("a", lambda: mine, lambda: iter(spare))
    assert got is mine and not mapped  # the holder never finished: decoded here after the wait
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.lock", "b.image.npy", "b.labels.npy"]
    (image, labels), mapped = store.get("b", lambda: mine)
    assert mapped and image.tolist() == [1, 1, 1] and labels.tolist() == [0, 0, 0]


def test_a_volume_replaced_after_the_dataset_was_made_is_named(pairs):
    from nidataset.errors import VolumeError

    kept = SliceDataset(*pairs, access="volumes")
    ds = SliceDataset(*pairs, access="volumes", shared_memory=False)
    expected = ds[12]["image"]
    ds.cache.clear()
    image = phantom(1)[0][:, :, :-1]
    nib.save(nib.Nifti1Image(image, AFFINE), str(pairs[0] / "case_1_0000.nii.gz"))
    with pytest.raises(VolumeError, match=r"case_1_0000\.nii\.gz changed since the dataset read it"):
        ds[12]
    np.testing.assert_array_equal(kept[12]["image"], expected)  # what the dataset read, kept


def _misses(ds: SliceDataset, items: list[int]) -> tuple[list[tuple[bytes, bytes, str]], int]:
    """A worker's samples and the volumes it had to decode itself."""
    return _samples(ds, items), ds.cache.misses


@linux_only
def test_workers_map_the_volumes_the_up_front_pass_kept_and_decode_none(pairs):
    ds = SliceDataset(*pairs, view=["axial", "sagittal"], window="brain")
    assert ds.shared_bytes == 3 * 24 * 20 * 12 * 2 + 2 * 24 * 20 * 12 + 24 * 20 * 12 * 2  # case_0: uint16
    order = list(np.random.default_rng(0).permutation(len(ds)))
    alone = _samples(
        SliceDataset(*pairs, view=["axial", "sagittal"], window="brain", shared_memory=False), order
    )
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        (first, decoded_first), (second, decoded_second) = pool.starmap(
            _misses, [(ds, order[0::2]), (ds, order[1::2])]
        )
    together = [None] * len(order)
    together[0::2], together[1::2] = first, second
    assert together == alone
    assert decoded_first == decoded_second == 3  # the sagittal views' slice-major copies only, no decoding


@linux_only
def test_shared_memory_within_the_budget_in_file_order_and_gone_with_the_dataset(pairs):
    import gc

    pair_bytes = 24 * 20 * 12 * 3  # int16 voxels, uint8 labels
    ds = SliceDataset(*pairs, cache_bytes=2 * pair_bytes + 24 * 20 * 12 + 128)  # case_0: int16 labels
    assert [r.decoded is not None for r in ds._records] == [True, True, False]
    assert ds.shared_bytes == 24 * 20 * 12 * 4 + pair_bytes
    expected = SliceDataset(*pairs, shared_memory=False)
    for item in range(len(ds)):
        np.testing.assert_array_equal(ds[item]["image"], expected[item]["image"])
        np.testing.assert_array_equal(ds[item]["mask"], expected[item]["mask"])
    memory = ds._records[0].decoded[0].memory
    path = f"/proc/self/fd/{memory.fd}"
    assert os.readlink(path).startswith("/memfd:nidataset-slices")  # in no file system: never left behind
    del ds, memory
    gc.collect()
    assert not [name for name in _open_files() if "nidataset-slices" in name]  # the map's own one too


def _open_files() -> list[str]:
    import contextlib

    names = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor is gone already
            names.append(os.readlink(f"/proc/self/fd/{fd}"))
    return names


@linux_only
def test_a_process_that_cannot_map_the_kept_volumes_decodes_them(pairs):
    ds = SliceDataset(*pairs)
    copy = pickle.loads(pickle.dumps(ds))
    copy._records[0].decoded[0].memory.identity = (0, 0)  # as if another file had the descriptor's number
    assert copy._records[0].decoded[0].array() is None
    for item in (0, 13, 30):
        np.testing.assert_array_equal(copy[item]["image"], ds[item]["image"])
    assert copy.cache.misses == 3


def test_no_shared_memory_to_be_had_is_no_reason_to_skip_a_pair(pairs, monkeypatch):
    from nidataset.sliceset import memory

    def full(self, offset, array):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(memory.SharedMemory, "put", full)
    ds = SliceDataset(*pairs)
    assert ds.failures == [] and ds.shared_bytes == 0 and len(ds) == 3 * 12
    np.testing.assert_array_equal(ds[5]["image"], SliceDataset(*pairs, shared_memory=False)[5]["image"])
