"""The command line speaks in flags (``--format png``), the API in parameters (``image_format='png'``)."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from conftest import write_volume
from nidataset.cli import build_parser, command_parser, main
from nidataset.cli.words import translator
from nidataset.slices import extract_slices_dataset


@pytest.fixture
def ct_folder(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write_volume(folder / "ct.nii.gz", np.arange(-500, 500, dtype=np.int16).reshape(10, 10, 10))
    return folder


def error_of(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    return line


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["--format", "png"],
            "--format png needs 8- or 16-bit pixels: add --window soft_tissue (CT) or --window auto (MRI), "
            "or keep --format tiff, which holds the values as they are; nothing was written, for ct.nii.gz "
            "(its values would be int16)",
        ),
        (
            ["--format", "jpeg"],
            "--format jpeg needs an 8-bit window (JPEG is lossy and 8-bit): add --window soft_tissue (CT) or "
            "--window auto (MRI) with --bits 8, or use --format png",
        ),
        (
            ["--bits", "16"],
            "--bits 16 needs a window, whose output's depth it sets: add --window soft_tissue (CT) or "
            "--window auto (MRI)",
        ),
        (
            ["--target-size", "4", "4"],
            "--target-size 4 4 is smaller than the slices of ct.nii.gz (axial slices of 10x10); "
            "nothing was written",
        ),
        (
            ["--format", "png", "--window", "brain", "--compression", "zlib"],
            "compression applies to TIFF; --format png compresses by itself",
        ),
    ],
    ids=["png", "jpeg", "bits", "target-size", "compression"],
)
def test_errors_name_flags_and_lead_with_the_fix(tmp_path, capsys, ct_folder, options, message):
    line = error_of(capsys, ["slices", str(ct_folder), str(tmp_path / "out"), *options])
    assert line == f"nidataset: error: {message}"
    assert "=" not in line  # no Python keyword left
    assert not (tmp_path / "out").exists()


def test_the_python_api_keeps_its_parameter_names(tmp_path, ct_folder):
    with pytest.raises(
        ValueError, match=r"^image_format='png' needs 8- or 16-bit pixels: add window='soft_tissue'"
    ):
        extract_slices_dataset(str(ct_folder), str(tmp_path / "out"), image_format="png", progress=False)


def test_a_missing_folder_is_named_as_the_usage_line_names_it(tmp_path, capsys):
    line = error_of(capsys, ["slices", str(tmp_path / "nowhere"), str(tmp_path / "out")])
    assert (
        line
        == f"nidataset: error: NII_FOLDER {str(tmp_path / 'nowhere')!r} does not exist or is not a folder"
    )


def test_the_translation_comes_from_the_parser():
    """Every option of every command whose Python name differs from its flag is translated as its
    parser spells it: no second list of names to keep in step."""
    parser = build_parser()
    for name in ("slices", "annotations", "build", "preview", "reassemble", "demo"):
        command = command_parser(parser, name)
        words = translator(command)
        for action in command._actions:
            if not action.option_strings or action.dest == "help":
                continue
            long_flag = next(s for s in action.option_strings if s.startswith("--"))
            assert words(f"pass {action.dest}= here") == f"pass {long_flag} here"
            assert words(f"{action.dest}='x' is wrong") == f"{long_flag} x is wrong"


def test_translation_of_values():
    parser = argparse.ArgumentParser()
    parser.add_argument("--window")
    parser.add_argument("--target-size", nargs=2)
    parser.add_argument("nii_folder", metavar="NII_FOLDER")
    words = translator(parser)
    assert (
        words("window=(40.0, 80.0) and target_size=(512, 512)") == "--window 40,80 and --target-size 512 512"
    )
    assert (
        words("nii_folder 'a' is empty; a window of the volume")
        == "NII_FOLDER 'a' is empty; a window of the volume"
    )
    assert words("mywindow=3 window_size=2") == "mywindow=3 window_size=2"
    assert (
        words("window must be a preset; the window must fit")
        == "--window must be a preset; the window must fit"
    )
