"""Property-based hostile inputs: mutated header fields and bytes of a small valid volume.

Whatever the mutation, a dataset run returns an outcome for the file: extracted, with nibabel's
``get_fdata()`` values whenever nibabel reads the file as a 3D volume, or skipped with a one-line
reason and nothing left behind; the same decision in every view. No exception escapes, nothing hangs
(each run is guarded by a timeout) and memory stays bounded: a declared size far beyond the few bytes
of data is caught as truncated or too large, never allocated and filled.
"""

from __future__ import annotations

import gzip
import io
import os
import sys
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conftest import expected_slices, nifti_bytes, ramp, read_tiff
from test_hostile import BOOKKEEPING, VIEWS, assert_values, files_under, gz, header_size, patched, run_guarded

#: A NaN pixdim makes nibabel warn while it computes the affine, which slicing never uses.
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
resource = pytest.importorskip("resource", reason="peak memory is read with getrusage (POSIX)")

#: Small, a different size on each axis; every example writes at most a few dozen tiny TIFFs.
SHAPE = (4, 3, 5)
NAME = "case.nii.gz"
PLAIN = "case.nii"

#: Stored types of the valid file before mutation: both byte orders, integers, floats, scaling.
BASES = {
    "int16": nifti_bytes(ramp(SHAPE)),
    "int16_big_endian": nifti_bytes(ramp(SHAPE).astype(">i2")),
    "uint8": nifti_bytes(ramp(SHAPE, "uint8", start=0)),
    "float32": nifti_bytes(ramp(SHAPE, "float32") / 8),
    "float64_big_endian": nifti_bytes((ramp(SHAPE, "float64") / 3).astype(">f8")),
    "int16_scaled": nifti_bytes(ramp(SHAPE), slope=0.5, inter=-3.0),
}
NIFTI2_BASES = {
    "int16": nifti_bytes(ramp(SHAPE), nifti2=True),
    "float32_big_endian": nifti_bytes((ramp(SHAPE, "float32") / 8).astype(">f4"), nifti2=True),
}

