"""The pure core: view geometry, padding, names and the dtype policy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nidataset.errors import VolumeError
from nidataset.geometry.padding import pad_offsets, pad_slice
from nidataset.geometry.views import slice_count, slice_shape, slice_stack, take_slice
from nidataset.naming import index_width, is_input_name, output_folder, prefix_of, slice_filename
from nidataset.options import VIEWS
from nidataset.values.dtypes import check_values, output_slice, plan_values

shapes = st.tuples(*[st.integers(1, 6)] * 3)


@pytest.mark.parametrize(
    ("view", "index"),
    [
        ("axial", (slice(None), slice(None), 1)),
        ("coronal", (slice(None), 1, slice(None))),
        ("sagittal", (1,)),
    ],
    ids=["axial=data[:,:,i]", "coronal=data[:,i,:]", "sagittal=data[i]"],
)
def test_take_slice_follows_the_spec_table(view, index):
    volume = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    np.testing.assert_array_equal(take_slice(volume, view, 1), volume[index])


@given(shape=shapes, view=st.sampled_from(VIEWS), order=st.sampled_from("CF"), big=st.booleans())
def test_slice_stack_matches_take_slice_for_every_layout(shape, view, order, big):
    dtype = np.dtype(">i2" if big else "<i2")
    volume = np.asarray(np.arange(np.prod(shape)).reshape(shape), dtype=dtype, order=order)
    stack = slice_stack(volume, view, np.dtype("int16"))
    assert stack.flags.c_contiguous and stack.dtype == np.dtype("int16")
    assert len(stack) == slice_count(shape, view)
    for i, image in enumerate(stack):
        assert image.shape == slice_shape(shape, view)
        np.testing.assert_array_equal(image, take_slice(volume, view, i))


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize(("stored", "wanted"), [("<i2", "int16"), (">i2", "int16"), ("int8", "int16")])
def test_slice_stack_of_large_planes_with_a_dtype_change(view, stored, wanted):
    shape = (130, 70, 67)  # planes larger than the hypothesis test's, no side a power of two
    volume = np.asfortranarray((np.arange(np.prod(shape)) % 251 - 120).reshape(shape).astype(stored))
    stack = slice_stack(volume, view, np.dtype(wanted))
    for index in (0, 1, len(stack) // 2, len(stack) - 1):
        np.testing.assert_array_equal(stack[index], take_slice(volume, view, index))


@given(h=st.integers(1, 30), w=st.integers(1, 30), extra_h=st.integers(0, 9), extra_w=st.integers(0, 9))
def test_padding_centres_with_the_odd_pixel_bottom_right(h, w, extra_h, extra_w):
    image = np.arange(1, h * w + 1, dtype=np.int32).reshape(h, w)
    padded = pad_slice(image, (h + extra_h, w + extra_w), -7)
    top, left = extra_h // 2, extra_w // 2
    assert pad_offsets((h, w), (h + extra_h, w + extra_w)) == (top, left)
    np.testing.assert_array_equal(padded[top : top + h, left : left + w], image)
    assert (padded == -7).sum() == padded.size - image.size
    bottom, right = extra_h - top, extra_w - left
    assert bottom - top in (0, 1) and right - left in (0, 1)


def test_seed_padding_example_384_to_512_adds_64_on_each_side():
    padded = pad_slice(np.ones((384, 384), np.uint8), (512, 512), 0)
    rows, cols = np.nonzero(padded)
    assert (rows.min(), cols.min(), 511 - rows.max(), 511 - cols.max()) == (64, 64, 64, 64)


def test_too_small_target_is_refused():
    with pytest.raises(ValueError, match="does not fit target_size 4x9"):
        pad_offsets((5, 5), (4, 9))


@pytest.mark.parametrize(
    ("name", "prefix", "is_input"),
    [
        ("case_001.nii.gz", "case_001", True),
        ("case_001.nii", "case_001", True),
        ("scan.v2.nii.gz", "scan.v2", True),
        ("._case_001.nii.gz", "._case_001", False),
        (".hidden.nii", ".hidden", False),
        ("notes.txt", "notes.txt", False),
        ("case.nii.gz.bak", "case.nii.gz.bak", False),
        (".nii.gz", ".nii.gz", False),
    ],
)
def test_prefixes_and_inputs(name, prefix, is_input):
    assert prefix_of(name) == prefix
    assert is_input_name(name) is is_input


@pytest.mark.parametrize(("count", "width"), [(1, 3), (160, 3), (1000, 3), (1001, 4), (1100, 4), (10001, 5)])
def test_index_width(count, width):
    assert index_width(count) == width


def test_names_of_a_1100_slice_volume_sort_in_slice_order():
    names = [slice_filename("p", "axial", i, index_width(1100)) for i in range(1100)]
    assert sorted(names) == names
    assert names[7] == "p_axial_0007.tif"


def test_output_folders(tmp_path):
    out = str(tmp_path)
    assert output_folder(out, "case_001", "axial", "case") == f"{out}/case_001/axial"
    assert output_folder(out, "case_001", "axial", "view") == f"{out}/axial"
    assert output_folder(out, "case_001", "axial", "flat") == out


@pytest.mark.parametrize(
    ("stored", "pad", "mode", "expected"),
    [
        ("uint8", None, "auto", "uint8"),
        ("<i2", None, "auto", "int16"),
        (">i2", None, "auto", "int16"),
        ("uint16", None, "auto", "uint16"),
        ("int32", None, "auto", "int32"),
        ("float32", None, "auto", "float32"),
        ("int8", None, "auto", "int16"),
        ("bool", None, "auto", "uint8"),
        ("uint32", None, "auto", "int32"),
        ("int64", None, "auto", "int32"),
        ("uint64", None, "auto", "int32"),
        ("float16", None, "auto", "float32"),
        ("float64", None, "auto", "float32"),
        ("int16", -1024.0, "auto", "int16"),
        ("uint8", -1024.0, "auto", "float32"),
        ("int16", 0.5, "auto", "float32"),
        ("uint8", 255.0, "auto", "uint8"),
        ("uint8", 256.0, "auto", "float32"),
        ("int16", None, "float32", "float32"),
        ("uint8", 0.0, "float32", "float32"),
    ],
)
def test_dtype_policy(stored, pad, mode, expected):
    assert plan_values(np.dtype(stored), None, None, pad, mode).output == np.dtype(expected)


@pytest.mark.parametrize(
    ("slope", "inter", "scaled"),
    [(None, None, False), (1.0, 0.0, False), (2.0, 0.0, True), (1.0, -1024.0, True)],
)
def test_scaling_makes_float32(slope, inter, scaled):
    plan = plan_values(np.dtype("int16"), slope, inter, None)
    assert (plan.output == np.float32) is scaled
    assert (plan.slope is not None) is scaled


@pytest.mark.parametrize(
    ("stored", "match"),
    [
        ("complex64", "complex voxels"),
        ("c16", "complex voxels"),
        ([("R", "u1"), ("G", "u1"), ("B", "u1")], "RGB"),
    ],
)
def test_unsupported_voxel_types_are_refused(stored, match):
    with pytest.raises(VolumeError, match=match):
        plan_values(np.dtype(stored), None, None, None)


@pytest.mark.parametrize(
    ("values", "stored", "match"),
    [
        ([0, 2**31], "uint32", "values from 0 to 2147483648 do not fit int32"),
        ([-(2**40), 0], "int64", "do not fit int32"),
        ([1e39, 0.0], "float64", "exceed float32's range"),
    ],
)
def test_values_that_cannot_be_written_exactly_are_refused(values, stored, match):
    block = np.array(values, dtype=stored)
    with pytest.raises(VolumeError, match=match):
        check_values(block, plan_values(block.dtype, None, None, None))


def test_values_that_fit_pass_and_keep_their_value():
    block = np.array([0, 2**31 - 1, 5], dtype="uint32")
    plan = plan_values(block.dtype, None, None, None)
    check_values(block, plan)
    assert plan.output == np.int32 and block.astype(plan.output).tolist() == [0, 2**31 - 1, 5]


def test_infinities_and_nans_in_float64_are_kept():
    block = np.array([np.inf, -np.inf, np.nan, 1.5], dtype="float64")
    check_values(block, plan_values(block.dtype, None, None, None))


def test_int32_promoted_for_a_pad_value_must_stay_exact_unless_float32_was_asked_for():
    block = np.array([2**24 + 1], dtype="int32")
    with pytest.raises(VolumeError, match="cannot be held exactly by float32"):
        check_values(block, plan_values(block.dtype, None, None, 0.5))
    check_values(block, plan_values(block.dtype, None, None, None, "float32"))
    check_values(np.array([2**25], dtype="int32"), plan_values(np.dtype("int32"), None, None, 0.5))


def test_scaled_values_beyond_float32_are_refused():
    block = np.array([0, 30000], dtype="int16")
    with pytest.raises(VolumeError, match="scaled values"):
        check_values(block, plan_values(block.dtype, 1e35, 0.0, None))


def test_scaling_is_float64_then_rounded_to_float32():
    raw = np.array([[1, 2], [3, 40000]], dtype="uint16")
    plan = plan_values(raw.dtype, 0.35245904326438904, 6.678363800048828, None)
    expected = (raw.astype(np.float64) * plan.slope + plan.inter).astype(np.float32)
    result = output_slice(raw, plan)
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, expected)
