"""Draw the documentation's pictures: ``docs/geometry.png`` and ``docs/preview.png``.

``geometry.png``: one demo CT phantom's middle slices, as stored and as radiological. ``preview.png``:
the preview :func:`nidataset.preview_dataset` draws of the same phantom, with the outlines of a label
mask made from it (lungs, heart, bone).

Run from anywhere with the package installed: ``python docs/make_figures.py``. No network: the phantom
is :data:`nidataset.phantoms.DEMO_CASES`' first case, written to a temporary folder, and its pictures
come from the package itself, read back from the files it writes.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np
import tifffile
from PIL import Image, ImageDraw, ImageFont

import nidataset
from nidataset.phantoms import DEMO_CASES, ct_affine, ct_phantom

OUTPUT = Path(__file__).resolve().parent / "geometry.png"
PREVIEW = Path(__file__).resolve().parent / "preview.png"
VIEWS = ("axial", "coronal", "sagittal")
ORIENTATIONS = ("stored", "radiological")
#: The axis each view slices along, on the stored array and on the RAS+ array alike.
SLICE_AXIS = {"axial": 2, "coronal": 1, "sagittal": 0}
#: The axes behind an image's (rows, columns): stored axes for "stored" (SPEC Part 1), RAS+ axes for
#: "radiological" (SPEC Part 2).
TILE_AXES = {
    "stored": {"axial": (0, 1), "coronal": (0, 2), "sagittal": (1, 2)},
    "radiological": {"axial": (1, 0), "coronal": (2, 0), "sagittal": (2, 1)},
}
#: Letters at the (top, bottom, left, right) edges of the radiological images.
EDGES = {"axial": "APRL", "coronal": "SIRL", "sagittal": "SIAP"}
#: Display window (centre, width) in HU: soft tissue, so the heart shows and the lungs are black.
WINDOW = (40.0, 400.0)
PIXELS_PER_MM = 3.0

BACKGROUND, FRAME, TEXT, MUTED, LETTER = "#111111", "#555555", "#f0f0f0", "#a8a8a8", "#ffd24a"


def font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: one small bitmap font
        return ImageFont.load_default()


def middle_slices(folder: Path) -> tuple[dict[tuple[str, str], np.ndarray], dict[str, tuple], str]:
    """Write the phantom, extract every view both ways; the middle images and the phantom's facts."""
    name, shape, spacing = DEMO_CASES[0]
    path = folder / f"{name}.nii.gz"
    image = nib.Nifti1Image(ct_phantom(shape, seed=0), ct_affine(spacing))  # as `nidataset demo` writes it
    nib.save(image, path)
    ornt = nib.orientations.io_orientation(image.affine)  # stored axis -> (RAS axis, sign)
    zooms = {
        "stored": tuple(float(z) for z in image.header.get_zooms()),
        "radiological": tuple(float(z) for z in nib.as_closest_canonical(image).header.get_zooms()),
    }
    tiles = {}
    for view in VIEWS:
        stored_axis = SLICE_AXIS[view]
        middle = shape[stored_axis] // 2
        for orientation in ORIENTATIONS:
            index = middle
            if orientation != "stored":  # the same stored slice: its index counts along the RAS+ axis
                ras_stored = next(s for s in range(3) if ornt[s, 0] == SLICE_AXIS[view])
                if ornt[ras_stored, 1] < 0:
                    index = shape[ras_stored] - 1 - middle
            out = folder / orientation / view
            paths = nidataset.extract_slices(str(path), str(out), view, orientation=orientation)
            tiles[orientation, view] = tifffile.imread(paths[index])
        stored, radiological = tiles["stored", view], tiles["radiological", view]
        assert any(  # the same voxels, only turned or mirrored
            np.array_equal(np.rot90(flipped, turns), radiological)
            for flipped in (stored, stored[:, ::-1])
            for turns in range(4)
        ), view
    facts = f"{name}: {' x '.join(map(str, shape))} voxels of {' x '.join(f'{s:g}' for s in spacing)} mm"
    return tiles, zooms, facts


def display(pixels: np.ndarray, row_mm: float, col_mm: float) -> Image.Image:
    """Window to 8 bits and stretch to square millimetres (nearest neighbour: voxels stay visible)."""
    centre, width = WINDOW
    low = centre - width / 2
    grey = np.clip((pixels.astype(np.float64) - low) / width * 255.0, 0, 255).round().astype(np.uint8)
    rows, cols = grey.shape
    size = (round(cols * col_mm * PIXELS_PER_MM), round(rows * row_mm * PIXELS_PER_MM))
    return Image.fromarray(grey, mode="L").resize(size, Image.Resampling.NEAREST).convert("RGB")


