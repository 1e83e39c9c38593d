"""Open built datasets in the tools they are for, copied to another folder, and print each verdict.

Not part of CI: Ultralytics and nnU-Net pull PyTorch. Run it in a separate environment that has them::

    python -m venv /work/toolsvenv
    /work/toolsvenv/bin/pip install torch==2.14.1 torchvision==0.29.1   # the CPU machine's wheels
    /work/toolsvenv/bin/pip install ultralytics nnunetv2 datasets
    PYTHONPATH=src /work/toolsvenv/bin/python tools/check_with_real_tools.py [WORKDIR]

It builds small datasets from CT-like phantoms (labels {1, 3}, names, a negative case, a split by
case), copies each to another folder, and runs: Ultralytics ``yolo detect train`` and ``yolo segment
train`` (1 epoch, imgsz 64, CPU, a model from its yaml: no download), nnU-Net's
``nnUNetv2_plan_and_preprocess --verify_dataset_integrity`` for the 2D configuration, and
``datasets.load_dataset`` offline. Exit status 0 when every tool accepts its dataset.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from nidataset import build_dataset  # noqa: E402
from nidataset.phantoms import ct_phantom  # noqa: E402

BIN = Path(sys.executable).parent
CASES = ("p001", "p002", "p003", "p004", "p005", "negative")
NAMES = {1: "lung", 3: "bone"}
#: nnU-Net's augmentation workers: one, on a shared 2-core machine.
LIGHT = {"nnUNet_n_proc_DA": "1", "nnUNet_compile": "false"}


def inputs(work: Path) -> tuple[Path, Path]:
    images, masks = work / "in_images", work / "in_masks"
    images.mkdir(parents=True, exist_ok=True)
    masks.mkdir(exist_ok=True)
    for seed, case in enumerate(CASES):
        volume = ct_phantom((64, 56, 10), seed=seed)
        body = ndimage.binary_fill_holes(volume > -500, structure=np.ones((3, 3, 1)))
        mask = np.zeros(volume.shape, np.uint8)
        if case != "negative":
            mask[body & (volume < -700)] = 1
            mask[volume > 300] = 3
        affine = np.diag([0.8, 0.8, 2.5, 1.0])
        nib.save(nib.Nifti1Image(volume, affine), str(images / f"{case}.nii.gz"))
        nib.save(nib.Nifti1Image(mask, affine), str(masks / f"{case}.nii.gz"))
    return images, masks


def built(work: Path, name: str, **options: object) -> Path:
    """Build into ``work/<name>``, then copy it to ``work/copied/<name>``: the tools read the copy."""
    images, masks = inputs(work)
    out = work / "build" / name
    settings: dict[str, object] = {
        "image_format": "png",
        "window": "soft_tissue",
        "label_names": NAMES,
        "split": (0.5, 0.25, 0.25),
        "progress": False,
    }
    build_dataset(str(images), str(masks), str(out), **{**settings, **options})  # type: ignore[arg-type]
    copy = work / "copied" / name
    shutil.copytree(out, copy)
    shutil.rmtree(out)  # nothing may point back at the build folder
    return copy


def run(title: str, command: list[str], cwd: Path, env: dict[str, str] | None = None) -> bool:
    start = time.perf_counter()
    done = subprocess.run(
        command, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=1800
    )
    output = re.split(r"[\r\n]+", (done.stdout + done.stderr).strip())
    wanted = r"corrupt|backgrounds|verify_dataset|split|training and|Epoch|EMA pseudo Dice"
    scans = [line for line in output if re.search(wanted, line)]
    verdict = "PASS" if done.returncode == 0 else "FAIL"
    print(f"\n== {verdict} {title} ({time.perf_counter() - start:.0f} s, exit {done.returncode})")
    print("   $ " + " ".join(command))
    for line in dict.fromkeys([*scans[-8:], *[line for line in output if line.strip()][-8:]]):
        print("   | " + line[:200])
    return done.returncode == 0


def yolo(work: Path, task: str, labels: tuple[str, ...], model: str) -> bool:
    data = built(work, f"yolo_{task}", labels=labels)
    command = [str(BIN / "yolo"), task, "train", f"data={data / 'data.yaml'}", f"model={model}"]
    command += ["epochs=1", "imgsz=64", "device=cpu", "workers=0", "plots=False", "pretrained=False"]
    command += ["amp=False", f"project={work / 'runs'}", f"name={task}", "exist_ok=True"]
    return run(f"Ultralytics yolo {task} train on the copied dataset", command, work)


def nnunet(work: Path) -> bool:
    data = built(work, "nnunet", layout="nnunet")
    raw, preprocessed = work / "nnUNet_raw", work / "nnUNet_preprocessed"
    target = raw / "Dataset501_NiPhantom"
    shutil.copytree(data, target)
    env = {
        "nnUNet_raw": str(raw),
        "nnUNet_preprocessed": str(preprocessed),
        "nnUNet_results": str(work / "res"),
    }
    command = [str(BIN / "nnUNetv2_plan_and_preprocess"), "-d", "501", "-c", "2d", "-np", "1"]
    ok = run(
        "nnU-Net verify_dataset_integrity + plan_and_preprocess (2d)",
        [*command, "--verify_dataset_integrity"],
        work,
        env,
    )
    splits = preprocessed / "Dataset501_NiPhantom" / "splits_final.json"
    if ok and (target / "splits_final.json").exists():
        shutil.copy(target / "splits_final.json", splits)
        check = (
            "import json; import nnunetv2;"
            f"s=json.load(open({str(splits)!r})); print('splits_final.json folds:', len(s), "
            "'train', len(s[0]['train']), 'val', len(s[0]['val']))"
        )
        ok &= run("nnU-Net reads the one-fold splits_final.json", [sys.executable, "-c", check], work, env)
        train = [
            str(BIN / "nnUNetv2_train"),
            "501",
            "2d",
            "0",
            "-tr",
            "nnUNetTrainer_1epoch",
            "-device",
            "cpu",
        ]
        ok &= run("nnU-Net trains fold 0 of splits_final.json (1 epoch, CPU)", train, work, {**env, **LIGHT})
    return ok


def huggingface(work: Path) -> bool:
    data = built(work, "huggingface", layout="huggingface", bits=16)
    check = (
        "import datasets, numpy as np, sys; d = datasets.load_dataset(sys.argv[1], cache_dir=sys.argv[2]);"
        "print(d); r = d['train'][0]; i = np.asarray(r['image']); print('image', i.dtype, i.shape,"
        " 'objects', r['objects'], 'classes', d['train'].features['objects']['category'].feature.names)"
    )
    env = {"HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}
    return run(
        "datasets.load_dataset on the copied folder",
        [sys.executable, "-c", check, str(data), str(work / "hf")],
        work,
        env,
    )


def main() -> int:
    work = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="nidataset_tools_"))
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    print(f"working in {work}")
    results = {
        "yolo detect": yolo(work, "detect", ("masks", "yolo", "coco"), "yolov8n.yaml"),
        "yolo segment": yolo(work, "segment", ("masks", "yolo-seg", "coco"), "yolov8n-seg.yaml"),
        "nnU-Net": nnunet(work),
        "datasets": huggingface(work),
    }
    print("\n" + "\n".join(f"{'PASS' if ok else 'FAIL'}  {name}" for name, ok in results.items()))
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
