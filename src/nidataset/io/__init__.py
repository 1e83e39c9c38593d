"""All reading and writing: volumes and headers in; images, tables and records out, each atomically.

Reading: :mod:`~nidataset.io.readers` is the table of input formats
(:func:`~nidataset.io.readers.open_volume`; what readers share is in :mod:`~nidataset.io.source`),
:mod:`~nidataset.io.nifti` its NIfTI reader over the byte
streams of :mod:`~nidataset.io.streams` (common headers read by :mod:`~nidataset.io.nifti_header`;
:mod:`~nidataset.io.read_ahead` decompresses the next slab while one is written),
:mod:`~nidataset.io.volumes` lists a folder's inputs, and
:mod:`~nidataset.io.image_files` reads 2D images back. :mod:`~nidataset.io.nrrd_volume` and
:mod:`~nidataset.io.metaimage` read NRRD and MetaImage through the sources of
:mod:`~nidataset.io.loaded`; :mod:`~nidataset.io.dicom` reads DICOM series, from the headers of
:mod:`~nidataset.io.dicom_files` (one image per frame of :mod:`~nidataset.io.dicom_enhanced` files)
ordered and checked by :mod:`~nidataset.io.dicom_geometry`. Writing: :mod:`~nidataset.io.image_formats` is
the table of 2D image formats, :mod:`~nidataset.io.images` their encoders and NIfTI volumes,
:mod:`~nidataset.io.png` the PNG encoder; :mod:`~nidataset.io.sinks` and :mod:`~nidataset.io.shards`
put one view's slices in a folder or a tar shard, :mod:`~nidataset.io.tables` writes CSV tables;
:mod:`~nidataset.io.atomic` and :mod:`~nidataset.io.placement` decide how every file is put in place
and whose problem a failure is.
"""
