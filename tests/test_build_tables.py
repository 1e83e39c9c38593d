"""The builder's tables: a label format registered at test time runs through ``build_dataset`` and the
command line without editing any module; the CLI's choices come from the tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from build_cases import make_inputs
from nidataset import build_dataset
from nidataset.cli import main
from nidataset.training import tables
from nidataset.training.plugins import FinishedDataset, LabelFormat, LabelSlice


def write_centres(item: LabelSlice) -> object:
    """A toy format: one line ``value row col`` per object (its pixels' mean), and an entry counting them."""
    lines = []
    for found in item.objects:
        rows, cols = np.nonzero(found.mask)
        lines.append(f"{found.label} {rows.mean():.1f} {cols.mean():.1f}\n")
    with open(item.place(".ctr"), "w", encoding="utf-8") as handle:
        handle.write("".join(lines))
    return len(lines)


def finish_centres(dataset: FinishedDataset) -> list[str]:
    counts = {str(split): sum(dataset.entries["centres"][split]) for split in dataset.splits}  # type: ignore[misc]
    path = Path(dataset.output_path) / "centres.json"
    path.write_text(json.dumps(counts))
    return [str(path)]


@pytest.fixture
def centres():
    tables.register_label_format(LabelFormat("centres", "centres", write_centres, finish_centres, "toy"))
    yield
    tables.LABEL_FORMATS.pop("centres")


def test_a_registered_label_format_runs_through_the_api_and_the_command_line(tmp_path, centres):
    images, masks = make_inputs(tmp_path, cases=2)
    out = tmp_path / "api"
    build_dataset(str(images), str(masks), str(out), labels=("masks", "centres"), progress=False)
    files = sorted((out / "centres").glob("*.ctr"))
    assert {p.stem for p in files} == {p.stem for p in (out / "images").iterdir()}
    lines = sum(len(p.read_text().splitlines()) for p in files)
    assert lines > 0 and json.loads((out / "centres.json").read_text()) == {"None": lines}
    code = main(["build", str(images), str(masks), str(tmp_path / "cli"), "--labels", "centres", "--quiet"])
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "cli" / "centres").iterdir()) == [p.name for p in files]
    assert (tmp_path / "cli" / "centres.json").read_bytes() == (out / "centres.json").read_bytes()


def test_the_command_line_offers_what_the_tables_hold(capsys, centres):
    with pytest.raises(SystemExit):
        main(["build", "--help"])
    shown = capsys.readouterr().out
    for name in [*tables.LABEL_FORMATS, *tables.LAYOUTS]:
        assert name in shown


def test_two_formats_writing_one_folder_are_refused(tmp_path):
    same = LabelFormat("boxes2", "labels", write_centres)
    tables.register_label_format(same)
    try:
        images, masks = make_inputs(tmp_path, cases=1)
        with pytest.raises(ValueError, match="labels yolo and boxes2 both write labels/"):
            build_dataset(str(images), str(masks), str(tmp_path / "o"), labels=("yolo", "boxes2"))
    finally:
        tables.LABEL_FORMATS.pop("boxes2")