def wrap(
    draw: ImageDraw.ImageDraw, text: str, face: ImageFont.ImageFont | ImageFont.FreeTypeFont, width: int
) -> list[str]:
    """Break ``text`` into lines at most ``width`` pixels wide."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}".strip()
            if line and draw.textlength(candidate, font=face) > width:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return lines


def compose(tiles: dict[tuple[str, str], np.ndarray], zooms: dict[str, tuple], facts: str) -> Image.Image:
    images = {}
    for (orientation, view), pixels in tiles.items():
        rows, cols = TILE_AXES[orientation][view]
        images[orientation, view] = display(pixels, zooms[orientation][rows], zooms[orientation][cols])

    title_font, head_font, letter_font, small_font = font(22), font(18), font(16), font(14)
    gap, margin, label_width = 36, 24, 190
    col_width = [max(images[o, v].width for o in ORIENTATIONS) for v in VIEWS]
    row_height = [max(images[o, v].height for v in VIEWS) for o in ORIENTATIONS]
    width = margin + label_width + sum(col_width) + gap * len(VIEWS) + margin
    top = margin + 34 + 30  # title, then column titles
    caption_top = top + sum(row_height) + gap * (len(ORIENTATIONS) + 1)

    scratch = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    caption = (
        f"The demo's first phantom, {facts}, stored LPS as DICOM converters write CT: the middle slice of "
        f"each view, windowed to centre {WINDOW[0]:g}, width {WINDOW[1]:g} HU. Top row: the files "
        'orientation="stored" writes, as written: one pixel per voxel, rows and columns along the stored '
        "axes; stretched here only for display, so that pixels are square in millimetres as in the bottom "
        'row. Bottom row: orientation="radiological", the same voxels as a scanner shows them. The bright '
        "markers lie on the patient's right side and anterior surface, over the upper part of the torso "
        "only; the spine is posterior, the heart anterior and on the left, the right lung shorter."
    )
    lines = wrap(scratch, caption, small_font, width - 2 * margin)
    height = caption_top + 20 * len(lines) + margin

    figure = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(figure)
    draw.text((margin, margin), "The same CT volume, stored and radiological", font=title_font, fill=TEXT)

    x_of, x = {}, margin + label_width + gap / 2
    for view, w in zip(VIEWS, col_width, strict=True):
        x_of[view] = x + w / 2
        draw.text((x_of[view], top - 8), view, font=head_font, fill=TEXT, anchor="md")
        x += w + gap
    y = top + gap / 2
    for orientation, h in zip(ORIENTATIONS, row_height, strict=True):
        centre_y = y + h / 2
        label = f'orientation=\n"{orientation}"'
        draw.multiline_text((margin, centre_y), label, font=head_font, fill=TEXT, anchor="lm", spacing=6)
        for view in VIEWS:
            tile = images[orientation, view]
            left, upper = round(x_of[view] - tile.width / 2), round(centre_y - tile.height / 2)
            figure.paste(tile, (left, upper))
            right, lower = left + tile.width, upper + tile.height
            draw.rectangle((left - 1, upper - 1, right, lower), outline=FRAME)
            if orientation == "radiological":
                t, b, lft, rgt = EDGES[view]
                draw.text(((left + right) / 2, upper - 3), t, font=letter_font, fill=LETTER, anchor="md")
                draw.text(((left + right) / 2, lower + 4), b, font=letter_font, fill=LETTER, anchor="ma")
                draw.text((left - 5, (upper + lower) / 2), lft, font=letter_font, fill=LETTER, anchor="rm")
                draw.text((right + 6, (upper + lower) / 2), rgt, font=letter_font, fill=LETTER, anchor="lm")
        y += h + gap
    for number, line in enumerate(lines):
        draw.text((margin, caption_top + 20 * number), line, font=small_font, fill=MUTED)
    return figure


def preview(folder: Path) -> None:
    """The first phantom's axial preview with its lungs (1), heart (2) and bone (3) outlined."""
    name, shape, spacing = DEMO_CASES[0]
    ct = ct_phantom(shape, seed=0)
    from scipy import ndimage

    labels = np.zeros(shape, dtype=np.uint8)
    for label, inside in enumerate([(ct > -950) & (ct < -700), (ct > 65) & (ct < 200), ct > 400], start=1):
        labels[ndimage.binary_opening(inside, iterations=2)] = label  # no specks of noise
    for subfolder, data in (("images", ct), ("masks", labels)):
        (folder / subfolder).mkdir()
        nib.save(nib.Nifti1Image(data, ct_affine(spacing)), str(folder / subfolder / f"{name}.nii.gz"))
    nidataset.preview_dataset(
        str(folder / "images"),
        str(folder / "qc"),
        str(folder / "masks"),
        window="soft_tissue",
        progress=False,
    )
    picture = Image.open(folder / "qc" / "previews" / f"{name}_axial_preview.png")
    picture.save(PREVIEW, optimize=True)
    print(f"wrote {PREVIEW} ({picture.width} x {picture.height}, {PREVIEW.stat().st_size // 1024} KB)")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        tiles, zooms, facts = middle_slices(Path(folder))
    figure = compose(tiles, zooms, facts)
    figure.save(OUTPUT, optimize=True)
    print(f"wrote {OUTPUT} ({figure.width} x {figure.height}, {OUTPUT.stat().st_size // 1024} KB)")
    with tempfile.TemporaryDirectory() as folder:
        preview(Path(folder))


if __name__ == "__main__":
    main()
