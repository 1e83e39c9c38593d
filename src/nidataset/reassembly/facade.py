"""The public reassembly function: validate every option and the manifest, then run the per-source job.

The job (:func:`nidataset.reassembly.job.reassemble_source`) runs through the one runner
(:func:`nidataset.batch.runner.run_files`), once per source named in the manifest.
"""

from __future__ import annotations

import os
from concurrent.futures import Executor

from ..batch.runner import run_files
from ..batch.settings import run_options
from ..io.atomic import make_folder
from ..io.tables import write_failures_csv
from ..naming import failures_filename
from ..progress import Progress, as_progress
from ..results import RunResult
from .job import reassemble_source
from .manifests import sources_of
from .options import reassembly_options

__all__ = ["reassemble"]


def reassemble(
    slices_folder: str,
    output_path: str,
    manifest: str,
    *,
    suffix: str = "",
    fill: float = 0,
    workers: int | None = None,
    executor: Executor | None = None,
    progress: bool | Progress = True,
    save_failures: bool = False,
) -> RunResult:
    """Put 2D images named after a manifest's slices back into one NIfTI volume per source.

    Needs only the manifest and the images, not the source volumes. For each manifest row the image
    is ``<slices_folder>/<folder of path>/<stem of path><suffix><ext>`` with ``ext`` the extension of
    a readable format of :data:`nidataset.io.image_formats.IMAGE_FORMATS` (built in: ``.tif``,
    ``.tiff``, ``.png`` and ``.jpg``, the last two needing Pillow) or ``.npy``; each source becomes
    ``<output_path>/<prefix>.nii.gz`` (prefix: the source's name without ``.nii.gz`` / ``.nii``), of
    the manifest's ``shape_i, shape_j, shape_k`` and affine, in the images' dtype.

    Parameters
    ----------
    slices_folder : str
        The root the manifest's ``path`` column is relative to (the extraction's output folder, or a
        folder of predictions laid out the same way).
    output_path : str
        Folder for the volumes; created if needed.
    manifest : str
        A ``<view>_manifest.csv`` written with ``save_manifest=True`` (images' or annotations'): one
        view, any orientation, padding or spacing.
    suffix : str
        Text between the stem and the extension of the images to read, e.g. ``"_pred"`` for
        ``case_axial_007_pred.png`` beside ``case_axial_007.tif``.
    fill : float
        Value of the voxels no image covers (slices without an image, or without a manifest row).
        Such a volume is still written, and a note ``incomplete <source>: ...`` is logged.
    workers, executor, progress, save_failures
        As in :func:`~nidataset.slices.extract_slices_dataset`; the failure list is
        ``<output_path>/volumes_failed.csv``.

    Returns
    -------
    RunResult
        One outcome per source (``what="volumes"``): written (``note`` says when incomplete) or
        skipped with its reason.

    Raises
    ------
    FileNotFoundError
        ``slices_folder`` or ``manifest`` does not exist.
    ValueError
        A bad option; a manifest that lacks the SPEC columns reassembly reads, lists no slice, mixes
        views, or names two sources with the same prefix. Nothing is written then.
    nidataset.errors.OutputError
        The output location failed (disk full, no permission); the run stops.

    Notes
    -----
    A slice whose row says ``interpolation="none"`` (one whole voxel per pixel) goes back exactly:
    every voxel takes the value of the one pixel that shows it, and padding pixels are ignored.
    A resampled slice (any other ``pix2vox``) is resampled back: each voxel of its plane is mapped
    to its fractional pixel by the inverse of the matrix's in-plane part, then sampled from the
    pixels around it that show the volume (never padding): nearest for integer and boolean images
    (ties to the first of the four in row-major order), bilinear for float images.

    The volume's dtype is the images' (numpy's common type if they differ; bool is written as uint8,
    float16 as float32), widened only when ``fill`` does not fit it (``fill=-1`` with uint8 images
    gives int16). The header holds the affine as its sform (code 2) and nothing else of the
    source's header. A source is skipped, with a one-line reason and nothing written, when an image
    has another size than its row's ``rows`` x ``cols``, cannot be read, or two images (``.tif`` and
    ``.png``) match one slice; when its rows contradict each other (shape, affine, view, axis, two
    rows for one stored slice) or a row's ``pix2vox`` does not hold its slice; or when no image at
    all is found for it.

    Examples
    --------
    >>> import tempfile, numpy as np, nibabel as nib
    >>> from nidataset import extract_slices_dataset
    >>> folder = tempfile.mkdtemp()
    >>> mask = np.zeros((6, 8, 4), dtype=np.uint8)
    >>> mask[1:3, 2:6, 1] = 3
    >>> nib.save(nib.Nifti1Image(mask, np.diag([0.5, 0.5, 2.0, 1.0])), f"{folder}/case.nii.gz")
    >>> _ = extract_slices_dataset(folder, f"{folder}/slices", view="coronal", target_size=(8, 8),
    ...                            save_manifest=True, progress=False)
    >>> result = reassemble(f"{folder}/slices", f"{folder}/volumes",
    ...                     f"{folder}/slices/coronal_manifest.csv", progress=False)
    >>> result.summary()
    '1 of 1 files done, 1 volumes written'
    >>> back = nib.load(f"{folder}/volumes/case.nii.gz")
    >>> bool((np.asarray(back.dataobj) == mask).all()), back.get_data_dtype().name
    (True, 'uint8')
    """
    options = reassembly_options(slices_folder, output_path, manifest, suffix=suffix, fill=fill)
    run = run_options(workers, executor, progress, save_stats=False, save_failures=save_failures)
    if not os.path.isdir(options.slices_folder):
        raise FileNotFoundError(f"slices_folder {options.slices_folder!r} does not exist or is not a folder")
    sources = sources_of(options.manifest)
    view = next(iter(sources.values()))[0]["view"]
    make_folder(options.output_path)
    display = as_progress(run.progress)
    outcomes = run_files(
        reassemble_source,
        list(sources),
        options,
        workers=run.workers,
        executor=run.executor,
        progress=display,
        what="volumes",
    )
    result = RunResult((view,), tuple(outcomes), what="volumes")
    if run.save_failures:
        skipped = [(o.name, o.reason or "") for o in result.skipped]
        write_failures_csv(os.path.join(options.output_path, failures_filename("volumes")), skipped)
    display.finish(result.summary())
    return result
