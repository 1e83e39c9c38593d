"""image_format= and compression=: every file reads back with Pillow, tifffile, imageio and OpenCV."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import imageio.v3 as iio
import nibabel as nib
import numpy as np
import pytest
import tifffile
from PIL import Image

from conftest import write_volume
from nidataset import extract_slices, extract_slices_dataset
from nidataset.cli import main


def spec_window(values: np.ndarray, center: float, width: float, bits: int) -> np.ndarray:
    top = 2**bits - 1
    out = []
    for x in values.ravel().tolist():
        if x <= center - 0.5 - (width - 1) / 2:
            out.append(0)
        elif x > center - 0.5 + (width - 1) / 2:
            out.append(top)
        else:
            out.append(math.floor(((x - (center - 0.5)) / (width - 1) + 0.5) * top + 0.5))
    return np.array(out).reshape(values.shape)


def read_all(path: Path, dtype: type, opencv: bool = True) -> list[np.ndarray]:
    """The image as four independent readers see it (OpenCV at unchanged depth). Each must give the
    file's dtype, except Pillow, which widens signed 16-bit TIFF to int32 (its values must still match).
    ``opencv=False``: OpenCV's own libtiff must fail to read it (zstd TIFF, as docs/values.md says)."""
    with Image.open(path) as image:
        pillow = np.asarray(image)
    readers = [iio.imread(path)]
    if opencv:
        readers.append(cv2.imread(str(path), cv2.IMREAD_UNCHANGED))
    else:
        assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED) is None
    if path.suffix == ".tif":
        readers.append(tifffile.imread(path))
    for image in readers:
        assert image.dtype == dtype, path
    return [pillow, *readers]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("channels", [1, 3])
def test_our_png_files_read_back_exactly(tmp_path, dtype, channels):
    """Grey and RGB, 8 and 16 bits, odd sizes, every value's extremes: OpenCV (libpng, BGR), Pillow and
    imageio give the pixels back (the last two not for 16-bit RGB, which Pillow narrows to 8 bits)."""
    from nidataset.io.png import png_bytes

    top = np.iinfo(dtype).max
    shape = (7, 5) if channels == 1 else (7, 5, 3)
    image = np.random.default_rng(channels).integers(0, top, size=shape, endpoint=True).astype(dtype)
    image.flat[:2] = [0, top]
    path = tmp_path / "image.png"
    path.write_bytes(png_bytes(image))
    opencv = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    readers = [opencv if channels == 1 else opencv[..., ::-1]]
    if not (channels == 3 and dtype == np.uint16):
        with Image.open(path) as opened:
            readers += [np.asarray(opened), iio.imread(path)]
    for read in readers:
        assert read.dtype == dtype
        np.testing.assert_array_equal(read, image)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_label_pngs_and_planes_stored_by_column_read_back_exactly(tmp_path, dtype):
    """Masks (``labels=True``: another deflate) and planes in any memory order (a label plane read in
    place from a NIfTI volume is stored column by column; flipped ones have negative strides) give
    their pixels back to OpenCV and Pillow, wider than one strip of columns too."""
    from nidataset.io.png import png_bytes

    rng = np.random.default_rng(5)
    plane = np.zeros((300, 1100), dtype)
    plane[rng.random(plane.shape) < 0.1] = 2
    plane[40:90, 700:1000] = np.iinfo(dtype).max
    stored = np.asfortranarray(plane)
    for image in (plane, stored, stored[::-1], stored[:, ::-1], plane[::2, 1::3]):
        for labels in (False, True):
            path = tmp_path / "label.png"
            path.write_bytes(png_bytes(image, labels=labels))
            with Image.open(path) as opened:
                pillow = np.asarray(opened)
            for read in (pillow, cv2.imread(str(path), cv2.IMREAD_UNCHANGED)):
                assert read.dtype == dtype
                np.testing.assert_array_equal(read, np.array(image))


def test_png_refuses_what_it_cannot_hold():
    from nidataset.io.png import png_bytes

    for image in (np.zeros((2, 2), np.int16), np.zeros((2, 2, 2), np.uint8), np.zeros(4, np.uint8)):
        with pytest.raises(ValueError, match="PNG holds grey or RGB uint8 or uint16"):
            png_bytes(image)


@pytest.fixture
def ct(tmp_path: Path) -> Path:
    from nidataset.phantoms import ct_phantom

    return write_volume(tmp_path / "ct.nii.gz", ct_phantom((43, 39, 6), seed=4))


@pytest.mark.parametrize("compression", [None, "zlib", "zstd", "lzw"])
def test_tiff_compression_is_lossless(ct, tmp_path, compression):
    paths = extract_slices(str(ct), str(tmp_path / "out"), "coronal", compression=compression)
    raw = extract_slices(str(ct), str(tmp_path / "raw"), "coronal")
    data = np.asarray(nib.load(str(ct)).dataobj)
    for index, path in enumerate(paths):
        assert path.endswith(".tif")
        for image in read_all(Path(path), np.int16, opencv=compression != "zstd"):
            np.testing.assert_array_equal(image, data[:, index, :])
        if compression is not None:
            assert Path(path).stat().st_size < Path(raw[index]).stat().st_size
            with tifffile.TiffFile(path) as tiff:
                tag = {"zlib": "ADOBE_DEFLATE", "zstd": "ZSTD", "lzw": "LZW"}[compression]
                assert tiff.pages[0].compression.name == tag


