"""Issue 14: WebDataset shards, one tar per volume and view, as trustworthy as the slice files.

Read back with Python's ``tarfile`` and with the ``webdataset`` package, a shard holds every slice's
exact bytes (those a file run writes) and its manifest row; statistics, manifests, resume, reruns and
process pools work as with files.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tarfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import tifffile

from conftest import all_files, ramp, write_volume
from nidataset import extract_slices_dataset
from nidataset.cli import main
from nidataset.io.shards import member_header

VIEWS = ["axial", "coronal", "sagittal"]


def slice_files(root: Path) -> dict[str, bytes]:
    """Every slice file of a file run, by name."""
    return {p.name: p.read_bytes() for p in sorted(root.rglob("*.tif")) if ".nidataset" not in p.parts}


def shards(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.tar") if ".nidataset" not in p.parts)


def members(shard: Path) -> list[tuple[str, bytes]]:
    with tarfile.open(shard) as archive:
        return [(m.name, archive.extractfile(m).read()) for m in archive.getmembers()]  # type: ignore[union-attr]


def manifest_rows(root: Path, view: str) -> dict[str, dict[str, str]]:
    with open(root / f"{view}_manifest.csv", newline="", encoding="utf-8") as handle:
        return {row["path"]: row for row in csv.DictReader(handle)}


def as_csv_text(value: object) -> str:
    """A JSON value as the manifest's CSV writes it."""
    return "" if value is None else str(value)


