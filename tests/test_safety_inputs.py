"""Issue 13: inputs that would mix outputs on another disk, odd suffixes and names, junk after gzip."""

from __future__ import annotations

import gzip
import os
import re
from pathlib import Path

import pytest

from conftest import SHAPE, nifti_bytes, ramp
from nidataset import extract_slices_dataset
from nidataset.cli import main

GOOD = nifti_bytes(ramp())


def folder_of(tmp_path: Path, names: list[str]) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in names:
        data = gzip.compress(GOOD) if name.lower().endswith(".gz") else GOOD
        (folder / name).write_bytes(data)
    return folder


# --- finding 4: prefixes equal on a case-insensitive or normalising disk -------------------------------


@pytest.mark.parametrize(
    "names",
    [
        ["Case01.nii.gz", "case01.nii.gz"],
        ["CASE01.nii", "case01.nii.gz"],
        ["caf\u00e9.nii.gz", "cafe\u0301.nii.gz"],  # é composed (NFC) and decomposed (NFD, as macOS writes)
        ["Caf\u00e9.nii.gz", "CAFE\u0301.nii"],
        ["stra\u00dfe.nii.gz", "STRASSE.nii.gz"],  # case folding, not just lower()
    ],
    ids=["case", "case-and-suffix", "nfc-nfd", "case-and-nfd", "casefold"],
)
def test_prefixes_equal_on_a_case_insensitive_disk_raise_before_anything_is_written(
    tmp_path: Path, names: list[str]
) -> None:
    folder = folder_of(tmp_path, [*names, "other.nii.gz"])
    with pytest.raises(ValueError, match=r"differ only in case or Unicode normalisation.*rename one of them"):
        extract_slices_dataset(str(folder), str(tmp_path / "out"), progress=False)
    assert not (tmp_path / "out").exists()


def test_the_command_line_refuses_them_with_exit_2(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    folder = folder_of(tmp_path, ["Case01.nii.gz", "case01.nii.gz"])
    assert main(["slices", str(folder), str(tmp_path / "out")]) == 2
    assert (
        "'Case01.nii.gz' and 'case01.nii.gz' have prefixes 'Case01' and 'case01'" in capsys.readouterr().err
    )


def test_distinct_prefixes_with_accents_and_case_are_still_taken(tmp_path: Path) -> None:
    folder = folder_of(tmp_path, ["caf\u00e9.nii.gz", "cafe.nii.gz", "Case01.nii.gz", "case02.nii.gz"])
    result = extract_slices_dataset(str(folder), str(tmp_path / "out"), progress=False)
    assert result.summary() == f"4 of 4 files done, {4 * SHAPE[2]} slices written"


# --- upper-case suffixes --------------------------------------------------------------------------------


def test_upper_case_suffixes_are_inputs(tmp_path: Path) -> None:
    folder = folder_of(tmp_path, ["A.NII.GZ", "b.Nii", "c.nii.GZ", "d.nii.gz"])
    result = extract_slices_dataset(str(folder), str(tmp_path / "out"), progress=False)
    assert [o.name for o in result.done] == ["A.NII.GZ", "b.Nii", "c.nii.GZ", "d.nii.gz"]
    for prefix in ("A", "b", "c", "d"):
        assert len(list((tmp_path / "out" / prefix / "axial").glob(f"{prefix}_axial_*.tif"))) == SHAPE[2]


@pytest.mark.parametrize("names", [["a.nii", "a.NII.GZ"], ["a.NII", "a.nii.gz"]])
def test_the_same_prefix_is_refused_whatever_the_suffixes_case(tmp_path: Path, names: list[str]) -> None:
    folder = folder_of(tmp_path, names)
    with pytest.raises(ValueError, match=r"have the same prefix 'a'"):
        extract_slices_dataset(str(folder), str(tmp_path / "out"), progress=False)


def test_an_image_with_an_upper_case_suffix_is_found_for_its_mask(tmp_path: Path) -> None:
    from nidataset.io.volumes import find_volume

    folder = folder_of(tmp_path, ["scan.NII.GZ", "other.nii"])
    assert find_volume(str(folder), "scan") == str(folder / "scan.NII.GZ")
    assert find_volume(str(folder), "other") == str(folder / "other.nii")
    assert find_volume(str(folder), "SCAN") is None and find_volume(str(folder), "none") is None


# --- names with control characters -----------------------------------------------------------------------


def test_a_name_with_a_newline_is_one_escaped_line_in_the_skip_report(tmp_path: Path, capfd) -> None:  # type: ignore[no-untyped-def]
    folder = folder_of(tmp_path, ["good.nii.gz"])
    hostile = ["bad\nskipped fake.nii.gz: forged line.nii", "esc\x1b[31mred.nii", "tab\there.nii"]
    for name in hostile:
        (folder / name).write_bytes(b"not a volume")
    result = extract_slices_dataset(str(folder), str(tmp_path / "out"), save_failures=True)
    err = capfd.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("skipped ")]
    assert sorted(lines) == sorted(
        [
            "skipped bad\\nskipped fake.nii.gz: forged line.nii: not a NIfTI file "
            "(no NIfTI-1 or NIfTI-2 header size at its start)",
            "skipped esc\\x1b[31mred.nii: not a NIfTI file (no NIfTI-1 or NIfTI-2 header size at its start)",
            "skipped tab\\there.nii: not a NIfTI file (no NIfTI-1 or NIfTI-2 header size at its start)",
        ]
    )
    assert "\x1b" not in err
    assert sorted(o.name for o in result.skipped) == sorted(hostile)  # the result keeps the real names