@pytest.mark.parametrize(("bits", "dtype"), [(8, np.uint8), (16, np.uint16)])
def test_png_holds_the_windowed_values_exactly(ct, tmp_path, bits, dtype):
    paths = extract_slices(
        str(ct), str(tmp_path / "out"), "axial", window="bone", bits=bits, image_format="png"
    )
    real = np.asarray(nib.load(str(ct)).get_fdata())
    for index, path in enumerate(paths):
        assert path.endswith(f"_{index:03d}.png")
        for image in read_all(Path(path), dtype):
            np.testing.assert_array_equal(image, spec_window(real[:, :, index], 480, 2500, bits))


def test_png_takes_uint8_and_uint16_volumes_without_a_window(tmp_path):
    for dtype in (np.uint8, np.uint16):
        data = (np.arange(60).reshape(3, 4, 5) * 997 % np.iinfo(dtype).max).astype(dtype)
        path = write_volume(tmp_path / f"{np.dtype(dtype).name}.nii.gz", data)
        paths = extract_slices(str(path), str(tmp_path / np.dtype(dtype).name), image_format="png")
        for index, out in enumerate(paths):
            for image in read_all(Path(out), dtype):
                np.testing.assert_array_equal(image, data[:, :, index])


def test_jpeg_is_an_8bit_window_close_to_the_values(ct, tmp_path):
    paths = extract_slices(str(ct), str(tmp_path / "out"), "axial", window=(0, 1600), image_format="jpeg")
    real = np.asarray(nib.load(str(ct)).get_fdata())
    for index, path in enumerate(paths):
        assert path.endswith(".jpg")
        expected = spec_window(real[:, :, index], 0, 1600, 8)
        for image in read_all(Path(path), np.uint8):
            assert image.shape == expected.shape
            assert np.abs(image.astype(int) - expected).mean() < 3  # lossy, quality 95


def test_png_of_values_it_cannot_hold_is_refused_before_anything_is_written(ct, tmp_path):
    folder = ct.parent
    with pytest.raises(
        ValueError,
        match=r"image_format='tiff'.*; nothing was written, for ct\.nii\.gz \(its values would be int16\)",
    ):
        extract_slices_dataset(str(folder), str(tmp_path / "out"), image_format="png")
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match=r"its values would be int16.*nothing was written"):
        extract_slices(str(ct), str(tmp_path / "one"), image_format="png")
    assert not (tmp_path / "one").exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"image_format": "jpeg"}, "image_format='jpeg' needs an 8-bit window"),
        ({"image_format": "jpeg", "window": "brain", "bits": 16}, "with bits=8, or use image_format='png'"),
        ({"image_format": "png", "compression": "zlib", "window": "brain"}, "compression applies to TIFF"),
        ({"compression": "gzip"}, "compression must be one of 'zlib', 'zstd', 'lzw'"),
        ({"image_format": "gif"}, "image_format must be one of 'tiff', 'png', 'jpeg'"),
    ],
    ids=lambda value: str(value)[:30],
)
def test_impossible_format_options_are_refused_up_front(ct, tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        extract_slices_dataset(str(ct.parent), str(tmp_path / "out"), **kwargs)
    assert not (tmp_path / "out").exists()


def test_resume_finds_png_slices_and_redoes_a_missing_one(ct, tmp_path):
    kwargs = {"window": "brain", "image_format": "png", "progress": False}
    extract_slices_dataset(str(ct.parent), str(tmp_path / "out"), **kwargs)
    files = sorted((tmp_path / "out" / "ct" / "axial").glob("*.png"))
    assert len(files) == 6
    result = extract_slices_dataset(str(ct.parent), str(tmp_path / "out"), resume=True, **kwargs)
    assert result.outcomes[0].reused
    files[2].unlink()
    result = extract_slices_dataset(str(ct.parent), str(tmp_path / "out"), resume=True, **kwargs)
    assert not result.outcomes[0].reused and files[2].exists()


def test_the_command_line_takes_a_format_and_a_compression(ct, tmp_path):
    folder = str(ct.parent)
    assert (
        main(["slices", folder, str(tmp_path / "a"), "--window", "lung", "--format", "jpeg", "--quiet"]) == 0
    )
    assert len(list((tmp_path / "a" / "ct" / "axial").glob("*.jpg"))) == 6
    assert main(["slices", folder, str(tmp_path / "b"), "--compression", "zlib", "--quiet"]) == 0
    with tifffile.TiffFile(next((tmp_path / "b" / "ct" / "axial").glob("*.tif"))) as tiff:
        assert tiff.pages[0].compression.name == "ADOBE_DEFLATE"
    assert main(["slices", folder, str(tmp_path / "c"), "--format", "png", "--quiet"]) == 2