#: CI runs the same 100 examples per property every time, so that it never fails at random; a longer,
#: random search runs with e.g. ``NIDATASET_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz.py``.
LONG_RUN = int(os.environ.get("NIDATASET_FUZZ_EXAMPLES", "0"))
FUZZ = settings(
    max_examples=LONG_RUN or 100,
    derandomize=not LONG_RUN,
    deadline=None,  # a slow shared machine must not make the suite flaky; hangs are caught by run_guarded
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: Peak RSS a whole property may add to the process: far below any size a mutated header declares.
MEMORY_BOUND = 512 << 20

int16s = st.integers(-(2**15), 2**15 - 1)
int32s = st.integers(-(2**31), 2**31 - 1)
floats32 = st.floats(width=32)  # NaN and infinities included
dim_values = st.one_of(st.integers(-2, 9), st.sampled_from([0, 1, 2**15 - 1, -(2**15)]), int16s)
nifti2_dim_values = st.one_of(st.integers(-2, 9), st.sampled_from([2**20, 2**31, 2**40, 2**62, -(2**62)]))
nifti1_offsets = st.one_of(st.sampled_from([0.0, 100.0, 348.0, 352.0, 352.5, 356.0, -352.0, 1e9]), floats32)


def field_strategies(nifti2: bool) -> dict[str, st.SearchStrategy[object]]:
    """Header fields and the values a mutation may give them (NIfTI-2's dims and offset are int64)."""
    dims = nifti2_dim_values if nifti2 else dim_values
    offsets = st.sampled_from([0, 100, 352, 540, 544, 560, -544, 2**40]) if nifti2 else nifti1_offsets
    magics = [b"n+2\0\r\n\x1a\n", b"ni2\0\r\n\x1a\n", b"n+2", b"n+1"] if nifti2 else [b"n+1", b"ni1", b"n+2"]
    codes = sorted({int(key) for key in nib.nifti1.data_type_codes.code if isinstance(key, int)})
    return {
        "dim": st.tuples(st.integers(-2, 9), *[dims] * 7).map(list),
        "datatype": st.one_of(st.sampled_from(codes), int16s),
        "bitpix": st.one_of(st.sampled_from([0, 1, 8, 16, 32, 64]), int16s),
        "vox_offset": offsets,
        "scl_slope": st.one_of(st.sampled_from([0.0, 1.0, -1.0, 2.0, 1e36, float("nan")]), floats32),
        "scl_inter": st.one_of(st.sampled_from([0.0, 1.0, -1024.0, float("inf")]), floats32),
        "sizeof_hdr": st.one_of(st.sampled_from([0, 348, 349, 540, 0x5C010000, 0x1C020000]), int32s),
        "magic": st.one_of(st.sampled_from([*magics, b""]), st.binary(max_size=8 if nifti2 else 4)),
        "pixdim": st.lists(floats32, min_size=8, max_size=8),
        "intent_code": st.one_of(st.sampled_from([0, 1002, 1006, 2003, 3001]), int16s),
    }


def mutations(nifti2: bool = False) -> st.SearchStrategy[dict[str, object]]:
    """One to three header fields set to new values."""
    fields = field_strategies(nifti2)
    names = st.tuples(st.permutations(sorted(fields)), st.integers(1, 3)).map(lambda p: p[0][: p[1]])
    return names.flatmap(lambda chosen: st.fixed_dictionaries({name: fields[name] for name in chosen}))


containers = st.sampled_from(["gzip", "plain"])


def spec_shape(dim: list[int]) -> tuple[int, ...] | None:
    """SPEC.md's shape for a header's dim field, or None when the file is not a 3D volume."""
    if not 1 <= dim[0] <= 7:
        return None
    shape = list(dim[1 : dim[0] + 1])
    while len(shape) > 3 and shape[-1] == 1:
        shape.pop()
    if len(shape) == 2:
        shape.append(1)
    return tuple(shape) if len(shape) == 3 and min(shape) > 0 else None


def declared_shape(data: bytes) -> tuple[int, ...] | None:
    """The shape the header of an uncompressed file declares, read in the byte order of sizeof_hdr."""
    size = header_size(data)
    if len(data) < size:
        return None
    endianness = "<" if int.from_bytes(data[:4], "little") == size else ">"
    header_class = nib.Nifti2Header if size == 540 else nib.Nifti1Header
    header = header_class(binaryblock=data[:size], endianness=endianness, check=False)
    return spec_shape([int(d) for d in header["dim"]])


def nibabel_volume(path: Path) -> np.ndarray | None:
    """nibabel's ``get_fdata()`` of a 3D volume, or None when nibabel cannot read it as one."""
    try:
        data = np.asarray(nib.load(str(path)).get_fdata())
    except Exception:
        return None
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    return data if data.ndim in (2, 3) else None


def check_file(content: bytes, container: str) -> str:
    """Run every view on ``content`` and check the outcome against nibabel; see the module docstring.

    Returns the decision: "extracted..." or "skipped: <first word of the reason>".
    """
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        folder = root / "in"
        folder.mkdir()
        path = folder / (NAME if container == "gzip" else PLAIN)
        path.write_bytes(content)
        decisions = {view: check_view(path, root / view, view) for view in VIEWS}
    assert len({d.split(":")[0] for d in decisions.values()}) == 1, (
        f"different decisions per view: {decisions}"
    )
    event(decisions["axial"])  # shown by pytest --hypothesis-show-statistics
    return decisions["axial"]


def check_view(path: Path, out: Path, view: str) -> str:
    """Check one view's outcome; return "extracted" or "skipped"."""
    result = run_guarded(path.parent, out, view)
    (outcome,) = result.outcomes
    assert outcome.name == path.name
    slices = sorted(f for f in files_under(out) if not f.startswith(BOOKKEEPING))
    if outcome.reason is not None:
        assert outcome.reason.strip() and "\n" not in outcome.reason, repr(outcome.reason)
        assert slices == [], f"skipped ({outcome.reason}) but left {slices[:3]}"
        return "skipped: " + outcome.reason.split(" ")[0].split(":")[0]
    (count,) = outcome.counts
    assert len(slices) == count
    if nibabel_volume(path) is None:
        shape = declared_shape(uncompressed(path.read_bytes()))
        assert shape is not None and count == shape[{"axial": 2, "coronal": 1, "sagittal": 0}[view]]
        return "extracted, nibabel cannot read it"
    expected = expected_slices(path, view)
    assert count == len(expected)
    for name, values in zip(slices, expected, strict=True):  # names sort in slice order
        assert_values(read_tiff(out / name), values, name)
    return "extracted"


def uncompressed(content: bytes) -> bytes:
    if content[:2] != b"\x1f\x8b":
        return content
    try:
        return gzip.GzipFile(fileobj=io.BytesIO(content)).read()
    except Exception:  # extracted by the package yet unreadable here: leave the shape check to fail
        return b""


def packed(data: bytes, container: str) -> bytes:
    return gz(data) if container == "gzip" else data


class MemoryBound:
    """Fail if the process's peak RSS grew by more than MEMORY_BOUND while the block ran."""

    def __enter__(self) -> None:
        self.before = peak_rss()

    def __exit__(self, *exc: object) -> None:
        grown = peak_rss() - self.before
        assert grown < MEMORY_BOUND, f"peak RSS grew by {grown >> 20} MiB"


def peak_rss() -> int:
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is in bytes on macOS, KiB elsewhere
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


@FUZZ
@given(base=st.sampled_from(sorted(BASES)), container=containers, fields=mutations())
def test_mutated_nifti1_header_fields(base: str, container: str, fields: dict[str, object]) -> None:
    with MemoryBound():
        check_file(packed(patched(BASES[base], **fields), container), container)


@FUZZ
@given(
    base=st.sampled_from(sorted(NIFTI2_BASES)),
    container=containers,
    fields=mutations(nifti2=True),
)
def test_mutated_nifti2_header_fields(base: str, container: str, fields: dict[str, object]) -> None:
    with MemoryBound():
        check_file(packed(patched(NIFTI2_BASES[base], **fields), container), container)


positions = st.one_of(st.integers(0, 351), st.integers(0, 10**6))  # half of them in the header


@FUZZ
@given(
    base=st.sampled_from(sorted(BASES)),
    container=containers,
    compressed_flips=st.booleans(),  # flip bytes of the gzip stream itself, or of the NIfTI inside
    flips=st.lists(st.tuples(positions, st.integers(1, 255)), max_size=4),
    cut=st.none() | st.integers(0, 10**6),
    tail=st.binary(max_size=24),
)
def test_mutated_bytes(
    base: str,
    container: str,
    compressed_flips: bool,
    flips: list[tuple[int, int]],
    cut: int | None,
    tail: bytes,
) -> None:
    data = BASES[base]
    if not compressed_flips:
        data = flipped_at(data, flips)
    data = packed(data, container)
    if compressed_flips:
        data = flipped_at(data, flips)
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    with MemoryBound():
        check_file(data + tail, container)


def flipped_at(data: bytes, flips: list[tuple[int, int]]) -> bytes:
    changed = bytearray(data)
    for position, mask in flips:
        changed[position % len(changed)] ^= mask
    return bytes(changed)


#: Numeric NIfTI datatypes: uint8, int16, int32, float32, float64, int8, uint16, uint32, int64, uint64.
NUMERIC_CODES = [2, 4, 8, 16, 64, 256, 512, 768, 1024, 1280]
F32_MAX = float(np.finfo(np.float32).max)


@st.composite
def reinterpreted_volumes(draw: st.DrawFn) -> tuple[bytes, str]:
    """A valid header re-typed and re-shaped over random voxel bytes, scaled or not: a readable file."""
    header = BASES[draw(st.sampled_from(["int16", "int16_big_endian"]))][:352]
    code = draw(st.sampled_from(NUMERIC_CODES))
    itemsize = np.dtype(nib.nifti1.data_type_codes.dtype[code]).itemsize
    shape = draw(st.lists(st.integers(1, 5), min_size=2, max_size=3))
    shape += draw(st.sampled_from([[], [1], [1, 1]])) if len(shape) == 3 else []
    voxels = int(np.prod(shape)) * itemsize
    data = draw(st.binary(min_size=voxels, max_size=voxels + 8))  # extra bytes are ignored
    slope = draw(st.one_of(st.sampled_from([float("nan"), 0.0, 1.0, 2.0, -0.25]), floats32))
    inter = draw(st.one_of(st.sampled_from([0.0, 1.0, -1024.0]), floats32.filter(np.isfinite)))
    fields = {"dim": [len(shape), *shape, *[1] * (7 - len(shape))], "datatype": code, "bitpix": itemsize * 8}
    content = patched(header, **fields, scl_slope=slope, scl_inter=inter) + data
    container = draw(containers)
    return packed(content, container), container


def writable(path: Path) -> bool:
    """Whether SPEC.md's dtype policy can write every value of this file (nibabel's reading of it)."""
    image = nib.load(str(path))
    stored = np.asarray(image.dataobj.get_unscaled(), dtype=np.float64)
    values = image.get_fdata()
    slope, inter = float(image.dataobj.slope), float(image.dataobj.inter)  # 1.0, 0.0 when unscaled
    if (slope, inter) == (1.0, 0.0):
        if image.get_data_dtype().kind in "iu":
            return bool(np.all((values >= -(2**31)) & (values <= 2**31 - 1)))
        finite = values[np.isfinite(values)]
        return bool(np.all(np.abs(finite) <= F32_MAX))
    scaled = values[np.isfinite(stored)]  # stored NaN and infinities stay NaN and infinities
    return bool(np.all(np.isfinite(scaled) & (np.abs(scaled) <= F32_MAX)))


@FUZZ
@given(file=reinterpreted_volumes())
def test_reinterpreted_voxels_are_extracted_exactly_when_writable(file: tuple[bytes, str]) -> None:
    content, container = file
    with MemoryBound():
        decision = check_file(content, container)
    with tempfile.TemporaryDirectory() as temporary:
        path = Path(temporary) / (NAME if container == "gzip" else PLAIN)
        path.write_bytes(content)
        assert decision.startswith("extracted") == writable(path), decision
