"""One record per stage: every command refuses a bad geometry, window or format with the same words,
the resume keys are the ones earlier versions wrote, and the command line retypes no choice list."""

from __future__ import annotations

import ast
import pickle
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, write_volume
from nidataset import build_dataset, extract_annotations_dataset, extract_slices_dataset, preview_dataset
from nidataset.options import Geometry, Placement, SliceOptions, Values, annotation_options, slice_options
from nidataset.training.options import build_options

#: Keys written by nidataset before the stage records (main at f49f52b): records of runs made then
#: must still match, so these strings are the contract, not what the code happens to produce.
EARLIER_KEYS = [
    ("slices, defaults", "('case', None, 0.0, 'auto')"),
    (
        "slices, every stage",
        "('view', (64, 64), -1024.0, 'float32') {'orientation': 'radiological', 'spacing': 'isotropic', "
        "'window': 'brain', 'bits': 16, 'image_format': 'png', 'container': 'webdataset'}",
    ),
    (
        "annotations",
        "[('components', True), ('data_mode', 'box'), ('extraction_mode', 'volume'), "
        "('images_folder', None), ('orientation', 'stored'), ('saving_mode', 'view'), ('spacing', 0.5), "
        "('target_size', (32, 32))]",
    ),
    (
        "build, defaults",
        "[('orientation', 'stored'), ('spacing', None), ('target_size', None), ('pad_value', 'min'), "
        "('window', None), ('bits', 8), ('image_format', 'tiff'), ('compression', None), "
        "('labels', ('masks', 'yolo', 'coco')), ('components', False), ('select', 'all'), ('context', 0), "
        "('layout', 'yolo'), ('label_names', ()), ('coco_segmentation', 'rle'), ('classes', None), "
        "('dtype', 'auto'), ('interpolation', 'linear')]",
    ),
]

BUILD_DEFAULTS = {
    "orientation": "stored",
    "spacing": None,
    "target_size": None,
    "pad_value": "min",
    "window": None,
    "bits": 8,
    "image_format": "tiff",
    "compression": None,
    "labels": None,
    "components": False,
    "select": "all",
    "context": 0,
    "resume": False,
}


def keys() -> dict[str, str]:
    every_stage = slice_options(
        "o", ["axial", "coronal"], "view", (64, 64), -1024, "float32", orientation="radiological",
        spacing="isotropic", window="brain", bits=16, image_format="png", container="webdataset",
    )  # fmt: skip
    annotations = annotation_options(
        "o", "axial", "view", "volume", "box", (32, 32), components=True, spacing=0.5
    )
    return {
        "slices, defaults": slice_options("o", "axial", "case", None, 0.0).output_key,
        "slices, every stage": every_stage.output_key,
        "annotations": annotations.output_key,
        "build, defaults": build_options("o", "axial", **BUILD_DEFAULTS).output_key,  # type: ignore[arg-type]
    }


@pytest.mark.parametrize(("case", "key"), EARLIER_KEYS, ids=[case for case, _ in EARLIER_KEYS])
def test_resume_keys_are_the_ones_earlier_runs_recorded(case, key):
    assert keys()[case] == key


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    write_volume(images / "case.nii.gz", np.arange(6 * 5 * 4, dtype=np.int16).reshape(6, 5, 4))
    write_volume(masks / "case.nii.gz", np.ones((6, 5, 4), dtype=np.uint8))
    return images, masks


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("orientation", "sideways", "orientation must be one of 'stored', 'radiological', 'neurological'"),
        ("view", "oblique", "view must be one of 'axial', 'coronal', 'sagittal'"),
        ("target_size", (0, 4), "target_size must be None or (height, width), two positive integers"),
        ("spacing", -1, "spacing must be None, 'isotropic' or a positive number of millimetres"),
    ],
)
def test_every_command_refuses_a_bad_geometry_in_the_same_words(pair, tmp_path, option, value, words):
    images, masks = pair
    calls = {
        "slices": lambda **kw: extract_slices_dataset(str(images), str(tmp_path / "s"), progress=False, **kw),
        "annotations": lambda **kw: extract_annotations_dataset(
            str(masks), str(tmp_path / "a"), progress=False, **kw
        ),
        "build": lambda **kw: build_dataset(
            str(images), str(masks), str(tmp_path / "b"), progress=False, **kw
        ),
        "preview": lambda **kw: preview_dataset(
            str(images), str(tmp_path / "p"), str(masks), progress=False, **kw
        ),
    }
    if option in ("target_size", "spacing"):
        del calls["preview"]  # a preview has neither
    for name, call in calls.items():
        with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
            call(**{option: value})
        assert not (tmp_path / name[0]).exists(), name


def test_the_window_and_format_are_refused_alike_by_slices_and_build(pair, tmp_path):
    images, masks = pair
    for call in (
        lambda **kw: extract_slices_dataset(str(images), str(tmp_path / "s"), progress=False, **kw),
        lambda **kw: build_dataset(str(images), str(masks), str(tmp_path / "b"), progress=False, **kw),
    ):
        with pytest.raises(ValueError, match="bits=16 needs a window"):
            call(bits=16)
        with pytest.raises(ValueError, match="image_format must be one of 'tiff', 'png', 'jpeg'"):
            call(image_format="gif")


def test_a_command_record_shows_its_stages_fields_by_name_and_pickles_whole():
    options = SliceOptions("out", Geometry(("coronal",), target_size=(8, 8)), Values(window="brain"))
    assert (options.views, options.target_size, options.window, options.saving_mode) == (
        ("coronal",),
        (8, 8),
        "brain",
        "case",
    )
    assert pickle.loads(pickle.dumps(options)) == options
    assert Placement.checked("view", single=True).saving_mode == "flat"


def test_the_command_line_retypes_no_choice_list():
    """Every ``choices=`` of the command line reads a table or a Literal's values, never a literal list."""
    literal = []
    for path in sorted((ROOT / "src" / "nidataset" / "cli").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.keyword)
                and node.arg == "choices"
                and isinstance(node.value, ast.List | ast.Tuple | ast.Set)
                and all(isinstance(item, ast.Constant) for item in node.value.elts)
            ):
                literal.append(f"{path.name}:{node.lineno}")
    assert not literal
