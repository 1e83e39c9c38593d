"""The README's set-up commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import ROOT


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    return [b.strip() for b in blocks[:2]]


def test_readme_starts_with_the_demo_command_then_the_test_command():
    demo, tests = readme_commands()
    assert demo.endswith("pip install . && nidataset demo nidataset-demo")
    assert tests.endswith('pip install -e ".[test]" && python -m pytest')


def test_ci_runs_the_readme_test_command_then_the_linters():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-2] == readme_commands()[1]
    assert ci[-1] == "ruff check src tests benchmarks && ruff format --check src tests benchmarks && mypy"


def readme_python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "Client(" not in b]


def test_the_readme_python_examples_run(tmp_path, monkeypatch):
    """Every Python block but the cluster ones, on the inputs they name, writes what it says."""
    import numpy as np

    from conftest import ramp, write_volume

    monkeypatch.chdir(tmp_path)
    for folder in ("scans", "masks", "dataset/scans", "dataset/masks"):
        Path(folder).mkdir(parents=True)
        mask = (ramp((40, 48, 12)) % 7 == 0).astype(np.uint8) if "masks" in folder else None
        for number in (1, 2):
            write_volume(
                Path(folder) / f"case_{number:03d}.nii.gz", ramp((40, 48, 12)) if mask is None else mask
            )
    write_volume(Path("scan.nii.gz"), ramp((40, 48, 12)))
    blocks = readme_python_blocks()
    assert len(blocks) >= 3
    for block in blocks:
        exec(block, {"__name__": "__readme__"})
    assert len(list(Path("dataset/images").rglob("*.tif"))) == 24
    assert list(Path("dataset/labels").rglob("*.csv"))
    assert len(list(Path("out").glob("scan_axial_*.tif"))) == 12
    assert Path("extracted/images/axial_slices_stats.csv").is_file()
    assert Path("extracted/labels/axial_annotations_stats.csv").is_file()


def test_the_package_version_is_pyprojects_and_the_command_prints_it(capsys):
    import nidataset
    from nidataset.cli import main

    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    version = re.search(r'^version = "([^"]+)"$', pyproject, re.M)
    assert version and nidataset.__version__ == version.group(1)
    assert int(version.group(1).split(".")[0]) >= 1, "above nidataset 0.9.1 on the package index"
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"nidataset {version.group(1)}\n"


def test_no_description_still_says_tiff_slice_datasets():
    import nidataset
    from nidataset.cli import build_parser

    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for text in (pyproject, nidataset.__doc__ or "", build_parser().description or ""):
        assert "TIFF slice datasets" not in text