@pytest.mark.parametrize("saving_mode", ["case", "view"])
def test_shards_hold_the_file_runs_exact_bytes_and_each_slices_manifest_row(cases, tmp_path, saving_mode):
    files, tars = tmp_path / "files", tmp_path / "tars"
    common = {"view": VIEWS, "saving_mode": saving_mode, "save_stats": True, "save_manifest": True}
    extract_slices_dataset(str(cases), str(files), progress=False, **common)  # type: ignore[arg-type]
    result = extract_slices_dataset(str(cases), str(tars), container="webdataset", progress=False, **common)  # type: ignore[arg-type]
    assert result.summary() == "3 of 3 files done, 63 slices written"
    expected = slice_files(files)
    found = {}
    for shard in shards(tars):
        relative = shard.relative_to(tars).as_posix()
        prefix, view = shard.stem, shard.parent.name
        assert relative == (
            f"{prefix}/{view}/{prefix}.tar" if saving_mode == "case" else f"{view}/{prefix}.tar"
        )
        rows = manifest_rows(tars, view)
        entries = members(shard)
        assert [name.rsplit(".", 1)[1] for name, _ in entries] == ["tif", "json"] * (len(entries) // 2)
        for (image_name, image), (json_name, text) in zip(entries[::2], entries[1::2], strict=True):
            assert json_name == image_name.replace(".tif", ".json")
            found[image_name] = image
            row = json.loads(text)
            assert row["path"] == f"{relative}/{image_name}"
            assert {key: as_csv_text(value) for key, value in row.items()} == rows[row["path"]]
    assert found == expected  # every slice, byte for byte, and nothing else
    for view in VIEWS:  # the statistics are those of the file run; the manifest differs by its paths only
        assert (tars / f"{view}_slices_stats.csv").read_bytes() == (
            files / f"{view}_slices_stats.csv"
        ).read_bytes()
        assert len(manifest_rows(tars, view)) == len(manifest_rows(files, view))


def test_webdataset_reads_every_sample_with_its_image_and_row(cases, tmp_path):
    webdataset = pytest.importorskip("webdataset")
    out = tmp_path / "out"
    extract_slices_dataset(str(cases), str(out), saving_mode="view", container="webdataset", progress=False)
    urls = [str(p) for p in shards(out)]
    samples = list(webdataset.WebDataset(urls, shardshuffle=False, empty_check=False))
    assert len(samples) == 19
    files = tmp_path / "files"
    extract_slices_dataset(str(cases), str(files), saving_mode="view", progress=False)
    for sample in samples:
        image_bytes = (files / "axial" / f"{sample['__key__']}.tif").read_bytes()
        assert sample["tif"] == image_bytes
        row = json.loads(sample["json"])
        assert row["path"].endswith(f"/{sample['__key__']}.tif") and row["view"] == "axial"
        image = tifffile.imread(io.BytesIO(sample["tif"]))
        assert image.shape == (row["rows"], row["cols"])


def test_a_shard_is_what_tarfile_writes_for_the_same_members(cases, tmp_path):
    out = tmp_path / "out"
    extract_slices_dataset(str(cases), str(out), view="coronal", container="webdataset", progress=False)
    shard = out / "case_002" / "coronal" / "case_002.tar"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in members(shard):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime, info.uname, info.gname = len(data), 0o644, 0, "", ""
            archive.addfile(info, io.BytesIO(data))
    assert shard.read_bytes() == buffer.getvalue()
    assert len(member_header("é" * 120 + ".tif", 3)) > 512  # a long or non-ASCII name gets a pax header


def test_resume_trusts_complete_shards_and_redoes_a_truncated_one(cases, tmp_path):
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    options = {
        "view": ["axial", "sagittal"],
        "container": "webdataset",
        "save_stats": True,
        "progress": False,
    }
    extract_slices_dataset(str(cases), str(fresh), **options)  # type: ignore[arg-type]
    extract_slices_dataset(str(cases), str(out), **options)  # type: ignore[arg-type]
    victim = out / "case_002" / "sagittal" / "case_002.tar"
    victim.write_bytes(victim.read_bytes()[:1000])
    result = extract_slices_dataset(str(cases), str(out), resume=True, **options)  # type: ignore[arg-type]
    assert [o.reused for o in result.outcomes] == [True, False, True]
    assert all_files(out) == all_files(fresh)
    record = json.loads((out / ".nidataset" / "sagittal" / "case_002.json").read_text())
    assert record["files"] == ["case_002/sagittal/case_002.tar"]
    assert record["sizes"] == [os.path.getsize(out / "case_002" / "sagittal" / "case_002.tar")]


@pytest.mark.parametrize("first,then", [("files", "webdataset"), ("webdataset", "files")])
@pytest.mark.parametrize("saving_mode", ["case", "view"])
def test_switching_container_removes_the_other_outputs(cases, tmp_path, first, then, saving_mode):
    rerun, fresh = tmp_path / "rerun", tmp_path / "fresh"
    extract_slices_dataset(str(cases), str(rerun), saving_mode=saving_mode, container=first, progress=False)
    extract_slices_dataset(str(cases), str(rerun), saving_mode=saving_mode, container=then, progress=False)
    extract_slices_dataset(str(cases), str(fresh), saving_mode=saving_mode, container=then, progress=False)
    assert visible(rerun) == visible(fresh)


def test_a_volume_that_now_fails_leaves_no_shard(cases, tmp_path):
    out = tmp_path / "out"
    extract_slices_dataset(str(cases), str(out), saving_mode="view", container="webdataset", progress=False)
    (cases / "case_002.nii.gz").write_bytes(b"broken now")
    result = extract_slices_dataset(
        str(cases), str(out), saving_mode="view", container="webdataset", progress=False
    )
    assert [o.name for o in result.skipped] == ["case_002.nii.gz"]
    assert sorted(p.name for p in (out / "axial").iterdir()) == ["case_001.tar", "case_003.tar"]


def test_shards_from_a_process_pool_equal_those_of_one_thread(cases, tmp_path):
    with ProcessPoolExecutor(2) as pool:
        extract_slices_dataset(
            str(cases),
            str(tmp_path / "pool"),
            view=VIEWS,
            container="webdataset",
            executor=pool,
            progress=False,
        )
    extract_slices_dataset(str(cases), str(tmp_path / "one"), view=VIEWS, container="webdataset", workers=1)
    assert all_files(tmp_path / "pool") == all_files(tmp_path / "one")


def test_a_reversed_streamed_view_holds_every_slice_once(tmp_path):
    """Radiological axial slices of a volume stored superior to inferior are streamed from the far end."""
    folder = tmp_path / "in"
    folder.mkdir()
    write_volume(folder / "flipped.nii.gz", ramp((6, 5, 40)))
    import nibabel as nib

    image = nib.load(str(folder / "flipped.nii.gz"))
    nib.save(
        nib.Nifti1Image(np.asarray(image.dataobj), np.diag([1.0, 1.0, -1.0, 1.0])),
        str(folder / "flipped.nii.gz"),
    )
    out, files = tmp_path / "out", tmp_path / "files"
    for root, container in ((out, "webdataset"), (files, "files")):
        extract_slices_dataset(
            str(folder), str(root), orientation="radiological", container=container, progress=False
        )  # type: ignore[arg-type]
    entries = dict(members(out / "flipped" / "axial" / "flipped.tar"))
    assert {name: data for name, data in entries.items() if name.endswith(".tif")} == slice_files(files)


def test_input_names_with_a_dot_are_refused_before_anything_is_written(cases, tmp_path):
    write_volume(cases / "case.v2.nii.gz", ramp())
    with pytest.raises(
        ValueError, match=r"container='webdataset' needs input names without a dot .*case\.v2\.nii\.gz"
    ):
        extract_slices_dataset(str(cases), str(tmp_path / "out"), container="webdataset", progress=False)
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match=r"container must be one of 'files', 'webdataset'; got 'tar'"):
        extract_slices_dataset(str(cases), str(tmp_path / "out"), container="tar", progress=False)  # type: ignore[arg-type]


def test_the_command_line_writes_shards(cases, tmp_path, capsys):
    out = tmp_path / "out"
    assert (
        main(
            [
                "slices",
                str(cases),
                str(out),
                "--container",
                "webdataset",
                "--view",
                "axial,coronal",
                "--quiet",
            ]
        )
        == 0
    )
    assert [p.relative_to(out).as_posix() for p in shards(out)] == [
        f"case_{n:03d}/{view}/case_{n:03d}.tar" for n in (1, 2, 3) for view in ("axial", "coronal")
    ]
    assert not list(out.rglob("*.tif"))


def visible(root: Path) -> dict[str, bytes]:
    """Every file but the hidden records and the report."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".nidataset" not in p.parts and p.name != "report.html"
    }
