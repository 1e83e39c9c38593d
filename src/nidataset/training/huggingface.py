"""The ``huggingface`` layout: Parquet shards and a dataset card that ``datasets.load_dataset`` reads.

SPEC Part 3: ``data/<split>-<i>-of-<n>.parquet`` (shards of at most :data:`SHARD_BYTES` of images and
masks) and ``README.md``, a dataset card whose YAML header declares the configs (one split per
split of the build; ``train`` without one) and the features. A row is one slice: ``image`` and
``mask`` (``Image`` features holding the PNG files' bytes, so 16-bit images stay 16-bit), ``objects``
(``bbox`` in COCO's ``[x, y, w, h]`` and ``category``, a ``ClassLabel`` named by ``label_names``),
``case``, ``view``, ``slice_index``, then every column of the manifest row of the slice. The PNG
files the shards are made of stay in ``images/<split>/`` and ``masks/<split>/`` (reruns and
``resume`` reuse them); share ``data/`` and ``README.md``.

The shards are written with pyarrow, the library ``datasets`` itself reads and writes Parquet with;
it is the extra ``nidataset[huggingface]``, imported only here, when a dataset is finished. The
features are recorded twice, as ``datasets`` does: in the card and in each shard's schema metadata.
"""

from __future__ import annotations

import json
import os

from ..io.atomic import make_folder, write_atomic, write_text
from ..naming import manifest_filename
from .labelfiles import write_mask
from .pairing import case_of
from .plugins import FinishedDataset, LabelFormat, LabelSlice, Layout
from .yolo import yolo_folder

NAME = "huggingface"
#: The most image and mask bytes one shard holds (the Hub's guidance: shards of up to about 500 MB).
SHARD_BYTES = 500 * 1024 * 1024
#: The extra that holds pyarrow.
EXTRA = "pip install 'nidataset[huggingface]'"


def hf_entry(item: LabelSlice) -> dict[str, object]:
    """Write the slice's mask as PNG (uint8, or uint16 above 255); return the row's own columns."""
    write_mask(item)  # the layout takes PNG only: the mask is <stem>.png
    prefix, view, index = item.stem.rsplit("_", 2)
    objects = [[o.label, [o.cols[0], o.rows[0], o.cols[1] - o.cols[0] + 1, o.rows[1] - o.rows[0] + 1]]
               for o in item.objects]  # fmt: skip
    images = yolo_folder("images", item.split)
    return {
        "image": f"{images}/{item.image_name}",
        "mask": f"{item.folder}/{item.stem}.png",
        "objects": objects,
        "case": case_of(prefix),
        "view": view,
        "slice_index": int(index),
    }


