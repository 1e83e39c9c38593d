"""Every Python example of the seed page runs as written and does what its comments say.

The examples are read from ``../shared/seed/extract_slices_dataset.md`` itself, so the page and the
tests cannot drift apart. Each runs in a temporary folder holding synthetic CT-like volumes.
"""

from __future__ import annotations

import re
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from conftest import SHARED, read_tiff
from nidataset.phantoms import ct_affine, ct_phantom

SEED = SHARED / "seed" / "extract_slices_dataset.md"
SHAPES = [(40, 48, 24), (44, 36, 30), (36, 40, 18), (48, 44, 20), (32, 40, 26)]
#: Imports an example forgot (the SPEC allows adding only these).
_IMPORT = "from nidataset.slices import extract_slices_dataset\n"
FORGOTTEN = {
    "With Statistics Tracking": _IMPORT,
    "Uniform Sizing with Padding": _IMPORT,
    "Custom Padding Value": _IMPORT,
    "Quality Control Workflow": "import numpy as np\n",
}


def seed_examples() -> dict[str, str]:
    """The page's runnable examples by heading: those under 'Examples' and 'Typical Workflow'."""
    text = SEED.read_text(encoding="utf-8")
    examples = {}
    runnable = text[text.index("## Examples") :]
    for match in re.finditer(
        r"^#{2,3} ([^\n]+)\n(?:(?!^#{2,3} ).)*?```python\n(.*?)```", runnable, re.S | re.M
    ):
        examples[match.group(1).strip()] = match.group(2)
    return examples


