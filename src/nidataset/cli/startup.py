"""The command's start: one BLAS thread, in the command's own process.

``import nibabel`` also imports pydicom when it is installed (about 0.09 s). Hiding pydicom from
nibabel's import was tried and left out: ``sys.modules`` is shared by the worker threads, so a DICOM
reader importing pydicom at that moment would see it missing and skip its series for a wrong reason.
The common NIfTI headers are read without nibabel (:mod:`nidataset.io.nifti_header`) instead.
"""

from __future__ import annotations

import os
import sys

#: The variables that set OpenBLAS's threads; the user's own setting is kept.
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")


def one_blas_thread() -> None:
    """Have numpy's OpenBLAS start one thread, if nothing says otherwise (before numpy is imported).

    OpenBLAS starts a thread per core that spins after numpy's import and after each small product
    (the 4 x 4 affines), about 0.05 CPU seconds each time, taken from the workers; nidataset's
    matrices are 4 x 4, so threads there never pay.
    """
    if "numpy" not in sys.modules and not any(name in os.environ for name in BLAS_THREADS):
        os.environ["OPENBLAS_NUM_THREADS"] = "1"