# --- junk after a complete gzip stream --------------------------------------------------------------------


@pytest.mark.parametrize("junk", [b"x", b"junk", b"\x1f", b"\x1f\x8b", b"\0\0junk", b"\x1f\x8b\x08\x00junk"])
def test_junk_after_a_complete_gzip_stream_has_an_accurate_reason(tmp_path: Path, junk: bytes) -> None:
    folder = folder_of(tmp_path, ["good.nii.gz"])
    (folder / "junk.nii.gz").write_bytes(gzip.compress(GOOD) + junk)
    result = extract_slices_dataset(str(folder), str(tmp_path / "out"), progress=False)
    (skipped,) = result.skipped
    if junk.startswith(b"\x1f\x8b"):  # the start of a second member (its magic), cut short: truncated
        assert skipped.reason == "truncated: the gzip stream ends before its end marker"
    else:
        assert (
            skipped.reason
            == f"junk after the end of the gzip stream ({len(junk)} bytes that are not gzip data)"
        )


@pytest.mark.parametrize("tail", [b"", b"\0" * 7], ids=["nothing", "zero-padding"])
def test_several_gzip_members_and_zero_padding_are_still_read(tmp_path: Path, tail: bytes) -> None:
    folder = folder_of(tmp_path, [])
    middle = len(GOOD) // 2
    (folder / "members.nii.gz").write_bytes(
        gzip.compress(GOOD[:middle]) + gzip.compress(GOOD[middle:]) + tail
    )
    result = extract_slices_dataset(str(folder), str(tmp_path / "out"), progress=False)
    assert result.summary() == f"1 of 1 files done, {SHAPE[2]} slices written"


# --- a folder that cannot be listed -------------------------------------------------------------------------


def test_an_input_folder_that_cannot_be_listed_is_a_usage_error(tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    folder = folder_of(tmp_path, ["a.nii.gz"])

    def refused(path: object) -> object:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("nidataset.io.volumes.os.scandir", refused)
    with pytest.raises(ValueError, match=r"nii_folder '.*in' cannot be listed: Permission denied"):
        extract_slices_dataset(str(folder), str(tmp_path / "out"), progress=False)
    assert main(["slices", str(folder), str(tmp_path / "out")]) == 2
    assert re.search(r"nidataset: error: NII_FOLDER .* cannot be listed", capsys.readouterr().err)
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root lists any folder")
def test_a_folder_without_read_permission_is_a_usage_error(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    folder = folder_of(tmp_path, ["a.nii.gz"])
    folder.chmod(0o300)
    try:
        assert main(["slices", str(folder), str(tmp_path / "out")]) == 2
    finally:
        folder.chmod(0o700)
    assert "cannot be listed: Permission denied" in capsys.readouterr().err
