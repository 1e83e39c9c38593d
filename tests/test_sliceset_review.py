"""SliceDataset's up-front pass and shared folder: the reasons it gives and what it decodes while waiting.

Expected reasons are build_dataset's own for the same files; expected counts are the loads the test
itself counts.
"""

from __future__ import annotations

import nibabel as nib

from nidataset import SliceDataset, build_dataset
from test_training import AFFINE, phantom


def test_a_truncated_mask_is_named_as_the_mask_as_build_dataset_names_it(tmp_path):
    images, masks = tmp_path / "images_in", tmp_path / "masks_in"
    images.mkdir()
    masks.mkdir()
    image, mask = phantom(1)
    nib.save(nib.Nifti1Image(image, AFFINE), str(images / "case.nii.gz"))
    nib.save(nib.Nifti1Image(mask, AFFINE), str(masks / "case.nii.gz"))
    data = (masks / "case.nii.gz").read_bytes()
    (masks / "case.nii.gz").write_bytes(data[: len(data) // 2])  # the mask truncated in its voxels
    result = build_dataset(str(images), str(masks), str(tmp_path / "out"), progress=False)
    expected = [(o.name, o.reason) for o in result.skipped]
    assert len(expected) == 1 and expected[0][1].startswith("its mask case.nii.gz: truncated")
    assert SliceDataset(images, masks).failures == expected
