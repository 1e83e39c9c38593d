"""Checking the caller's options, once and up front: ValueError naming the parameter and what is allowed."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from concurrent.futures import Executor

import numpy as np

from .views import VIEWS

_F32_MAX = float(np.finfo(np.float32).max)


def check_choice(name: str, value: object, allowed: Sequence[str]) -> str:
    """``value`` if it is one of ``allowed``, else a ValueError that lists them."""
    if not isinstance(value, str) or value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{name} must be one of {choices}; got {value!r}")
    return value


def check_views(view: str | Sequence[str]) -> tuple[str, ...]:
    """One view, or a list of distinct views, as a tuple.

    >>> check_views("axial"), check_views(["coronal", "axial"])
    (('axial',), ('coronal', 'axial'))
    """
    views = (view,) if isinstance(view, str) or not isinstance(view, Sequence) else tuple(view)
    if not views:
        raise ValueError("view must name at least one of 'axial', 'coronal', 'sagittal'; got an empty list")
    for one in views:
        check_choice("view", one, VIEWS)
    if len(set(views)) != len(views):
        raise ValueError(f"view lists a view twice: {list(views)!r}")
    return views


def check_target_size(target_size: object) -> tuple[int, int] | None:
    """None, or (height, width) as two positive integers."""
    if target_size is None:
        return None
    if (
        not isinstance(target_size, Sequence)
        or isinstance(target_size, str)
        or len(target_size) != 2
        or not all(_is_positive_int(n) for n in target_size)
    ):
        raise ValueError(
            f"target_size must be None or (height, width), two positive integers; got {target_size!r}"
        )
    return int(target_size[0]), int(target_size[1])


def _is_positive_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and int(value) > 0


def check_pad_value(pad_value: object) -> float:
    """A real number that float32 can hold (NaN and infinities allowed, finite overflow not)."""
    if isinstance(pad_value, bool) or not isinstance(pad_value, numbers.Real):
        raise ValueError(f"pad_value must be a number; got {pad_value!r}")
    value = float(pad_value)
    if math.isfinite(value) and abs(value) > _F32_MAX:
        raise ValueError(
            f"pad_value must fit float32 (at most {_F32_MAX:.4g} in magnitude); got {pad_value!r}"
        )
    return value


def check_workers(workers: object, executor: object) -> int | None:
    """None (all cores) or a positive integer; and an Executor, if given, needs no worker count."""
    if workers is not None and not _is_positive_int(workers):
        raise ValueError(f"workers must be None (all cores) or a positive integer; got {workers!r}")
    if executor is not None and not (isinstance(executor, Executor) or hasattr(executor, "submit")):
        raise ValueError(f"executor must be a concurrent.futures.Executor; got {type(executor).__name__}")
    return None if workers is None else int(workers)  # type: ignore[call-overload]