def pyarrow_modules() -> tuple[object, object]:
    """pyarrow and pyarrow.parquet, or an ImportError naming the extra."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise ImportError(f"layout='huggingface' writes Parquet with pyarrow: {EXTRA}") from None
    return pyarrow, pyarrow.parquet


def features(class_names: tuple[str, ...], manifest: dict[str, str]) -> dict[str, object]:
    """The features as ``datasets`` records them (``Features.to_dict()``)."""
    value = {"_type": "Value", "dtype": "int64"}
    found: dict[str, object] = {
        "image": {"_type": "Image"},
        "mask": {"_type": "Image"},
        "objects": {
            "bbox": {"_type": "List", "feature": {"_type": "List", "feature": value, "length": 4}},
            "category": {"_type": "List", "feature": {"_type": "ClassLabel", "names": list(class_names)}},
        },
        "case": {"_type": "Value", "dtype": "string"},
        "view": {"_type": "Value", "dtype": "string"},
        "slice_index": value,
    }
    found.update({name: {"_type": "Value", "dtype": dtype} for name, dtype in manifest.items()})
    return found


def finish_huggingface(dataset: FinishedDataset) -> list[str]:
    """The shards of every split and the dataset card."""
    pa, pq = pyarrow_modules()
    class_of = dataset.classes.index()
    manifest = _manifest_rows(dataset)
    columns = _manifest_columns(manifest)
    described = features(dataset.classes.names, columns)
    metadata = {b"huggingface": json.dumps({"info": {"features": described}}).encode()}
    written: list[str] = []
    shard_names: dict[str, list[str]] = {}
    make_folder(os.path.join(dataset.output_path, "data"))
    for split, entries in dataset.entries.get(NAME, {}).items():
        name = split or "train"
        groups = _shards(dataset.output_path, list(entries))  # type: ignore[arg-type]
        shard_names[name] = []
        for number, group in enumerate(groups):
            table = _table(
                pa, dataset.output_path, group, class_of, manifest, columns
            ).replace_schema_metadata(metadata)
            relative = f"data/{name}-{number:05d}-of-{len(groups):05d}.parquet"
            path = os.path.join(dataset.output_path, relative)
            _write_parquet(pq, table, path)
            written.append(path)
            shard_names[name].append(relative)
    card = os.path.join(dataset.output_path, "README.md")
    write_text(card, dataset_card(dataset, shard_names, described))
    return [*written, card]


def _write_parquet(pq: object, table: object, path: str) -> None:
    def write(temporary: str) -> None:
        pq.write_table(table, temporary)  # type: ignore[attr-defined]

    write_atomic(path, write)


def _shards(root: str, entries: list[dict[str, object]]) -> list[list[dict[str, object]]]:
    """Consecutive rows in groups of at most SHARD_BYTES of PNG files (at least one group)."""
    groups: list[list[dict[str, object]]] = [[]]
    size = 0
    for entry in entries:
        row = sum(os.path.getsize(os.path.join(root, str(entry[key]))) for key in ("image", "mask"))
        if groups[-1] and size + row > SHARD_BYTES:
            groups.append([])
            size = 0
        groups[-1].append(entry)
        size += row
    return groups


def _table(pa, root, entries, class_of, manifest, columns):  # type: ignore[no-untyped-def]
    """One shard's rows as a pyarrow table, in the features' column order."""
    import numpy as np  # here, as pyarrow: the CLI reads this module's records for its help

    def png(relative: str) -> dict[str, object]:
        with open(os.path.join(root, relative), "rb") as handle:
            return {"bytes": handle.read(), "path": os.path.basename(relative)}

    data: dict[str, list[object]] = {"image": [], "mask": [], "objects": [], "case": [], "view": []}
    data["slice_index"] = []
    for name in columns:
        data[name] = []
    for entry in entries:
        data["image"].append(png(entry["image"]))
        data["mask"].append(png(entry["mask"]))
        objects = entry["objects"]
        data["objects"].append(
            {"bbox": [box for _, box in objects], "category": [class_of[value] for value, _ in objects]}
        )
        for key in ("case", "view", "slice_index"):
            data[key].append(entry[key])
        row = manifest.get(entry["image"], {})
        for name in columns:
            data[name].append(row.get(name))
    image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    types = {
        "image": image,
        "mask": image,
        "objects": pa.struct(
            [("bbox", pa.list_(pa.list_(pa.int64(), 4))), ("category", pa.list_(pa.int64()))]
        ),
        "case": pa.string(),
        "view": pa.string(),
        "slice_index": pa.int64(),
        **{name: pa.from_numpy_dtype(np.dtype(dtype)) if dtype != "string" else pa.string()
           for name, dtype in columns.items()},
    }  # fmt: skip
    return pa.table({name: pa.array(values, type=types[name]) for name, values in data.items()})


def _manifest_rows(dataset: FinishedDataset) -> dict[str, dict[str, object]]:
    """The manifest rows of the build, by image path (none when the manifest is not saved)."""
    import csv

    rows: dict[str, dict[str, object]] = {}
    for view in dataset.options.views:
        path = os.path.join(dataset.output_path, manifest_filename(view))
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                rows[row["path"]] = row
    return rows


def _manifest_columns(rows: dict[str, dict[str, object]]) -> dict[str, str]:
    """Each manifest column (except those the row has already) and its type: int64 or float64 where
    every value reads as one, else string; the values are converted in place."""
    if not rows:
        return {}
    names = [n for n in next(iter(rows.values())) if n not in ("view", "slice_index")]
    columns = {}
    for name in names:
        texts = [str(row[name]) for row in rows.values()]
        for dtype, kind in (("int64", int), ("float64", float)):
            try:
                values = [kind(t) for t in texts]
            except ValueError:
                continue
            for row, value in zip(rows.values(), values, strict=True):
                row[name] = value
            columns[name] = dtype
            break
        else:
            columns[name] = "string"
    return columns


def dataset_card(dataset: FinishedDataset, shards: dict[str, list[str]], described: dict[str, object]) -> str:
    """README.md: a YAML header (written as JSON, which YAML reads) with the configs and features,
    then what made the dataset and its classes."""
    from .. import __version__

    configs = [
        {"config_name": "default",
         "data_files": [{"split": split, "path": f"data/{split}-*.parquet"} for split in shards]}
    ]  # fmt: skip
    options = dataset.options
    asked = {
        name: getattr(options, name)
        for name in ("views", "orientation", "spacing", "target_size", "pad_value", "window", "bits",
                     "image_format", "labels", "components", "select", "context")
    }  # fmt: skip
    lines = [
        "---",
        f"configs: {json.dumps(configs)}",
        f"dataset_info: {json.dumps({'features': _yaml_features(described)})}",
        "tags: [\"medical-imaging\", \"nidataset\"]",
        "---",
        "",
        f"# {os.path.basename(os.path.abspath(dataset.output_path))}",
        "",
        f"2D slices of 3D volumes and their label masks, built by nidataset {__version__} "
        "`build_dataset(layout=\"huggingface\")`. Load it with `datasets.load_dataset(\"<this folder>\")`.",
        "",
        "## Classes",
        "",
        "| category | label value | name |",
        "|---|---|---|",
        *[f"| {n} | {v} | {name} |" for n, (v, name) in enumerate(_named(dataset))],
        "",
        "## Splits",
        "",
        *[f"- {split}: {len(files)} shard(s), cases {', '.join(cases)}"
          for split, files, cases in _splits(dataset, shards)],
        "",
        "## Options",
        "",
        *[f"- `{name}`: `{value!r}`" for name, value in asked.items()],
        "",
        "Columns: `image` and `mask` (PNG), `objects` (`bbox` as COCO `[x, y, width, height]` in pixels, "
        "`category` the class), `case`, `view`, `slice_index`, then the manifest's columns (geometry: "
        "`pix2world_*` maps a pixel to scanner millimetres).",
        "",
    ]  # fmt: skip
    return "\n".join(lines)


def _named(dataset: FinishedDataset) -> list[tuple[int, str]]:
    return list(zip(dataset.classes.values, dataset.classes.names, strict=True))


def _splits(dataset: FinishedDataset, shards: dict[str, list[str]]) -> list[tuple[str, list[str], list[str]]]:
    """(split name, its shards, its cases); a build without a split is all "train"."""
    return [(name, files, list(dataset.cases.get(name if name in dataset.cases else None, [])))
            for name, files in shards.items()]  # fmt: skip


def _yaml_features(described: dict[str, object]) -> list[dict[str, object]]:
    """The card's form of the features (``datasets``' YAML: a list of named dtypes)."""
    names = described["objects"]["category"]["feature"]["names"]  # type: ignore[index]
    found: list[dict[str, object]] = [
        {"name": "image", "dtype": "image"},
        {"name": "mask", "dtype": "image"},
        {"name": "objects", "struct": [
            {"name": "bbox", "list": {"list": "int64", "length": 4}},
            {"name": "category",
             "list": {"class_label": {"names": {str(n): x for n, x in enumerate(names)}}}},
        ]},
    ]  # fmt: skip
    for name, feature in described.items():
        if name not in ("image", "mask", "objects"):
            found.append({"name": name, "dtype": feature["dtype"]})  # type: ignore[index]
    return found


HF_MASKS = LabelFormat(
    NAME,
    "masks",
    hf_entry,
    help="Hugging Face rows: mask PNG, COCO boxes and categories, case, view, slice index",
)
HF_LAYOUT = Layout(
    NAME,
    yolo_folder,
    requires=(("pyarrow", EXTRA),),
    default_labels=(NAME,),
    finish=finish_huggingface,
    label_formats=(NAME,),
    image_formats=("png",),
    help="Hugging Face datasets: data/<split>-*.parquet shards and a README.md dataset card",
)