def make_volumes(folder: str, count: int = 3, *, mask: bool = False) -> list[tuple[int, int, int]]:
    """Write ``case_001...`` CT-like volumes (or label masks) into ``folder``; return their shapes."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    for number, shape in enumerate(SHAPES[:count], start=1):
        data = ct_phantom(shape, seed=number)
        if mask:
            data = (data > 500).astype(np.uint8)
        nib.save(nib.Nifti1Image(data, ct_affine((0.8, 0.8, 2.0))), f"{folder}/case_{number:03d}.nii.gz")
    return SHAPES[:count]


def run_example(title: str) -> dict[str, object]:
    namespace: dict[str, object] = {"__name__": "__seed_example__"}
    exec(FORGOTTEN.get(title, "") + seed_examples()[title], namespace)
    return namespace


def tifs(folder: str) -> list[Path]:
    return sorted(Path(folder).rglob("*.tif"))


def stats_rows(path: str) -> list[tuple[str, int]]:
    stats = pd.read_csv(path)
    return list(zip(stats["FILENAME"], stats["NUM_SLICES"], strict=True))


pytestmark = pytest.mark.skipif(not SEED.is_file(), reason="../shared/seed is not beside the project")


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def test_every_runnable_example_of_the_page_has_a_test():
    def words(text: str) -> str:
        return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()

    tested = {words(name.removeprefix("test_")) for name in globals() if name.startswith("test_")}
    for title in seed_examples():
        assert words(title) in tested, f"no test for seed example {title!r}"


def test_basic_usage_axial_slices():
    shapes = make_volumes("dataset/scans")
    run_example("Basic Usage - Axial Slices")
    assert Path("extracted/images/case_001/axial/case_001_axial_000.tif").is_file()
    for number, (_, _, z) in enumerate(shapes, start=1):
        assert len(tifs(f"extracted/images/case_{number:03d}/axial")) == z


def test_with_statistics_tracking():
    shapes = make_volumes("data/volumes")
    run_example("With Statistics Tracking")
    rows = stats_rows("data/slices/coronal_slices_stats.csv")
    assert rows[:-1] == [(f"case_{n:03d}.nii.gz", y) for n, (_, y, _) in enumerate(shapes, start=1)]
    assert rows[-1] == ("TOTAL_SLICES", sum(y for _, y, _ in shapes))
    assert len(tifs("data/slices/coronal")) == sum(y for _, y, _ in shapes)


def test_uniform_sizing_with_padding():
    make_volumes("raw_data")
    run_example("Uniform Sizing with Padding")
    files = tifs("preprocessed/padded_slices")
    assert files and all(read_tiff(f).shape == (512, 512) for f in files[::7])
    image = read_tiff(files[0])
    assert (image[:200] == 0).all() and (image[:, :200] == 0).all()  # "padded to 512x512 with zeros"
    assert Path("preprocessed/padded_slices/axial_slices_stats.csv").is_file()


def test_custom_padding_value():
    shapes = make_volumes("scans")
    run_example("Custom Padding Value")
    files = tifs("slices/sagittal")
    assert len(files) == sum(x for x, _, _ in shapes)
    image = read_tiff(files[0])
    assert image.shape == (256, 256) and image.dtype == np.int16
    assert image[0, 0] == image[-1, -1] == -1024  # air in HU, kept in the CT's own int16


def test_multi_view_extraction(capsys):
    shapes = make_volumes("volumes")
    run_example("Multi-View Extraction")
    assert capsys.readouterr().out.splitlines() == [
        f"Extracting {v} slices..." for v in ("axial", "coronal", "sagittal")
    ]
    for view, axis in (("axial", 2), ("coronal", 1), ("sagittal", 0)):
        assert len(tifs(f"multi_view_dataset/{view}")) == sum(s[axis] for s in shapes)
        assert stats_rows(f"multi_view_dataset/{view}_slices_stats.csv")[-1] == (
            "TOTAL_SLICES",
            sum(s[axis] for s in shapes),
        )


def test_complete_training_data_pipeline(capsys):
    make_volumes("data/scans")
    make_volumes("data/masks", mask=True)
    run_example("Complete Training Data Pipeline")
    assert "Training data prepared with aligned images and annotations" in capsys.readouterr().out
    assert len(tifs("training_data/images")) == sum(z for _, _, z in SHAPES[:3])
    labels = sorted(Path("training_data/labels").rglob("*.csv"))
    assert labels, "the pipeline writes annotation files"


def test_analyzing_statistics(capsys):
    shapes = make_volumes("dataset", count=5)
    run_example("Analyzing Statistics")
    counts = [z for _, _, z in shapes]
    out = capsys.readouterr().out
    assert f"Total files: {len(counts)}" in out
    assert f"Total slices: {sum(counts)}" in out
    assert f"Average slices per volume: {np.mean(counts):.1f}" in out
    assert f"Min slices: {min(counts)}" in out and f"Max slices: {max(counts)}" in out


def test_quality_control_workflow(capsys):
    shapes = make_volumes("qa/volumes")
    run_example("Quality Control Workflow")
    out = capsys.readouterr().out
    assert f"Sample case has {shapes[0][2]} slices" in out
    assert "Slice dimensions: (512, 512)" in out
    assert "Warning: Empty slice" not in out  # CT phantoms hold air at -1000, never an all-zero slice


def test_batch_processing_different_views():
    make_volumes("data/brain_scans")
    make_volumes("data/spine_scans")
    make_volumes("data/chest_scans")
    run_example("Batch Processing Different Views")
    for name, view, size in (
        ("brain", "axial", (256, 256)),
        ("spine", "sagittal", (512, 256)),
        ("chest", "coronal", (512, 512)),
    ):
        files = tifs(f"extracted/{name}/case_001/{view}")
        assert files and read_tiff(files[0]).shape == size
        assert Path(f"extracted/{name}/{view}_slices_stats.csv").is_file()


def test_creating_train_val_test_splits(capsys):
    make_volumes("all_scans", count=5)
    run_example("Creating Train/Val/Test Splits")
    assert capsys.readouterr().out.splitlines() == ["train: 3 cases", "val: 1 cases", "test: 1 cases"]
    for split, case in (("train", "case_003"), ("val", "case_004"), ("test", "case_005")):
        copied = tifs(f"dataset/{split}/{case}/axial")
        assert len(copied) == len(tifs(f"all_slices/{case}/axial")) > 0


def test_comparing_slice_counts_across_views():
    shapes = make_volumes("volumes")
    namespace = run_example("Comparing Slice Counts Across Views")
    comparison = namespace["comp_df"]
    for view, axis in (("axial", 2), ("coronal", 1), ("sagittal", 0)):
        assert comparison.loc[view, "total"] == sum(s[axis] for s in shapes)
        assert comparison.loc[view, "mean"] == pytest.approx(np.mean([s[axis] for s in shapes]))


def test_typical_workflow(capsys):
    shapes = make_volumes("dataset/medical_scans")
    run_example("Typical Workflow")
    assert f"Extracted {sum(z for _, _, z in shapes)} total slices" in capsys.readouterr().out
    assert all(read_tiff(f).shape == (512, 512) for f in tifs("dataset/extracted_slices")[::10])


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_a_seed_example_runs_as_a_script_under_any_start_method(tmp_path, method):
    """The seed's scripts have no ``if __name__ == "__main__":`` guard: the default must not need one."""
    import subprocess
    import sys

    shapes = make_volumes("dataset/scans")
    script = tmp_path / "example.py"
    script.write_text(
        f"import multiprocessing\nmultiprocessing.set_start_method({method!r}, force=True)\n"
        + seed_examples()["Basic Usage - Axial Slices"],
        encoding="utf-8",
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for number, (_, _, z) in enumerate(shapes, start=1):
        assert len(tifs(f"extracted/images/case_{number:03d}/axial")) == z
