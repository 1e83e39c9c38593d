"""The single checks the stage records (:mod:`nidataset.stages`) and the option builders share: one
value of a list, a flag, views, a window, a spacing, a target size, a pad value, a folder, a path.
Each raises ValueError naming the parameter and what is allowed."""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Sequence
from typing import Literal, get_args

from .naming import prefix_of
from .text import first_few

_F32_MAX = 3.4028234663852886e38  # float(np.finfo(np.float32).max), without importing numpy here
View = Literal["axial", "coronal", "sagittal"]
VIEWS: tuple[str, ...] = get_args(View)


def check_choice(name: str, value: object, allowed: Sequence[str]) -> str:
    """``value`` if it is one of ``allowed``, else a ValueError that lists them."""
    if not isinstance(value, str) or value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{name} must be one of {choices}; got {value!r}")
    return value


def check_flag(name: str, value: object) -> bool:
    """True or False (numpy booleans too), nothing that merely looks truthy."""
    if type(value).__name__ not in ("bool", "bool_"):
        raise ValueError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def check_views(view: object) -> tuple[str, ...]:
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
    return views  # type: ignore[return-value]


def check_window(window: object, several: bool = True) -> str | tuple[float, float] | None:
    """None, a preset name, "auto", or (center, width) with a finite center and a width of at least 1;
    or, with ``several``, a list of three presets or pairs (the channels of an RGB image).

    >>> check_window("brain"), check_window((40, 80)), check_window("auto")
    ('brain', (40.0, 80.0), 'auto')
    >>> check_window(["brain", (75, 215), "bone"])
    ('brain', (75.0, 215.0), 'bone')
    """
    from .values.windows import PRESETS

    if several_windows(window):  # SPEC Part 3: three windows as the channels of an RGB image
        if not several:
            raise ValueError(f"window must be one window here, not several: {window!r}")
        if len(window) != 3:  # type: ignore[arg-type]
            count = len(window)  # type: ignore[arg-type]
            raise ValueError(
                f"window as channels takes exactly three windows (R, G, B); got {count}: {window!r}"
            )
        return tuple(_one_of_three(one) for one in window)  # type: ignore[attr-defined,return-value]
    if window is None or window == "auto" or (isinstance(window, str) and window in PRESETS):
        return window  # type: ignore[return-value]
    if isinstance(window, str):
        names = ", ".join(repr(name) for name in ("auto", *PRESETS))
        raise ValueError(f"window must be None, (center, width), or one of {names}; got {window!r}")
    if (
        not isinstance(window, Sequence)
        or len(window) != 2
        or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in window)
        or not all(math.isfinite(float(v)) for v in window)
        or float(window[1]) < 1
    ):
        raise ValueError(f"window must be (center, width) with finite numbers and width >= 1; got {window!r}")
    return float(window[0]), float(window[1])


def several_windows(window: object) -> bool:
    """A list of windows (each a name or a pair), not one ``(center, width)``."""
    return (
        isinstance(window, Sequence)
        and not isinstance(window, str)
        and any(isinstance(one, str | Sequence) for one in window)
    )


def _one_of_three(window: object) -> str | tuple[float, float]:
    """One of several windows: a preset or (center, width), not "auto" nor a list."""
    if window is None or window == "auto" or several_windows(window):
        raise ValueError(f"window as channels takes presets or (center, width) pairs, not {window!r}")
    return check_window(window)  # type: ignore[return-value]


def check_window_channels(window: object, context: object) -> None:
    """Three windows make the channels of an RGB image, and so does ``context``: not both.

    >>> check_window_channels(("brain", "subdural", "bone"), 1)
    Traceback (most recent call last):
    ...
    ValueError: window= with three windows makes the channels: it cannot be combined with context=1
    """
    if several_windows(window) and context:
        raise ValueError(
            f"window= with three windows makes the channels: it cannot be combined with context={context!r}"
        )


