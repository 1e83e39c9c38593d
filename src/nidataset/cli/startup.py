"""The command's start: one BLAS thread, nibabel without pydicom, in the command's own process
(issue 23).

``import nibabel`` imports pydicom when it is installed, about 0.09 s of a 0.3 s start, for the DICOM
extensions of NIfTI files, which nidataset never parses. The common NIfTI headers are read without
nibabel (:mod:`nidataset.io.nifti_header`), but the run report still asks nibabel for orientation
letters.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec


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


def hide_pydicom_from_nibabel() -> None:
    """Have nibabel, when first imported in this process, import without pydicom (the command only).

    ``import nibabel`` imports pydicom when it is installed, about 0.09 s, for the DICOM extensions
    of NIfTI files, which nidataset never parses (the run report imports nibabel for its orientation
    letters). Only the command line does this, in its own process: a program that imports nidataset
    keeps its nibabel as it is, and nidataset's own DICOM reader imports pydicom as usual.
    """
    if "nibabel" not in sys.modules and "pydicom" not in sys.modules:
        sys.meta_path.insert(0, _NibabelFinder())


class _NibabelFinder:
    """Finds nibabel once, with a loader that hides pydicom while nibabel's package runs (an import
    hook by protocol: importlib.abc would cost --help a few milliseconds)."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> ModuleSpec | None:
        if name != "nibabel":
            return None
        import importlib.util

        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None and "pydicom" not in sys.modules:
            spec.loader = _WithoutPydicom(spec.loader)  # type: ignore[assignment]  # a Loader by protocol
        return spec


class _WithoutPydicom:
    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def __getattr__(self, name: str) -> Any:  # resource readers and the like: the real loader's
        return getattr(self.loader, name)

    def create_module(self, spec: ModuleSpec) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        sys.modules["pydicom"] = None  # type: ignore[assignment]  # import pydicom: ImportError
        try:
            self.loader.exec_module(module)
        finally:
            if sys.modules.get("pydicom", 0) is None:
                del sys.modules["pydicom"]
