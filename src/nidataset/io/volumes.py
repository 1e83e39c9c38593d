"""Finding the inputs: the dataset folder's volumes, sorted, their prefixes unique on any disk.

Which names are inputs comes from the input table (:mod:`nidataset.io.readers`); a sub-folder is an
input only when a registered format claims it (a DICOM series), else it is ignored. The names
``Header``, ``VolumeReader`` (the NIfTI reader) and ``read_header`` stay importable from here.
"""

from __future__ import annotations

import os
import unicodedata

from .nifti import NiftiReader as VolumeReader
from .readers import (
    Header,
    claimed_folder,
    describe_inputs,
    folder_inputs,
    input_suffixes,
    is_input_name,
    prefix_of,
    read_header,
)

__all__ = ["Header", "VolumeReader", "find_volume", "list_volumes", "portable_key", "read_header"]


def list_volumes(folder: str) -> list[str]:
    """Paths of the dataset's inputs directly inside ``folder``, sorted by name.

    Inputs are the files with a registered suffix and the sub-folders a registered format claims.
    Raises FileNotFoundError when the folder is missing or holds no input, and ValueError when
    it cannot be listed or two inputs share a prefix (``a.nii`` and ``a.nii.gz`` would write the same
    slices), also when their prefixes differ only in case or Unicode normalisation.
    """
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"nii_folder {folder!r} does not exist or is not a folder")
    try:
        with os.scandir(folder) as entries:
            names = sorted(e.name for e in entries if _is_input(folder, e))
        names = sorted(os.path.basename(p) for n in names for p in folder_inputs(os.path.join(folder, n)))
    except OSError as error:
        raise ValueError(f"nii_folder {folder!r} cannot be listed: {error.strerror or error}") from None
    if not names:
        raise FileNotFoundError(f"nii_folder {folder!r} holds no {describe_inputs()}")
    _check_unique_prefixes(names)
    return [os.path.join(folder, name) for name in names]


def find_volume(folder: str, prefix: str) -> str | None:
    """The input of ``folder`` whose prefix is ``prefix`` (longest suffix first: ``.nii.gz`` before
    ``.nii``), else its sub-folder ``prefix`` when a format claims it, or None.

    The suffix's case does not matter (``case.NII.GZ``); the prefix's does.
    """
    suffixes = input_suffixes()
    for suffix in suffixes:
        path = os.path.join(folder, prefix + suffix)
        if os.path.isfile(path):
            return path
    if claimed_folder(os.path.join(folder, prefix)) is not None:
        return os.path.join(folder, prefix)
    try:  # rarely reached: only for an upper-case suffix, or no such input
        with os.scandir(folder) as entries:
            found = sorted(e.name for e in entries if is_input_name(e.name) and prefix_of(e.name) == prefix)
    except OSError:
        return None
    found.sort(key=lambda name: suffixes.index(name[len(prefix) :].lower()))
    paths = [os.path.join(folder, name) for name in found]
    return next((path for path in paths if os.path.isfile(path)), None)


def _is_input(folder: str, entry: os.DirEntry[str]) -> bool:
    """A file with a registered suffix, or a folder a registered format claims; never a hidden name."""
    if entry.name.startswith("."):
        return False
    if _is_dir(entry):
        return claimed_folder(os.path.join(folder, entry.name)) is not None
    return is_input_name(entry.name)


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _check_unique_prefixes(names: list[str]) -> None:
    """Two inputs whose outputs would share names, here or on a case-insensitive disk, are refused.

    Datasets move between file systems: macOS, Windows, exFAT and most SMB shares fold case, and
    macOS normalises Unicode, so ``Case01`` and ``case01`` (or an ``é`` composed and decomposed)
    would overwrite each other's slices there.
    """
    seen: dict[str, str] = {}
    for name in names:
        prefix = prefix_of(name)
        key = portable_key(prefix)
        if key not in seen:
            seen[key] = name
            continue
        other = prefix_of(seen[key])
        if other == prefix:
            raise ValueError(
                f"{seen[key]!r} and {name!r} have the same prefix {prefix!r} and would write the "
                "same slices; remove or rename one of them"
            )
        raise ValueError(
            f"{seen[key]!r} and {name!r} have prefixes {other!r} and {prefix!r} that differ only in case "
            "or Unicode normalisation: on a case-insensitive disk (macOS, Windows, exFAT, SMB) they "
            "would write the same slices; rename one of them"
        )


def portable_key(prefix: str) -> str:
    """``prefix`` as a case-insensitive, normalising file system compares names.

    >>> portable_key("Case01") == portable_key("case01"), portable_key("e\u0301") == portable_key("\u00e9")
    (True, True)
    """
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", prefix).casefold())
