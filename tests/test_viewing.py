"""Previews and the report: what a person looks at, checked by measuring the pictures and the page."""

from __future__ import annotations

import html.parser
import itertools
import os
import re
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from nidataset import extract_annotations_dataset, extract_slices_dataset, preview_dataset
from nidataset.cli import main

#: Slice values 100..200 under window (300, 1000) become greys 77..102, never the grid's background.
WINDOW = (300.0, 1000.0)
GREYS = (70, 110)


def brightening_volume(shape: tuple[int, int, int]) -> np.ndarray:
    """Each axial slice one value, rising with the slice index from 100 to 200."""
    values = np.linspace(100, 200, shape[2])
    return np.broadcast_to(values, shape).astype(np.float32).copy()


def tiles_of(path: Path) -> list[tuple[slice, slice, float]]:
    """(rows, cols, mean grey) of each tile, found as the rectangles of tile greys, in reading order."""
    rgb = np.asarray(Image.open(path).convert("RGB")).astype(int)
    grey = (rgb[..., 0] == rgb[..., 1]) & (rgb[..., 1] == rgb[..., 2])
    inside = grey & (rgb[..., 0] >= GREYS[0]) & (rgb[..., 0] <= GREYS[1])
    boxes = ndimage.find_objects(ndimage.label(inside)[0])
    large = [box for box in boxes if (box[0].stop - box[0].start) * (box[1].stop - box[1].start) > 400]
    tiles = [(rows, cols, float(rgb[rows, cols, 0].mean())) for rows, cols in large]  # not caption text
    return sorted(tiles, key=lambda t: (t[0].start // 8, t[1].start))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    volumes = tmp_path / "volumes"
    volumes.mkdir()
    affine = np.diag([0.8, 0.8, 2.5, 1.0])  # RAS: stored order is already radiological's index order
    nib.save(nib.Nifti1Image(brightening_volume((40, 30, 20)), affine), str(volumes / "case_a.nii.gz"))
    nib.save(nib.Nifti1Image(brightening_volume((24, 36, 7)), affine), str(volumes / "case_b.nii.gz"))
    (volumes / "broken.nii.gz").write_bytes(b"this is no volume")
    return volumes


def test_a_preview_is_a_captioned_grid_with_one_window_for_the_volume(folder, tmp_path):
    out = tmp_path / "out"
    extract_slices_dataset(
        str(folder), str(out), view=["axial", "coronal"], window=WINDOW, save_preview=True, progress=False
    )
    axial = out / "previews" / "case_a_axial_preview.png"
    tiles = tiles_of(axial)
    assert len(tiles) == 12  # 20 slices: 12 evenly spaced
    tops = sorted({t[0].start for t in tiles})
    lefts = sorted({t[1].start for t in tiles})
    assert len(tops) == 3 and len(lefts) == 4  # a 4 x 3 grid, read left to right, top to bottom
    greys = [t[2] for t in tiles]
    assert all(a < b for a, b in itertools.pairwise(greys))  # brighter with the slice index
    assert greys[-1] - greys[0] > 15  # the volume's difference is kept, not windowed away per tile
    rgb = np.asarray(Image.open(axial).convert("RGB"))
    for rows, cols, _ in tiles:  # a caption in light text just under every tile
        caption = rgb[rows.stop : rows.stop + 16, cols]
        assert (caption > 180).any()
    b_tiles = tiles_of(out / "previews" / "case_b_axial_preview.png")
    assert len(b_tiles) == 7  # fewer slices than tiles: every slice once


@pytest.mark.parametrize(
    ("view", "height_mm", "width_mm"), [("coronal", 20 * 2.5, 40 * 0.8), ("axial", 30 * 0.8, 40 * 0.8)]
)
def test_preview_tiles_have_the_physical_aspect_ratio(folder, tmp_path, view, height_mm, width_mm):
    extract_slices_dataset(
        str(folder), str(tmp_path / "o"), view=view, window=WINDOW, save_preview=True, progress=False
    )
    for rows, cols, _ in tiles_of(tmp_path / "o" / "previews" / f"case_a_{view}_preview.png"):
        height, width = rows.stop - rows.start, cols.stop - cols.start
        assert abs(height - width * height_mm / width_mm) <= 1, (height, width)


def test_previews_outline_each_label_in_its_own_colour(folder, tmp_path):
    masks = tmp_path / "masks"
    masks.mkdir()
    labels = np.zeros((40, 30, 20), dtype=np.uint8)
    labels[5:15, 5:15, :] = 1
    labels[25:35, 10:25, :] = 2
    nib.save(nib.Nifti1Image(labels, np.diag([0.8, 0.8, 2.5, 1.0])), str(masks / "case_a.nii.gz"))
    extract_annotations_dataset(
        str(masks), str(tmp_path / "labels"), data_mode="box", images_folder=str(folder), progress=False
    )
    result = preview_dataset(str(folder), str(tmp_path / "qc"), str(masks), progress=False)
    assert [o.name for o in result.skipped] == ["broken.nii.gz"]
    assert next(o for o in result.done if o.name == "case_b.nii.gz").note.startswith("case_b.nii.gz: no mask")
    for picture in (
        tmp_path / "labels" / "previews" / "case_a_axial_preview.png",
        tmp_path / "qc" / "previews" / "case_a_axial_preview.png",
    ):
        rgb = np.asarray(Image.open(picture).convert("RGB")).astype(int)
        colours = {tuple(c) for c in rgb.reshape(-1, 3) if not (c[0] == c[1] == c[2])}
        assert len(colours) == 2  # one colour per label, nothing else in colour


def test_the_report_lists_every_input_with_its_previews_and_reasons(folder, tmp_path):
    out = tmp_path / "out"
    extract_slices_dataset(
        str(folder), str(out), view=["axial", "sagittal"], save_preview=True, save_report=True, progress=False
    )
    page = (out / "report.html").read_text(encoding="utf-8")
    parser = Links()
    parser.feed(page)
    assert {"case_a.nii.gz", "case_b.nii.gz", "broken.nii.gz"} <= set(parser.cells)
    assert "not a NIfTI file" in page
    assert re.search(r"2 of 3 files done, \d+ slices written, 1 skipped in [0-9.]+ s\.", page)
    assert "40 x 30 x 20" in page and "0.8 x 0.8 x 2.5" in page and "RAS" in page and "100 .. 200" in page
    assert len(parser.images) == 4
    for link in parser.images + parser.links:
        assert not re.match(r"^[a-z]+:", link) and not link.startswith(
            "/"
        )  # relative: nothing leaves the folder
        assert (out / link).exists(), link
    assert not re.search(r"<script|<link|@import|url\(", page)


class Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.links: list[str] = []
        self.cells: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "img":
            self.images.append(values["src"] or "")
        if tag == "a":
            self.links.append(values["href"] or "")

    def handle_data(self, data: str) -> None:
        self.cells.append(data.strip())


def test_the_command_line_writes_a_report_by_default_and_previews_on_request(folder, tmp_path, capsys):
    assert main(["slices", str(folder), str(tmp_path / "a"), "--preview", "--quiet"]) == 1
    assert (tmp_path / "a" / "report.html").is_file() and (tmp_path / "a" / "previews").is_dir()
    assert main(["slices", str(folder), str(tmp_path / "b"), "--no-report", "--quiet"]) == 1
    assert not (tmp_path / "b" / "report.html").exists()
    assert main(["preview", str(folder), str(folder), str(tmp_path / "c"), "--view", "sagittal"]) == 1
    out = capsys.readouterr().out
    assert f"report: {tmp_path / 'c' / 'report.html'}" in out
    assert sorted(os.listdir(tmp_path / "c" / "previews")) == [
        "case_a_sagittal_preview.png",
        "case_b_sagittal_preview.png",
    ]


@pytest.mark.parametrize("z_step", [2.5, -2.5])  # a negative step reverses the radiological axial slices
def test_an_axial_preview_streams_and_equals_the_whole_volume_one(tmp_path, monkeypatch, z_step):
    from nidataset.io.volumes import VolumeReader
    from nidataset.slices import job

    rng = np.random.default_rng(3)
    data = rng.integers(-1000, 2000, size=(40, 30, 23), dtype=np.int16)
    volumes = tmp_path / "volumes"
    volumes.mkdir()
    image = nib.Nifti1Image(data, np.diag([0.8, 0.8, z_step, 1.0]))
    image.header.set_slope_inter(1.0, -1024.0)
    nib.save(image, str(volumes / "case.nii.gz"))
    monkeypatch.setattr(job, "SLAB_BYTES", 3 * 40 * 30 * 2)  # slabs of 3 slices: tiles inside and at edges
    whole_read = VolumeReader.volume

    def refuse(*args, **kwargs):
        raise AssertionError("the axial view with a preview read the volume whole")

    monkeypatch.setattr(VolumeReader, "volume", refuse)
    extract_slices_dataset(str(volumes), str(tmp_path / "streamed"), save_preview=True, progress=False)
    monkeypatch.setattr(VolumeReader, "volume", whole_read)
    extract_slices_dataset(
        str(volumes), str(tmp_path / "whole"), view=["axial", "coronal"], save_preview=True, progress=False
    )
    streamed = (tmp_path / "streamed" / "previews" / "case_axial_preview.png").read_bytes()
    assert streamed == (tmp_path / "whole" / "previews" / "case_axial_preview.png").read_bytes()


# --------------------------------------------------------------------------- in a real browser
def chromium() -> str | None:
    for name in ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"):
        if os.path.exists(name):
            return name
    return None


def test_the_report_opens_in_headless_chromium(folder, tmp_path):
    webdriver = pytest.importorskip("selenium.webdriver")
    browser = chromium()
    if browser is None or not os.path.exists("/usr/bin/chromedriver"):
        pytest.skip("Debian's chromium and chromium-driver are not installed (.ci/run installs them)")
    out = tmp_path / "out"
    extract_slices_dataset(
        str(folder), str(out), view=["axial", "coronal"], save_preview=True, save_report=True, progress=False
    )
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,1600",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    service = webdriver.ChromeService(executable_path="/usr/bin/chromedriver")
    driver = webdriver.Chrome(options=options, service=service)
    try:
        driver.get((out / "report.html").as_uri())
        widths = driver.execute_script(
            "return Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0)"
        )
        assert len(widths) == 4 and all(w > 0 for w in widths)
        rows = driver.execute_script(
            "return Array.from(document.querySelectorAll('tbody tr td:first-child')).map(t => t.textContent)"
        )
        assert sum(name.startswith(("case_a", "case_b", "broken")) for name in rows) == 3
        assert "not a NIfTI file" in driver.execute_script(
            "return document.querySelector('tr.skipped').textContent"
        )
        requested = {
            message["params"]["request"]["url"]
            for entry in driver.get_log("performance")
            for message in [__import__("json").loads(entry["message"])["message"]]
            if message["method"] == "Network.requestWillBeSent"
        }
        assert requested and all(url.startswith(out.as_uri()) for url in requested), requested
        artifacts = Path(os.environ.get("NIDATASET_ARTIFACTS", tmp_path))
        artifacts.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(artifacts / "report.png"))
    finally:
        driver.quit()
