"""Label files created by the workers, filled by the finishers: each YOLO (and YOLO-seg) file is
created empty and hidden while its pair is written, and its finisher fills it once the class ids are
known and renames it into place. Whatever happens in between, the tree is the one a fresh run writes
and no temporary is left."""

from __future__ import annotations

import re

import pytest

from build_cases import labelled_mask, make_inputs, tree, write_pair
from nidataset import build_dataset
from nidataset.errors import VolumeError
from nidataset.training import facade, writer

#: A temporary's name: hidden, the final name, 12 hex digits, ``.partial``.
TEMPORARY = re.compile(r"\..+\.[0-9a-f]{12}\.partial")
OPTIONS = {"image_format": "png", "window": "brain", "select": "all", "progress": False}


def _temporaries(root):
    return [p for p in root.rglob("*") if TEMPORARY.fullmatch(p.name)]


def _inputs(tmp_path):
    images, masks = make_inputs(tmp_path / "in", cases=3)
    write_pair(images, masks, "extra", labelled_mask(2, (1, 2)))  # adds class 2: the ids of 3 move
    return images, masks


@pytest.mark.parametrize("labels", [("masks", "yolo", "coco"), ("masks", "yolo-seg")])
def test_a_resumed_run_writes_the_label_files_again_without_their_temporaries(tmp_path, labels):
    images, masks = _inputs(tmp_path)
    out = tmp_path / "out"
    build_dataset(str(images), str(masks), str(out), labels=labels, **OPTIONS)
    first = tree(out)
    result = build_dataset(str(images), str(masks), str(out), labels=labels, resume=True, **OPTIONS)
    assert len(result.done) == 5 and not _temporaries(out)
    assert tree(out) == first
    assert sum(name.startswith("labels/") and name.endswith(".txt") for name in first) == 5 * 12 + 1


def test_a_run_stopped_before_its_finisher_leaves_temporaries_the_next_run_uses_or_removes(
    tmp_path, monkeypatch
):
    """The pairs are done and their records complete, the finisher never ran: the next run resumes the
    pairs and fills their temporaries; those of a pair it no longer has are removed."""
    images, masks = _inputs(tmp_path)
    out = tmp_path / "out"
    finish = facade.finish_dataset

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(facade, "finish_dataset", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_dataset(str(images), str(masks), str(out), labels=("masks", "yolo"), **OPTIONS)
    left = _temporaries(out)
    assert len(left) == 5 * 12 and not list(out.glob("labels/*.txt"))  # nothing visible yet
    assert any(p.name.startswith(".case_1_") for p in left)
    monkeypatch.setattr(facade, "finish_dataset", finish)
    (images / "case_1_0000.nii.gz").unlink()
    (masks / "case_1.nii.gz").unlink()
    build_dataset(str(images), str(masks), str(out), labels=("masks", "yolo"), resume=True, **OPTIONS)
    assert not _temporaries(out)
    fresh = tmp_path / "fresh"
    build_dataset(str(images), str(masks), str(fresh), labels=("masks", "yolo"), **OPTIONS)
    assert tree(out) == tree(fresh)


def test_a_pair_that_fails_removes_its_temporaries(tmp_path, monkeypatch):
    """A pair that fails part-way (its sixth image cannot be written), after the label files of five
    slices were reserved: its temporaries go with its files."""
    images, masks = _inputs(tmp_path)
    reserved, reserve, write_image = [], writer.reserve_temporary, writer.write_image

    def counted(path):
        reserved.append(reserve(path))
        return reserved[-1]

    def failing(path, *args, **kwargs):
        if "extra_0000_axial_005" in path:
            raise VolumeError("cannot write this one")
        return write_image(path, *args, **kwargs)

    monkeypatch.setattr(writer, "reserve_temporary", counted)
    monkeypatch.setattr(writer, "write_image", failing)
    out = tmp_path / "out"
    result = build_dataset(str(images), str(masks), str(out), labels=("masks", "yolo"), **OPTIONS)
    assert [(o.name, o.reason) for o in result.skipped] == [("extra_0000.nii.gz", "cannot write this one")]
    assert sum("extra" in path for path in reserved) == 5
    assert not _temporaries(out) and not [p for p in out.rglob("*") if "extra" in p.name]
    assert len(list(out.glob("labels/*.txt"))) == 4 * 12 + 1  # the other pairs', and classes.txt
