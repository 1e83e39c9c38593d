"""Pure geometry: which stored voxel each output pixel shows (numpy only, no reading or writing).

:mod:`~nidataset.geometry.views` holds the one table from a view to a stored axis,
:mod:`~nidataset.geometry.orientation` the anatomical orientations, :mod:`~nidataset.geometry.resample`
the in-plane resampling to square pixels, :mod:`~nidataset.geometry.padding` the one padding rule, and
:mod:`~nidataset.geometry.frame` the :class:`~nidataset.geometry.frame.SliceFrame` that every image
pixel and annotation coordinate passes through; :mod:`~nidataset.geometry.sampling` goes back from a
slice image to the stored voxels of its plane.
"""
