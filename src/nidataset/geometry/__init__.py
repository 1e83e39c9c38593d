"""Pure geometry: which stored voxel each output pixel shows (numpy only, no reading or writing).

:mod:`~nidataset.geometry.views` holds the one table from a view to a stored axis,
:mod:`~nidataset.geometry.padding` the one padding rule, and :mod:`~nidataset.geometry.frame` the
:class:`~nidataset.geometry.frame.SliceFrame` that every image pixel and annotation coordinate passes
through.
"""