def check_spacing(spacing: object) -> str | float | None:
    """None, "isotropic", or a positive finite number of millimetres.

    >>> check_spacing("isotropic"), check_spacing(0.5), check_spacing(None)
    ('isotropic', 0.5, None)
    """
    if spacing is None or spacing == "isotropic":
        return spacing  # type: ignore[return-value]
    if (
        isinstance(spacing, bool)
        or not isinstance(spacing, numbers.Real)
        or not math.isfinite(float(spacing))
        or float(spacing) <= 0
    ):
        raise ValueError(
            f"spacing must be None, 'isotropic' or a positive number of millimetres; got {spacing!r}"
        )
    return float(spacing)


def check_target_size(target_size: object) -> tuple[int, int] | None:
    """None, or (height, width) as two positive integers."""
    if target_size is None:
        return None
    if (
        not isinstance(target_size, Sequence)
        or isinstance(target_size, str)
        or len(target_size) != 2
        or not all(is_positive_int(n) for n in target_size)
    ):
        raise ValueError(
            f"target_size must be None or (height, width), two positive integers; got {target_size!r}"
        )
    return int(target_size[0]), int(target_size[1])


def is_positive_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and int(value) > 0


def check_pad_value(pad_value: object) -> float | str:
    """A real number that float32 can hold (NaN and infinities allowed, finite overflow not), or
    "min": each volume's minimum real value (SPEC Part 3)."""
    if pad_value == "min":
        return "min"
    if isinstance(pad_value, bool) or not isinstance(pad_value, numbers.Real):
        raise ValueError(f'pad_value must be a number or "min"; got {pad_value!r}')
    value = float(pad_value)
    if math.isfinite(value) and abs(value) > _F32_MAX:
        raise ValueError(
            f"pad_value must fit float32 (at most {_F32_MAX:.4g} in magnitude); got {pad_value!r}"
        )
    return value


def check_folder(name: str, value: object) -> str | None:
    """None, or an existing folder's path."""
    if value is None:
        return None
    path = os.fspath(value)  # type: ignore[call-overload]
    if not os.path.isdir(path):
        raise FileNotFoundError(f"{name} {path!r} does not exist or is not a folder")
    return str(path)


def check_path(name: str, value: object) -> str:
    """A path given as text or an ``os.PathLike``."""
    if not isinstance(value, str | os.PathLike) or not os.fspath(value):
        raise ValueError(f"{name} must be a path (str or os.PathLike); got {value!r}")
    return os.fsdecode(os.fspath(value))


def check_shard_prefixes(names: Sequence[str]) -> None:
    """WebDataset takes a sample's key up to the first dot of a member's name: a prefix with a dot
    would split one slice into a wrong key and field. ValueError naming such inputs.

    >>> check_shard_prefixes(["case_001.nii.gz"])
    >>> check_shard_prefixes(["case.v2.nii.gz"])
    Traceback (most recent call last):
    ...
    ValueError: container='webdataset' needs input names without a dot before .nii.gz / .nii (webdataset \
takes a sample's key up to the first dot of its file names); rename case.v2.nii.gz, or use container='files'
    """
    dotted = [os.path.basename(name) for name in names if "." in prefix_of(os.path.basename(name))]
    if dotted:
        shown = first_few(dotted)
        raise ValueError(
            "container='webdataset' needs input names without a dot before .nii.gz / .nii (webdataset "
            f"takes a sample's key up to the first dot of its file names); rename {shown}, "
            "or use container='files'"
        )


def check_select(select: object) -> str | tuple[object, ...]:
    """Select "all", "labelled", ("labelled", k) with k >= 0, or (start, stop, step) with step >= 1.

    >>> check_select(("labelled", 2)), check_select((10, 50, 5))
    (('labelled', 2), (10, 50, 5))
    """
    if select in ("all", "labelled"):
        return select  # type: ignore[return-value]
    if isinstance(select, Sequence) and not isinstance(select, str):
        items = tuple(select)
        whole = all(isinstance(v, int) and not isinstance(v, bool) for v in items[1:])
        if len(items) == 2 and items[0] == "labelled" and whole and items[1] >= 0:  # type: ignore[operator]
            return items
        if len(items) == 3 and whole and isinstance(items[0], int) and items[0] >= 0 and items[2] >= 1:  # type: ignore[operator]
            return items
    raise ValueError(
        "select must be 'all', 'labelled', ('labelled', k) with k >= 0, or (start, stop, step) with "
        f"start >= 0 and step >= 1; got {select!r}"
    )
