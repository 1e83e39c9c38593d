"""The classes of a built dataset: label values in order, and their names (``label_names=``).

SPEC Part 3: class ids count from 0 (YOLO) or 1 (COCO categories) in label-value order over the label
values the masks hold and the values ``label_names`` names (a name for a value no mask holds is kept,
so that datasets sharing ``label_names`` share class ids); a value without a name is ``label_<v>``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: The largest label value a mask image holds (uint16).
MAX_LABEL = 65535


@dataclass(frozen=True)
class Classes:
    """The dataset's label values in class order (class id = position) and each one's name."""

    values: tuple[int, ...] = ()
    names: tuple[str, ...] = ()

    @classmethod
    def of(cls, found: Iterable[int], label_names: Mapping[int, str]) -> Classes:
        """The classes of the values found in the masks and those ``label_names`` names.

        >>> Classes.of([3, 1], {2: "liver"})
        Classes(values=(1, 2, 3), names=('label_1', 'liver', 'label_3'))
        """
        values = tuple(sorted({int(v) for v in found} | set(label_names)))
        return cls(values, tuple(label_names.get(v, f"label_{v}") for v in values))

    def index(self) -> dict[int, int]:
        """Label value -> class id from 0 (YOLO); add 1 for COCO's category ids."""
        return {value: number for number, value in enumerate(self.values)}


def check_label_names(label_names: object) -> tuple[tuple[int, str], ...]:
    """``label_names`` as sorted (value, name) pairs: a mapping, a JSON file's path, or None.

    Values are whole numbers 1..65535 (JSON keys may be their text); names are non-empty text on one
    line, each used once (tools look classes up by name).

    >>> check_label_names({2: "tumour", "1": "liver"})
    ((1, 'liver'), (2, 'tumour'))
    """
    if label_names is None:
        return ()
    if isinstance(label_names, str | os.PathLike):
        label_names = _from_file(os.fspath(label_names))
    if not isinstance(label_names, Mapping):
        raise ValueError(
            f"label_names must be a mapping {{value: name}} or a JSON file's path; got {label_names!r}"
        )
    pairs = sorted((_value(key), _name(key, name)) for key, name in label_names.items())
    names = [name for _, name in pairs]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice or len({v for v, _ in pairs}) != len(pairs):
        raise ValueError(f"label_names gives one name to two values: {', '.join(twice) or 'repeated value'}")
    return tuple(pairs)


def parse_label_names(text: str) -> object:
    """The CLI's ``--label-names``: ``1=liver,2=tumour``, or the path of a JSON file.

    >>> parse_label_names("1=liver, 2=tumour")
    {'1': 'liver', '2': 'tumour'}
    """
    if "=" not in text:
        return text
    found: dict[str, str] = {}
    for item in text.split(","):
        key, sign, name = item.partition("=")
        if not sign:
            raise ValueError(f"--label-names: VALUE=NAME items separated by commas; not {item.strip()!r}")
        found[key.strip()] = name.strip()
    return found


def _from_file(path: str) -> object:
    try:
        with open(path, encoding="utf-8-sig") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise FileNotFoundError(f"label_names file {path!r} does not exist") from None
    except ValueError as error:
        raise ValueError(f"label_names file {path!r} is not JSON {{value: name}}: {error}") from None


def _value(key: object) -> int:
    try:
        value = int(key) if isinstance(key, int | str) and not isinstance(key, bool) else -1  # type: ignore[arg-type]
    except ValueError:
        value = -1
    if not 1 <= value <= MAX_LABEL:
        raise ValueError(f"label_names: {key!r} is not a label value (a whole number 1..{MAX_LABEL})")
    return value


def _name(key: object, name: object) -> str:
    if not isinstance(name, str) or not name.strip() or any(c in name for c in "\r\n"):
        raise ValueError(f"label_names: the name of {key!r} must be non-empty text on one line; got {name!r}")
    return name.strip()
