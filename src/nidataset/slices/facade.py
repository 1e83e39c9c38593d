"""The public API: extract 2D TIFF slices from NIfTI volumes.

Each function validates every option first, raising before any file is written, then runs the
per-file job (:func:`nidataset.slices.job.extract_volume`) through the one runner.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Executor

from ..batch.flow import fitting_frames, run_dataset
from ..batch.memory import POOL
from ..errors import VolumeError
from ..io.atomic import make_folder
from ..io.volumes import list_volumes, read_header
from ..options import (
    Bits,
    Compression,
    Container,
    DtypeMode,
    ImageFormat,
    Interpolation,
    Orientation,
    SavingMode,
    Spacing,
    View,
    WindowSpec,
    check_shard_prefixes,
    run_options,
    slice_options,
)
from ..progress import Progress
from ..results import RunResult
from .job import extract_volume, extract_volume_files, manifest_rows
from .pixels import refuse_format

__all__ = ["extract_slices", "extract_slices_dataset"]


def extract_slices(
    nii_path: str,
    output_path: str,
    view: View = "axial",
    target_size: tuple[int, int] | None = None,
    pad_value: float | str = 0.0,
    *,
    dtype: DtypeMode = "auto",
    orientation: Orientation = "stored",
    spacing: Spacing = None,
    interpolation: Interpolation = "linear",
    window: WindowSpec = None,
    bits: Bits = 8,
    image_format: ImageFormat = "tiff",
    compression: Compression | None = None,
    save_preview: bool = False,
) -> list[str]:
    """Extract every slice of one volume as ``<prefix>_<view>_<index>.tif`` straight into ``output_path``.

    Parameters
    ----------
    nii_path : str
        A ``.nii.gz`` or ``.nii`` file holding a 3D volume.
    output_path : str
        Folder for the slices; created if needed.
    view : {"axial", "coronal", "sagittal"}
        Slice along stored axis 2, 1 or 0. One view only: a list is refused with a ValueError
        before anything is written (the dataset function takes a list).
    target_size : (int, int), optional
        Pad every slice symmetrically to (height, width); the odd pixel goes bottom/right.
    pad_value : float or "min"
        Value of the padding pixels; ``"min"``: the volume's smallest real value (air in CT).
    dtype : {"auto", "float32"}
        ``"auto"`` keeps the volume's values in the narrowest TIFF dtype that holds them exactly;
        ``"float32"`` writes every slice as float32, like ``nidataset`` 0.9.1.
    orientation : {"stored", "radiological", "neurological"}
        ``"stored"``: the stored voxel axes (SPEC Part 1). ``"radiological"`` (3D Slicer, ITK-SNAP)
        and ``"neurological"`` (nilearn, niivue): the volume is brought to the closest RAS+ layout by
        axis permutations and flips only, then each view is shown as those viewers show it (axial:
        anterior at the top, patient right or left at the image's left); slice indices count
        from patient left, posterior or inferior. Padding applies to the oriented slices.
    spacing : None, "isotropic" or float
        ``None``: one pixel per voxel. ``"isotropic"``: each slice is resampled in-plane to square
        pixels at the finer of its two in-plane spacings; a number: square pixels of that many
        millimetres. Which slices exist does not change. Voxel sizes are the lengths of the affine's
        columns; an axis of n pixels of spacing s becomes ``round((n - 1) * s / s') + 1`` pixels,
        pixel 0 centred on voxel 0. ``target_size`` applies to the resampled slices.
    interpolation : {"linear", "nearest"}
        How resampled pixels are computed: linear (rounded to the nearest integer for integer
        dtypes), or nearest neighbour, which keeps label masks' values.
    window : None, str or (float, float)
        ``None``: values untouched. A preset (``"brain"`` (40, 80), ``"subdural"`` (75, 215),
        ``"stroke"`` (40, 40), ``"bone"`` (480, 2500), ``"soft_tissue"`` (50, 350), ``"lung"``
        (-600, 1500), ``"liver"`` (60, 160), ``"mediastinum"`` (50, 350)), or ``(center, width)``:
        the DICOM linear VOI function on the real values (slope and intercept applied), to
        ``uint8`` or, with ``bits=16``, ``uint16``. ``"auto"``: per volume, from the 0.5 and 99.5
        percentiles of its finite values. ``pad_value`` is a real value, windowed like the voxels.
    bits : {8, 16}
        Depth of a window's output.
    image_format : {"tiff", "png", "jpeg"}
        The file format and extension (``.tif``, ``.png``, ``.jpg``). PNG holds uint8 and uint16
        only: other values need a window (checked from the headers before anything is written);
        JPEG is lossy and needs an 8-bit window.
    compression : {None, "zlib", "zstd", "lzw"}
        Lossless TIFF compression; ``"zstd"`` and ``"lzw"`` need imagecodecs
        (``pip install 'nidataset[codecs]'``).
    save_preview : bool
        Write ``<output>/previews/<prefix>_<view>_preview.png`` (``output_path/previews/`` for one
        volume): evenly spaced slices in a grid, one window for the whole volume (``window``, or
        ``"auto"``), square millimetres, radiological unless ``orientation`` names another
        anatomical orientation, each tile captioned with its slice index. Each volume is then read
        whole, as for a list of views.

    Returns
    -------
    list of str
        The paths written, in slice order.

    Raises
    ------
    FileNotFoundError
        ``nii_path`` does not exist.
    ValueError
        A bad option, a slice larger than ``target_size``, or a volume that cannot be sliced
        (:class:`nidataset.errors.VolumeError`, naming the file and the reason).

    Examples
    --------
    >>> import tempfile, numpy as np, nibabel as nib
    >>> folder = tempfile.mkdtemp()
    >>> data = np.arange(60, dtype=np.int16).reshape(3, 4, 5)
    >>> nib.save(nib.Nifti1Image(data, np.eye(4)), f"{folder}/case.nii.gz")
    >>> paths = extract_slices(f"{folder}/case.nii.gz", f"{folder}/out", view="axial")
    >>> [os.path.basename(p) for p in paths[:2]]
    ['case_axial_000.tif', 'case_axial_001.tif']
    """
    options = slice_options(
        output_path,
        view,
        None,
        target_size,
        pad_value,
        dtype,
        orientation=orientation,
        spacing=spacing,
        interpolation=interpolation,
        window=window,
        bits=bits,
        image_format=image_format,
        compression=compression,
        save_preview=save_preview,
        single=True,
    )
    if not os.path.isfile(nii_path):
        raise FileNotFoundError(f"nii_path {nii_path!r} does not exist or is not a file")
    try:
        header = read_header(nii_path)
        fitting_frames(header, options)
    except VolumeError as error:
        raise VolumeError(f"{nii_path}: {error}") from None
    refused = refuse_format(header, options)
    if refused is not None:
        raise ValueError(f"{nii_path} ({refused[0]}): {refused[1]}; nothing was written")
    make_folder(options.output_path)
    try:
        outcome, written = extract_volume_files(nii_path, options)
    finally:
        POOL.clear()
    if outcome.reason is not None:
        raise VolumeError(f"{nii_path}: {outcome.reason}")
    return sorted(written)  # names sort in slice order; reversed axes are streamed from the far end


def extract_slices_dataset(
    nii_folder: str,
    output_path: str,
    view: View | Sequence[View] = "axial",
    saving_mode: SavingMode = "case",
    target_size: tuple[int, int] | None = None,
    pad_value: float | str = 0.0,
    save_stats: bool = False,
    *,
    dtype: DtypeMode = "auto",
    orientation: Orientation = "stored",
    spacing: Spacing = None,
    interpolation: Interpolation = "linear",
    window: WindowSpec = None,
    bits: Bits = 8,
    image_format: ImageFormat = "tiff",
    compression: Compression | None = None,
    save_preview: bool = False,
    save_report: bool = False,
    workers: int | None = None,
    executor: Executor | None = None,
    progress: bool | Progress = True,
    resume: bool = False,
    save_failures: bool = False,
    save_manifest: bool = False,
    container: Container = "files",
) -> RunResult:
    """Extract the slices of every volume in ``nii_folder``; a file that cannot be read is skipped.

    Parameters
    ----------
    nii_folder : str
        Folder whose ``.nii.gz`` / ``.nii`` files (not hidden, not in sub-folders) are the inputs,
        taken in sorted name order.
    output_path : str
        Root of the outputs; created if needed.
    view : str or list of str
        ``"axial"``, ``"coronal"``, ``"sagittal"``, or a list of them: each volume is then read once
        and every view written as separate calls would write it.
    saving_mode : {"case", "view"}
        ``<output>/<prefix>/<view>/`` per volume, or one ``<output>/<view>/`` folder.
    target_size, pad_value
        Padding, as in :func:`extract_slices`. Every volume's slices must fit: checked from the
        headers before anything is written.
    save_stats : bool
        Write ``<output>/<view>_slices_stats.csv``: ``FILENAME,NUM_SLICES,TOTAL_SLICES`` per volume
        extracted, then a ``TOTAL_SLICES`` row.
    dtype, orientation, spacing, interpolation, window, bits, image_format, compression, save_preview
        As in :func:`extract_slices`.
    save_report : bool
        Write ``<output>/report.html``: the run's summary, every input with its shape, spacing,
        dtype, orientation codes, value range and slices per view (or why it was skipped), its
        previews and links to its folders. A static page that opens from disk.
    workers : int, optional
        Volumes processed at once on a thread pool; default all cores, ``1`` runs in this thread.
    executor : concurrent.futures.Executor, optional
        Run the per-volume jobs on this executor instead (e.g. a Dask client's ``get_executor()``).
    progress : bool or nidataset.progress.Progress
        Show one progress bar over volumes (plain lines when stderr is not a terminal) and a summary
        line, on stderr. Skipped files are reported either way.
    resume : bool
        Skip volumes that an earlier run with the same options completed (each completed volume is
        recorded under ``<output>/.nidataset/``, checked against the input's size and time and
        the slice files present); the statistics still cover every volume.
    save_failures : bool
        Write ``<output>/slices_failed.csv`` (``FILENAME,REASON``) listing every skipped file.
    save_manifest : bool
        Write ``<output>/<view>_manifest.csv``: one row per slice file (also for volumes reused by
        ``resume``), in the order of the statistics, with its source, slice index, size, padding,
        the volume's shape and affine, and the matrices ``pix2vox`` (stored voxel
        ``[i, j, k] = pix2vox @ [row, col, 1]``) and ``pix2world`` (scanner millimetres).
    container : {"files", "webdataset"}
        ``"files"``: one file per slice. ``"webdataset"``: one tar shard per volume and view,
        ``<prefix>.tar`` in the folder its slice files would be in (``<output>/<view>/<prefix>.tar``,
        or ``<output>/<prefix>/<view>/<prefix>.tar`` in case mode), holding each slice's image, named
        as its file would be, then ``<prefix>_<view>_<index>.json``, its manifest row. For millions of
        slices, inode quotas and cluster file systems. Input names must hold no dot before the suffix.

    Returns
    -------
    RunResult
        Every file's outcome: slices written per view, or why it was skipped.

    Raises
    ------
    FileNotFoundError
        ``nii_folder`` is missing or holds no NIfTI file.
    ValueError
        A bad option, two inputs with the same prefix, or a slice larger than ``target_size``.
    nidataset.errors.OutputError
        The output location failed (disk full, no permission); the run stops.
    """
    options = slice_options(
        output_path,
        view,
        saving_mode,
        target_size,
        pad_value,
        dtype,
        resume=resume,
        orientation=orientation,
        spacing=spacing,
        interpolation=interpolation,
        window=window,
        bits=bits,
        image_format=image_format,
        compression=compression,
        save_preview=save_preview,
        measure_range=save_report is True,
        container=container,
    )
    if options.sharded:
        check_shard_prefixes(list_volumes(nii_folder))
    run = run_options(
        workers,
        executor,
        progress,
        save_stats=save_stats,
        save_failures=save_failures,
        save_manifest=save_manifest,
        save_report=save_report,
    )
    return run_dataset(
        extract_volume, options, nii_folder, run, what="slices", describe=manifest_rows, refuse=refuse_format
    )
