"""Previews: a volume's evenly spaced slices in one captioned grid, as a person would look at them.

One window for the whole volume (the asked one, or "auto"), so that slices that differ in brightness
keep that difference; every tile resampled to square millimetres (the physical aspect ratio) through
the same :class:`~nidataset.geometry.frame.SliceFrame` the slices use, in radiological orientation
unless another one is asked for; each tile captioned with its slice index. Label masks are drawn as
outlines, each label in its own colour. Pillow draws and encodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..geometry.frame import SliceFrame, frames_for
from ..windows import Window, auto_window, window_for

if TYPE_CHECKING:
    from PIL.Image import Image

#: Tiles per preview at most, and the length of a tile's longer side in pixels.
MAX_TILES = 12
COLUMNS = 4
TILE = 192
CAPTION = 16  # pixels under each tile for its caption
GAP = 4
BACKGROUND = (48, 48, 48)  # between tiles: a black tile edge stays visible
CAPTION_GREY = 220
#: Label colours, cycled: distinct on a grey image (Okabe-Ito, colour-blind safe).
COLOURS: tuple[tuple[int, int, int], ...] = (
    (230, 159, 0),
    (86, 180, 233),
    (0, 158, 115),
    (240, 228, 66),
    (0, 114, 178),
    (213, 94, 0),
    (204, 121, 167),
)


def preview_frames(
    shape: tuple[int, int, int], affine: np.ndarray | None, views: Sequence[str], orientation: str
) -> list[SliceFrame]:
    """The frames previews are drawn in: square millimetres, radiological unless another
    anatomical orientation is asked for. A volume without a usable affine is shown as stored."""
    if affine is None:
        return frames_for(shape, None, views)
    shown = "radiological" if orientation == "stored" else orientation
    return frames_for(shape, affine, views, None, shown, "isotropic", "linear")


def preview_window(
    volume: np.ndarray, window: str | tuple[float, float] | Window | None, slope: float | None, inter: float
) -> Window:
    """One 8-bit window for the whole volume: the one asked for (or chosen for the slices), else
    ``"auto"`` from every 16th voxel (every other voxel along X and Y, every 4th slice): a display
    window needs the percentiles roughly, and the whole volume would cost more than the preview."""
    if isinstance(window, Window):
        return Window(window.center, window.width, 8)
    if window is None or window == "auto":
        return auto_window(volume[::2, ::2, ::4], 8, slope, inter)
    fixed = window_for(window, 8)
    assert fixed is not None
    return fixed


def preview_indices(count: int, tiles: int = MAX_TILES) -> list[int]:
    """Evenly spaced slice indices: the centres of ``tiles`` equal parts of the slices.

    >>> preview_indices(160), preview_indices(3)
    ([6, 20, 33, 46, 60, 73, 86, 100, 113, 126, 140, 153], [0, 1, 2])
    """
    tiles = min(tiles, count)
    return [((2 * k + 1) * count) // (2 * tiles) for k in range(tiles)]


def tile_size(frame: SliceFrame) -> tuple[int, int]:
    """(rows, cols) of a tile: the slice's physical extent (voxel count x spacing, face to face),
    scaled so that its longer side is TILE pixels.

    The square-pixel grid spans from the first voxel centre to the last, which on a coarse axis is
    most of a voxel short of the faces (60 pixels of 0.8 mm for 20 voxels of 2.5 mm): stretching
    the tile to the extent keeps the aspect ratio exact.
    """
    (rows, cols), (row_step, col_step) = frame.source_plane, frame.steps
    height, width = rows / row_step, cols / col_step  # in output pixels of equal size
    scale = TILE / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def render(
    volume: np.ndarray,
    frame: SliceFrame,
    window: Window,
    real: tuple[float | None, float],
    labels: np.ndarray | None = None,
) -> bytes:
    """The PNG bytes of one volume's preview in ``frame``'s view.

    ``volume`` is the stored array, ``real`` its (slope, intercept); ``frame`` must square the
    pixels (``spacing="isotropic"``) and lay them out as they are to be seen. ``labels``, of the
    volume's shape, are outlined in colour.
    """
    from PIL import Image, ImageDraw

    indices = preview_indices(frame.count)
    rows, cols = tile_size(frame)
    grid_cols = min(COLUMNS, len(indices))
    grid_rows = -(-len(indices) // grid_cols)
    size = (grid_cols * (cols + GAP) + GAP, grid_rows * (rows + CAPTION + GAP) + GAP)
    mode = "L" if labels is None else "RGB"  # grey unless outlines are drawn: a third of the bytes
    canvas = Image.new(mode, size, BACKGROUND if mode == "RGB" else BACKGROUND[0])
    draw = ImageDraw.Draw(canvas)
    sliced = frame.slices(volume)
    outlined = None if labels is None else frame.slices(labels)
    for position, index in enumerate(indices):
        tile = _tile(sliced[index], frame, window, real, (rows, cols))
        if outlined is not None:
            tile = _outline(tile, frame.resample(np.ascontiguousarray(outlined[index])), (rows, cols))
        left = GAP + (position % grid_cols) * (cols + GAP)
        top = GAP + (position // grid_cols) * (rows + CAPTION + GAP)
        canvas.paste(tile, (left, top))
        draw.text(
            (left + 2, top + rows + 2),
            f"{frame.view} {index}",
            fill=CAPTION_GREY if mode == "L" else (CAPTION_GREY,) * 3,
        )
    return _png(canvas)


def _tile(
    stored: np.ndarray,
    frame: SliceFrame,
    window: Window,
    real: tuple[float | None, float],
    size: tuple[int, int],
) -> Image:
    from PIL import Image

    values = np.asarray(stored, dtype=np.float64)
    slope, inter = real
    if slope is not None:
        values = values * slope + inter
    grey = window.apply(frame.resample(values, np.dtype(np.float64)))
    if grey.dtype != np.uint8:
        grey = (grey >> 8).astype(np.uint8)
    return Image.fromarray(grey).resize((size[1], size[0]), Image.Resampling.BILINEAR)


def _outline(tile: Image, labels: np.ndarray, size: tuple[int, int]) -> Image:
    """The tile with each label's border pixels painted in its colour (labels resized by nearest)."""
    from PIL import Image

    ids = np.asarray(
        Image.fromarray(labels.astype(np.int32)).resize((size[1], size[0]), Image.Resampling.NEAREST)
    )
    border = np.zeros(ids.shape, dtype=bool)
    border[:-1] |= ids[:-1] != ids[1:]
    border[1:] |= ids[1:] != ids[:-1]
    border[:, :-1] |= ids[:, :-1] != ids[:, 1:]
    border[:, 1:] |= ids[:, 1:] != ids[:, :-1]
    border &= ids > 0
    pixels = np.array(tile.convert("RGB"))
    for label in np.unique(ids[border]):
        pixels[border & (ids == label)] = label_colour(int(label))
    return Image.fromarray(pixels)


def label_colour(label: int, palette: Sequence[tuple[int, int, int]] = COLOURS) -> tuple[int, int, int]:
    """The colour of a label value (labels 1, 2, ... take the palette in turn)."""
    return palette[(label - 1) % len(palette)]


def _png(image: Image) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)  # 3x faster than 6 on a preview, for 15% more bytes
    return buffer.getvalue()
