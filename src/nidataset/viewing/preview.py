"""Previews: a volume's evenly spaced slices in one captioned grid, as a person would look at them.

One window for the whole volume (the asked one, or "auto"), so that slices that differ in brightness
keep that difference; every tile laid out by a :class:`~nidataset.geometry.frame.SliceFrame` (the
slices' own geometry), in radiological orientation unless another one is asked for, and resized to
its physical extent (square millimetres); each tile captioned with its slice index. Label masks are
drawn as outlines, each label in its own colour. Pillow resizes and draws; :mod:`nidataset.io.png`
encodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..geometry.frame import SliceFrame, frames_for
from ..io.png import png_bytes
from ..values.windows import Window, auto_window, window_for

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
    sample: np.ndarray, window: str | tuple[float, float] | Window | None, slope: float | None, inter: float
) -> Window:
    """One 8-bit window for the whole volume: the one asked for (or chosen for the slices), else
    ``"auto"`` from ``sample``, the voxels :class:`PreviewPlanes` keeps for it: a display window needs
    the percentiles roughly, and the whole volume would cost more than the preview."""
    if isinstance(window, Window):
        return Window(window.center, window.width, 8)
    if window is None or window == "auto":
        return auto_window(sample, 8, slope, inter)
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


class PreviewPlanes:
    """The few planes a volume's previews show, and the voxels of its ``"auto"`` window, kept as the
    volume passes by: whole, or slab by slab along the last stored axis while the axial view streams
    (then every frame must slice along that axis, :attr:`streamable`). A preview never needs the
    volume in memory.

    The window's voxels are every other voxel in-plane of the evenly spaced slices along the last
    stored axis: the same for every view, so that a volume's previews share one window.
    """

    def __init__(self, shape: tuple[int, int, int], frames: Sequence[SliceFrame]) -> None:
        self.shape = shape
        self.frames = list(frames)
        self.tiles: dict[str, dict[int, np.ndarray]] = {frame.view: {} for frame in self.frames}
        self._sample: list[np.ndarray] = []

    @property
    def streamable(self) -> bool:
        return all(frame.axis == 2 for frame in self.frames)

    def nbytes(self, itemsize: int) -> int:
        """At most the bytes kept, for a memory reservation."""
        x, y, z = self.shape
        tiles = sum(len(preview_indices(f.count)) * int(np.prod(f.source_plane)) for f in self.frames)
        sample = len(preview_indices(z)) * (x // 2 + 1) * (y // 2 + 1)
        return (tiles + sample) * itemsize

    def take(self, block: np.ndarray, start: int = 0) -> None:
        """Copy what is needed from ``block``: the volume, or its slab from stored slice ``start``
        along the last axis (whose buffer the next slab reuses)."""
        whole = block.shape == self.shape
        assert whole or self.streamable, "slabs only along the axis every frame slices"
        stop = start + block.shape[2]
        for index in preview_indices(self.shape[2]):
            if start <= index < stop:
                self._sample.append(block[::2, ::2, index - start].copy())
        for frame in self.frames:
            first = start if frame.axis == 2 else 0
            for index in preview_indices(frame.count):
                stored = frame.slice_index(index)  # its own inverse
                if first <= stored < first + block.shape[frame.axis]:
                    key: list[slice] = [slice(None)] * 3
                    key[frame.axis] = slice(stored - first, stored - first + 1)
                    self.tiles[frame.view][index] = np.array(frame.slices(block[tuple(key)])[0])

    def sample(self) -> np.ndarray:
        """The voxels the ``"auto"`` window is taken from."""
        return np.concatenate([plane.reshape(-1) for plane in self._sample])


def tile_size(frame: SliceFrame) -> tuple[int, int]:
    """(rows, cols) of a tile: the slice's physical extent (voxel count x spacing, face to face),
    scaled so that its longer side is TILE pixels."""
    (rows, cols), (row_step, col_step) = frame.source_plane, frame.steps
    height, width = rows / row_step, cols / col_step  # in output pixels of equal size
    scale = TILE / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def render(
    tiles: dict[int, np.ndarray],
    frame: SliceFrame,
    window: Window,
    real: tuple[float | None, float],
    labels: np.ndarray | None = None,
) -> bytes:
    """The PNG bytes of one volume's preview in ``frame``'s view.

    ``tiles`` are the stored planes by slice index (:class:`PreviewPlanes`), ``real`` the volume's
    (slope, intercept); ``frame`` lays them out as they are to be seen and gives their pixel sizes
    (``spacing="isotropic"``). ``labels``, the whole label volume, are outlined in colour.
    """
    from PIL import Image, ImageDraw

    indices = sorted(tiles)
    rows, cols = tile_size(frame)
    grid_cols = min(COLUMNS, len(indices))
    grid_rows = -(-len(indices) // grid_cols)
    size = (grid_cols * (cols + GAP) + GAP, grid_rows * (rows + CAPTION + GAP) + GAP)
    mode = "L" if labels is None else "RGB"  # grey unless outlines are drawn: a third of the bytes
    canvas = Image.new(mode, size, BACKGROUND if mode == "RGB" else BACKGROUND[0])
    draw = ImageDraw.Draw(canvas)
    outlined = None if labels is None else frame.slices(labels)
    for position, index in enumerate(indices):
        tile = _tile(tiles[index], window, real, (rows, cols))
        if outlined is not None:
            tile = _outline(tile, outlined[index], (rows, cols))
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
    stored: np.ndarray, window: Window, real: tuple[float | None, float], size: tuple[int, int]
) -> Image:
    """A plane's tile: real values, resized straight to the tile's physical size, then windowed.

    Resizing first windows 40,000 pixels instead of the slice's 260,000; the face-to-face size keeps
    the aspect ratio exact without resampling to square pixels first. Values the window sends to
    black or white (NaN, infinities of float volumes) become such values first, so that they do not spread.
    """
    from PIL import Image

    values = np.asarray(stored, dtype=np.float32)
    slope, inter = real
    if slope is not None:
        values = values * np.float32(slope) + np.float32(inter)
    if stored.dtype.kind == "f":
        lower, upper = window.bounds
        values = np.nan_to_num(values, nan=lower, posinf=upper + 1, neginf=lower)
    # Shrinking both ways, a box filter averages each tile pixel's area (a third faster than bilinear,
    # which Pillow widens the same way); otherwise bilinear, so that coarse slices do not look blocky.
    shrinking = size[0] <= values.shape[0] and size[1] <= values.shape[1]
    method = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    resized = Image.fromarray(np.ascontiguousarray(values)).resize((size[1], size[0]), method)
    return Image.fromarray(window.apply(np.asarray(resized)))


def _outline(tile: Image, labels: np.ndarray, size: tuple[int, int]) -> Image:
    """The tile with each label's border pixels painted in its colour (labels resized by nearest)."""
    from PIL import Image

    ids = np.asarray(
        Image.fromarray(np.ascontiguousarray(labels, dtype=np.int32)).resize(
            (size[1], size[0]), Image.Resampling.NEAREST
        )
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
    return png_bytes(np.asarray(image))
