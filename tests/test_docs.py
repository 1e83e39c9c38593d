"""The README and the docs pages say what the package does: their commands and examples run, their
links resolve, and the README's set-up commands are the ones CI runs."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from conftest import ROOT
from nidataset.cli import main
from nidataset.phantoms import ct_affine, ct_phantom

README = ROOT / "README.md"
DOCS = ROOT / "docs"
#: Pages whose examples run here: the README and the docs pages this test knows the inputs of.
PAGES = ["README.md", *(f"docs/{name}.md" for name in ("slices", "annotations", "reassemble", "cluster"))]


def blocks(page: str, language: str) -> list[str]:
    text = (ROOT / page).read_text(encoding="utf-8")
    return re.findall(rf"```{language}\n(.*?)```", text, re.S)


def readme_commands() -> list[str]:
    return [b.strip() for b in blocks("README.md", "bash")[:2]]


def test_readme_starts_with_the_demo_command_then_the_test_command():
    demo, tests = readme_commands()
    assert demo.endswith("pip install . && nidataset demo nidataset-demo")
    assert tests.endswith('pip install -e ".[test]" && python -m pytest')


def test_ci_runs_the_readme_test_command_then_the_linters_then_the_strict_docs_build():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    at = ci.index(readme_commands()[1])
    linted = "src tests benchmarks tools"  # mypy's files, the same folders, are in pyproject.toml
    assert ci[at + 1] == f"ruff check {linted} && ruff format --check {linted} && mypy"
    assert "mkdocs build --strict" in ci[at + 2]


def test_the_readme_is_one_page():
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 250


def relative_links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    return [t for t in targets if not re.match(r"[a-z]+:", t) and not t.startswith("#")]


def anchors(page: Path) -> set[str]:
    """The anchors MkDocs (Python-Markdown's toc) gives the page's headings."""
    headings = re.findall(
        r"^#+ (.+)$", re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S), re.M
    )
    return {
        re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", h.replace("`", "")).strip().lower()) for h in headings
    }


@pytest.mark.parametrize("page", ["README.md", *sorted(p.name for p in DOCS.glob("*.md"))])
def test_every_relative_link_resolves(page):
    path = ROOT / page if page == "README.md" else DOCS / page
    links = relative_links(path)
    if page == "README.md":
        assert len(links) >= 20
    for link in links:
        target, _, anchor = link.partition("#")
        file = (path.parent / target).resolve()
        assert file.is_file(), f"{page} links to {link}, which does not exist"
        if anchor:
            assert anchor in anchors(file), f"{page} links to {link}: no such heading"


def test_the_package_version_is_pyprojects_and_the_command_prints_it(capsys):
    import nidataset

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


def test_the_readme_installs_extras_from_the_clone():
    text = README.read_text(encoding="utf-8")
    assert 'pip install ".[dask]"' in text
    assert not re.search(
        r"pip install -?U? ?\"?nidataset[\[\"\s]", text.replace("pip install nidataset`", "")
    )


def write_inputs(page: str = "README.md") -> None:
    """CT phantoms (four cases of 40 x 48 x 12 voxels) and their label masks, in the folders the
    pages name: ``scans/``, ``masks/``, ``scan.nii.gz``, and but for the README (whose training set
    goes to ``dataset/``) ``dataset/scans/`` and ``dataset/masks/``."""
    folders = [("scans", "masks")] + ([("dataset/scans", "dataset/masks")] if page != "README.md" else [])
    for scans, masks in folders:
        Path(scans).mkdir(parents=True)
        Path(masks).mkdir(parents=True)
        for number in range(1, 5):
            volume = ct_phantom((40, 48, 12), seed=number).astype(np.int16)
            mask = (volume > 300).astype(np.uint8) + 2 * ((volume > 60) & (volume < 200)).astype(np.uint8)
            affine = ct_affine((0.8, 0.7, 2.5))
            nib.save(nib.Nifti1Image(volume, affine), f"{scans}/case_{number:03d}.nii.gz")
            nib.save(nib.Nifti1Image(mask, affine), f"{masks}/case_{number:03d}.nii.gz")
    nib.save(
        nib.Nifti1Image(ct_phantom((40, 48, 12)).astype(np.int16), ct_affine((0.8, 0.7, 2.5))), "scan.nii.gz"
    )


def pad_min_is_built() -> bool:
    """Whether ``pad_value="min"`` (SPEC Part 3, built beside this page) has landed yet."""
    from nidataset.slices import extract_slices

    try:
        extract_slices("scan.nii.gz", "pad-min-probe/", target_size=(64, 64), pad_value="min")  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


def commands(page: str) -> list[list[str]]:
    """The ``nidataset`` command lines of the page's bash blocks (the two set-up commands left out)."""
    found = []
    for block in blocks(page, "bash")[2 if page == "README.md" else 0 :]:
        for line in block.replace("\\\n", " ").splitlines():
            if line.startswith("nidataset ") and "--dask-scheduler" not in line:
                found.append(shlex.split(line.split(" #")[0])[1:])
    return found


@pytest.mark.parametrize("page", PAGES)
def test_the_commands_and_python_examples_of_a_page_run(page, tmp_path, monkeypatch, capsys):
    """Each page's command lines, then its Python blocks (but the cluster ones), in one folder of
    phantoms: every command exits 0 and every block runs."""
    monkeypatch.chdir(tmp_path)
    write_inputs(page)
    built = pad_min_is_built()
    examples = [b for b in blocks(page, "python") if "Client(" not in b]
    for argv in commands(page):
        if "min" in argv and not built:
            continue
        assert main([*argv, "--quiet"]) == 0, (argv, capsys.readouterr())
    for block in examples:
        if 'pad_value="min"' in block and not built:
            continue
        exec(block, {"__name__": "__docs__"})
    assert commands(page) or examples, f"{page} has no example left to run"


def test_the_readme_recipes_write_what_they_say(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_inputs()
    for argv in commands("README.md"):
        if "min" not in argv or pad_min_is_built():
            main([*argv, "--quiet"])
    assert len(list(Path("png").rglob("*.png"))) == 4 * 12
    assert Path("dataset/data.yaml").is_file() and list(Path("dataset/labels").rglob("*.txt"))
    for number in range(1, 5):
        back = nib.load(f"masks3d/case_{number:03d}.nii.gz")
        original = nib.load(f"masks/case_{number:03d}.nii.gz")
        assert np.array_equal(np.asarray(back.dataobj), np.asarray(original.dataobj))
        assert np.allclose(back.affine, original.affine)
    assert Path("slices-tiff/axial_slices_stats.csv").read_text(encoding="utf-8").splitlines()[-1] == (
        f"TOTAL_SLICES,{4 * 12},{4 * 12}"
    )
