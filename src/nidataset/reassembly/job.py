"""The per-source job: put one source's slice images back into its volume and write it.

:func:`reassemble_source` is a top-level function of a source's file name and a frozen
:class:`~nidataset.options.ReassemblyOptions`, returning a small :class:`~nidataset.results.Outcome`:
it pickles to any executor. It reads the manifest through a per-process cache
(:func:`~nidataset.reassembly.manifests.sources_of`), so a task carries only the manifest's path.
A problem of the source (a contradictory row, an unreadable image, an image of the wrong shape)
skips it with a reason and leaves nothing behind (:mod:`nidataset.batch.failures`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from ..batch.failures import attempt
from ..batch.memory import BUDGET
from ..errors import VolumeError
from ..geometry.sampling import BLOCK_VOXELS, sample_plane
from ..io.atomic import write_atomic
from ..io.image_files import find_image, image_extensions, image_shape, read_image
from ..naming import prefix_of
from ..results import Outcome
from .manifests import SlicePlan, SourcePlan, source_plan, sources_of
from .options import ReassemblyOptions

#: NIfTI-1 has no bool or float16 voxels: the nearest dtypes that hold every value.
_NIFTI_DTYPE: dict[np.dtype, np.dtype] = {
    np.dtype(bool): np.dtype(np.uint8),
    np.dtype(np.float16): np.dtype(np.float32),
}


def reassemble_source(source: str, options: ReassemblyOptions) -> Outcome:
    """Write ``<output_path>/<prefix>.nii.gz`` from the images of one source of the manifest."""
    return reassemble_file(source, options)[0]


def reassemble_file(source: str, options: ReassemblyOptions) -> tuple[Outcome, list[str]]:
    """:func:`reassemble_source`, and the path it wrote (none when skipped)."""
    notes: list[str] = []

    def work(written: list[str]) -> tuple[int, ...]:
        plan = _plan(source, options)
        volume, note = assemble(plan, options)
        path = os.path.join(options.output_path, f"{prefix_of(source)}.nii.gz")
        write_volume(path, volume, plan)
        written.append(path)
        notes.extend([note] if note else [])
        return (1,)

    outcome, written = attempt(source, work, what="volume")
    return (replace(outcome, note=notes[0]) if notes and not outcome.skipped else outcome), written


def write_volume(path: str, volume: np.ndarray, plan: SourcePlan) -> None:
    """Write the volume atomically in its own dtype, with the affine under the source's space codes.

    A code of 0 leaves that transform unset; a qform (rotation and zooms only) that cannot hold the
    affine, as with a sheared one, is left unset and the sform keeps it.
    """
    import nibabel as nib

    image = nib.Nifti1Image(volume, None, dtype=volume.dtype)
    qform, sform = plan.codes
    image.header.set_sform(plan.affine, code=sform)
    try:
        image.header.set_qform(plan.affine, code=qform, strip_shears=False)  # never a qform not the affine
    except nib.spatialimages.HeaderDataError:
        image.header.set_qform(None, code=0)
        if sform == 0:
            image.header.set_sform(plan.affine, code=2)
    write_atomic(path, lambda temporary: nib.save(image, temporary), ".nii.gz")


def _plan(source: str, options: ReassemblyOptions) -> SourcePlan:
    try:
        rows = sources_of(options.manifest).get(source)
    except (OSError, ValueError) as error:
        raise VolumeError(f"cannot read the manifest: {error}") from None
    if rows is None:
        raise VolumeError(f"the manifest {options.manifest!r} no longer lists it")
    return source_plan(source, rows)


def assemble(plan: SourcePlan, options: ReassemblyOptions) -> tuple[np.ndarray, str | None]:
    """The volume of one source, and a note when some of its voxels got the fill value."""
    images = _images(plan, options)
    first = next(images, None)
    if first is None:
        names = "|".join(image_extensions())
        raise VolumeError(
            f"no image for any of its {len(plan.slices)} slices (looked for <name>{options.suffix}{names} "
            f"under {options.slices_folder!r})"
        )
    voxels = math.prod(plan.shape)  # Python integers: numpy's int64 product would wrap around
    if voxels > np.iinfo(np.intp).max // 16:
        raise VolumeError(f"too large: a volume of shape {plan.shape} has more bytes than memory can address")
    dtype = volume_dtype(first[1].dtype, options.fill)
    # The volume, its coverage, the copy nibabel may make while writing it, and one slice at work.
    held = voxels * (2 * dtype.itemsize + 1) + slice_bytes(plan)
    with BUDGET.reserve(held, f"a volume of shape {plan.shape}"):
        # Fortran order, as NIfTI stores voxels: nibabel then writes without a transposing copy.
        volume = np.full(plan.shape, options.fill, dtype=dtype, order="F")
        covered = np.zeros(plan.shape, dtype=bool, order="F")
        common = first[1].dtype
        for sliced, image in _chain(first, images):
            common = np.promote_types(common, image.dtype)
            if volume_dtype(common, options.fill) != volume.dtype:  # images of mixed dtypes
                volume = volume.astype(volume_dtype(common, options.fill), order="F")
            values, hit = sample_plane(image, sliced.pix2vox, plan.axis, plan.plane)
            index = tuple(sliced.stored_index if d == plan.axis else slice(None) for d in range(3))
            if hit.all():
                volume[index] = values
            else:
                volume[index][hit] = values[hit]
            covered[index] = hit
        return volume, incompleteness(plan, covered, options.fill)


def slice_bytes(plan: SourcePlan) -> int:
    """What one slice holds while it is put back, at most: its image (up to 8 bytes a pixel), which
    pixels show the volume (a flag each), the plane's values and coverage, and one block of
    resampling (:data:`~nidataset.geometry.sampling.BLOCK_VOXELS`)."""
    pixels = max(s.rows * s.cols for s in plan.slices)
    plane = plan.plane[0] * plan.plane[1]
    return pixels * (8 + 1) + plane * (8 + 1) + BLOCK_VOXELS * 160


def _chain(
    first: tuple[SlicePlan, np.ndarray], rest: Iterator[tuple[SlicePlan, np.ndarray]]
) -> Iterator[tuple[SlicePlan, np.ndarray]]:
    yield first
    yield from rest


def _images(plan: SourcePlan, options: ReassemblyOptions) -> Iterator[tuple[SlicePlan, np.ndarray]]:
    """Each slice that has an image, with it, checked against its row's size; in manifest order."""
    for sliced in plan.slices:
        folder, name = os.path.split(sliced.path)
        stem = os.path.splitext(name)[0] + options.suffix
        path = find_image(os.path.join(options.slices_folder, folder), stem)
        if path is None:
            continue
        _check_shape(path, image_shape(path), sliced)  # from the header: a huge image is never decoded
        image = read_image(path)
        _check_shape(path, image.shape, sliced)
        yield sliced, image


