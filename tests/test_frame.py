"""The slice frame: every output pixel maps to the stored voxel it shows (pix2vox), and back."""

from __future__ import annotations

import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ramp, read_tiff, write_volume
from nidataset import extract_slices_dataset
from nidataset.geometry.frame import SliceFrame
from nidataset.options import VIEWS

#: The SPEC's table, written out independently of the package: view -> (slice axis, row axis, col axis).
SPEC_AXES = {"axial": (2, 0, 1), "coronal": (1, 0, 2), "sagittal": (0, 1, 2)}


@st.composite
def frames(draw: st.DrawFn) -> SliceFrame:
    shape = tuple(draw(st.integers(1, 9)) for _ in range(3))
    view = draw(st.sampled_from(VIEWS))
    _, rows, cols = SPEC_AXES[view]
    target = draw(
        st.none()
        | st.tuples(st.integers(shape[rows], shape[rows] + 5), st.integers(shape[cols], shape[cols] + 5))
    )
    return SliceFrame(shape, view, target)  # type: ignore[arg-type]


def spec_padding(frame: SliceFrame) -> tuple[int, int]:
    """SPEC.md: top = (H - h) // 2, left = (W - w) // 2."""
    _, rows, cols = SPEC_AXES[frame.view]
    if frame.target_size is None:
        return 0, 0
    return (frame.target_size[0] - frame.shape[rows]) // 2, (frame.target_size[1] - frame.shape[cols]) // 2


@given(frame=frames(), data=st.data())
def test_pixel_to_voxel_to_pixel_is_the_identity_inside_the_slice(frame, data):
    axis, rows, cols = SPEC_AXES[frame.view]
    top, left = spec_padding(frame)
    index = data.draw(st.integers(0, frame.shape[axis] - 1))
    row = data.draw(st.integers(top, top + frame.shape[rows] - 1))
    col = data.draw(st.integers(left, left + frame.shape[cols] - 1))
    voxel = frame.to_voxel(index, row, col)
    expected = [0, 0, 0]
    expected[axis], expected[rows], expected[cols] = index, row - top, col - left
    assert voxel == tuple(expected)
    assert frame.to_pixel(voxel) == (index, row, col)
    assert np.array_equal(frame.pix2vox(index) @ (row, col, 1), expected)


@given(frame=frames(), data=st.data())
def test_padding_pixels_map_outside_the_volume(frame, data):
    height, width = frame.image_shape
    top, left = spec_padding(frame)
    _, rows, cols = SPEC_AXES[frame.view]
    row = data.draw(st.integers(0, height - 1))
    col = data.draw(st.integers(0, width - 1))
    padding = not (top <= row < top + frame.shape[rows] and left <= col < left + frame.shape[cols])
    voxel = frame.to_voxel(0, row, col)
    inside = all(0 <= v < n for v, n in zip(voxel, frame.shape, strict=True))
    assert inside != padding


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frame=frames(), pad_value=st.sampled_from([0.0, -7.0]))
def test_every_written_pixel_is_the_voxel_pix2vox_names(frame, pad_value):
    with tempfile.TemporaryDirectory() as folder:
        volume = write_volume(Path(folder) / "v.nii.gz", ramp(frame.shape))
        data = np.asarray(nib.load(str(volume)).get_fdata())
        extract_slices_dataset(
            folder,
            f"{folder}/out",
            view=frame.view,
            target_size=frame.target_size,
            pad_value=pad_value,
            progress=False,
        )
        files = sorted(Path(folder, "out", "v", frame.view).glob("*.tif"))
        assert len(files) == frame.count
        height, width = frame.image_shape
        rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
        pixels = np.stack([rows.ravel(), cols.ravel(), np.ones(rows.size, dtype=int)])
        for index, path in enumerate(files):
            image = read_tiff(path)
            voxels = frame.pix2vox(index) @ pixels
            inside = np.all((voxels >= 0) & (voxels < np.array(frame.shape)[:, None]), axis=0)
            expected = np.full(rows.size, pad_value)
            expected[inside] = data[tuple(voxels[:, inside])]
            np.testing.assert_array_equal(image.ravel(), expected)
