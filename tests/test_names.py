"""Hostile file names: bytes that are not UTF-8, and names that spreadsheets run as formulas."""

from __future__ import annotations

import csv
import html
import logging
import os
import re
from pathlib import Path
from urllib.parse import unquote_to_bytes

import pandas as pd
import pytest

from conftest import ramp, write_volume
from nidataset import extract_slices_dataset
from nidataset.cli import main

#: A Latin-1 "é": not valid UTF-8 on its own. Linux file names are bytes; Python keeps it as a surrogate.
LATIN1 = os.fsdecode(b"caf\xe9")


@pytest.fixture
def odd_names(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    write_volume(folder / f"{LATIN1}.nii.gz", ramp((7, 9, 5)))
    (folder / os.fsdecode(b"broken_\xff.nii.gz")).write_bytes(b"not a volume")
    return folder


def test_a_name_that_is_not_utf8_is_escaped_in_the_report_links_skip_lines_and_csvs(
    odd_names: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "out"
    with caplog.at_level(logging.WARNING):
        code = main(
            ["slices", str(odd_names), str(out), "--save-stats", "--save-manifest", "--preview", "--report"]
        )
    err = capsys.readouterr().err
    assert code == 1 and "error" not in err, err  # 1: one file skipped; the run and its report complete
    assert "skipped broken_\\xff.nii.gz: " in caplog.text
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "caf\\xe9.nii.gz" in page and "broken_\\xff.nii.gz" in page
    links = [html.unescape(h) for h in re.findall(r'(?:href|src)="([^"]+)"', page)]
    assert links and all((out / os.fsdecode(unquote_to_bytes(link))).exists() for link in links)
    assert any("%E9" in link for link in links)
    stats = (out / "axial_slices_stats.csv").read_text(encoding="utf-8")  # strict UTF-8
    assert stats.splitlines()[1] == "caf\\xe9.nii.gz,5,5"
    failed = list(csv.reader((out / "slices_failed.csv").open(encoding="utf-8")))
    assert failed[1][0] == "broken_\\xff.nii.gz"
    manifest = list(csv.DictReader((out / "axial_manifest.csv").open(encoding="utf-8")))
    assert {row["source"] for row in manifest} == {"caf\\xe9.nii.gz"}


FORMULAS = ["=HYPERLINK(1)", "+1", "-2", "@SUM(1)"]


def test_names_starting_like_formulas_are_neutralised_for_people_and_exact_in_the_manifest(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in FORMULAS:
        write_volume(folder / f"{name}.nii.gz", ramp((7, 9, 5)))
    (folder / "=bad.nii.gz").write_bytes(b"not a volume")
    out = tmp_path / "out"
    extract_slices_dataset(
        str(folder),
        str(out),
        view="axial",
        save_stats=True,
        save_manifest=True,
        save_failures=True,
        progress=False,
    )
    stats = pd.read_csv(out / "axial_slices_stats.csv")  # as the seed's examples read it
    assert list(stats.columns) == ["FILENAME", "NUM_SLICES", "TOTAL_SLICES"]
    assert sorted(stats["FILENAME"][:-1]) == sorted(f"'{name}.nii.gz" for name in FORMULAS)
    assert stats["FILENAME"].iloc[-1] == "TOTAL_SLICES" and stats["TOTAL_SLICES"].iloc[-1] == 20
    failed = list(csv.reader((out / "slices_failed.csv").open(encoding="utf-8")))
    assert failed[1][0] == "'=bad.nii.gz" and not failed[1][1].startswith(("=", "+", "-", "@"))
    manifest = list(csv.DictReader((out / "axial_manifest.csv").open(encoding="utf-8")))
    assert {row["source"] for row in manifest} == {f"{name}.nii.gz" for name in FORMULAS}
    for row in manifest:
        assert row["path"].startswith(row["source"][: -len(".nii.gz")] + "/")
        assert (out / row["path"]).is_file()


def test_a_plain_name_is_written_as_it_is(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    write_volume(folder / "case 1, (a).nii.gz", ramp((7, 9, 5)))
    out = tmp_path / "out"
    extract_slices_dataset(str(folder), str(out), view="axial", save_stats=True, progress=False)
    stats = pd.read_csv(out / "axial_slices_stats.csv")
    assert stats["FILENAME"].tolist() == ["case 1, (a).nii.gz", "TOTAL_SLICES"]