def _check_shape(path: str, shape: tuple[int, ...], sliced: SlicePlan) -> None:
    if shape != (sliced.rows, sliced.cols):
        shown = "x".join(str(n) for n in shape)
        raise VolumeError(
            f"{os.path.basename(path)} is {shown or 'a single value'}; "
            f"the manifest says {sliced.rows}x{sliced.cols}"
        )


def incompleteness(plan: SourcePlan, covered: np.ndarray, fill: float) -> str | None:
    """The note of a volume some of whose voxels no image covers, else None."""
    if covered.all():
        return None
    count = plan.shape[plan.axis]
    empty = int(np.count_nonzero(~covered.any(axis=tuple(d for d in range(3) if d != plan.axis))))
    others = int(np.count_nonzero(~covered)) - empty * plan.plane[0] * plan.plane[1]
    parts = [f"{empty} of {count} {plan.view} slices missing"] if empty else []
    if others:
        parts.append(f"{others} voxels of {'the other' if empty else 'its'} slices not covered")
    shown = str(int(fill)) if fill.is_integer() else repr(fill)
    return f"incomplete {plan.name}: {' and '.join(parts)}, filled with {shown}"


def volume_dtype(images: np.dtype, fill: float) -> np.dtype:
    """The volume's dtype: the images' (bool as uint8, float16 as float32), widened only when the
    fill value does not fit it.

    >>> [volume_dtype(np.dtype(t), f).name for t, f in [("uint8", 0), ("uint8", -1), ("int16", 0.5)]]
    ['uint8', 'int16', 'float32']
    >>> [volume_dtype(np.dtype(t), f).name for t, f in [("float32", float("nan")), ("bool", 0)]]
    ['float32', 'uint8']
    """
    dtype = _NIFTI_DTYPE.get(np.dtype(images), np.dtype(images))
    if dtype.kind == "f":
        fits = not np.isfinite(fill) or abs(fill) <= np.finfo(dtype).max
        return dtype if fits else np.dtype(np.float64)
    fill = float(fill)
    if fill.is_integer() and np.iinfo(dtype).min <= fill <= np.iinfo(dtype).max:
        return dtype
    if fill.is_integer() and abs(fill) < 2**63:
        wider = np.promote_types(dtype, np.min_scalar_type(int(fill)))
    else:
        wider = np.promote_types(dtype, np.float32)
    return _NIFTI_DTYPE.get(wider, wider)
