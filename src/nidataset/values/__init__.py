"""The value stage shared by slices, previews and the training set: how stored voxels become pixels.

:mod:`~nidataset.values.dtypes` is the dtype policy (which output dtype holds a volume's values),
:mod:`~nidataset.values.windows` the display windows (presets, auto, the DICOM linear function), and
:mod:`~nidataset.values.pixels` joins them into the pixels of one volume's images;
:mod:`~nidataset.values.labels` reads a mask's voxels as integer labels. Pure numpy: no
reading or writing here.
"""
