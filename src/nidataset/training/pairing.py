"""Which mask belongs to which image: the same prefix, nnU-Net's channel names, or a mask suffix.

An image ``case.nii.gz`` takes the mask ``case``, or ``case`` plus one of the suffixes (``case_seg``);
an nnU-Net image ``case_0000`` (a four-digit channel) takes ``case`` the same way, so every channel of
a case shares its mask. An image without a mask and a mask without an image are listed with a reason.
"""

from __future__ import annotations

import functools
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ..naming import prefix_of

_CHANNEL = re.compile(r"^(?P<case>.+)_(?P<channel>\d{4})$")


@dataclass(frozen=True)
class Pairing:
    """Images' masks, images without a mask (with the names tried), masks without an image."""

    masks: dict[str, str]  # image file name -> mask path
    unpaired_images: dict[str, str]  # image file name -> reason
    unpaired_masks: list[str]  # mask file names


def case_of(prefix: str) -> str:
    """The case an image prefix belongs to: nnU-Net's channel suffix removed.

    >>> case_of("liver_012_0000"), case_of("liver_012")
    ('liver_012', 'liver_012')
    """
    match = _CHANNEL.match(prefix)
    return match.group("case") if match else prefix


@functools.lru_cache(maxsize=4)  # the runs of one process, not every run it ever made
def channels_per_case(masks: tuple[tuple[str, str], ...]) -> Counter[str]:
    """How many paired images each case has (``masks``: the (image name, mask path) pairs), counted
    once per run rather than once per image, which made the manifest quadratic in the pairs.

    >>> channels_per_case((("a_0000.nii", "m"), ("a_0001.nii", "m"), ("b.nii", "n")))["a"]
    2
    """
    return Counter(case_of(prefix_of(name)) for name, _ in masks)


def pair(images: Sequence[str], masks: Sequence[str], suffixes: Sequence[str]) -> Pairing:
    """Pair image paths with mask paths by prefix.

    >>> images, masks = ["i/a_0000.nii.gz", "i/b.nii", "i/c.nii.gz"], ["m/a.nii.gz", "m/b_seg.nii.gz"]
    >>> result = pair(images, masks, ["_seg"])
    >>> result.masks, result.unpaired_images, result.unpaired_masks
    ({'a_0000.nii.gz': 'm/a.nii.gz', 'b.nii': 'm/b_seg.nii.gz'}, {'c.nii.gz': 'no mask named c, c_seg'}, [])
    """
    by_prefix = {prefix_of(os.path.basename(path)): path for path in masks}
    found: dict[str, str] = {}
    missing: dict[str, str] = {}
    for path in images:
        name = os.path.basename(path)
        prefix = prefix_of(name)
        bases = dict.fromkeys([prefix, case_of(prefix)])
        candidates = [base + suffix for base in bases for suffix in ("", *suffixes)]
        match = next((by_prefix[c] for c in candidates if c in by_prefix), None)
        if match is None:
            missing[name] = f"no mask named {', '.join(candidates)}"
        else:
            found[name] = match
    used = set(found.values())
    return Pairing(found, missing, [os.path.basename(p) for p in masks if p not in used])
