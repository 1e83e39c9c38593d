"""All reading and writing: volumes and headers in; images, tables and records out, each atomically.

:mod:`~nidataset.io.readers` is the table of input formats (:func:`~nidataset.io.readers.open_volume`),
:mod:`~nidataset.io.nifti` its NIfTI reader over the byte streams of :mod:`~nidataset.io.streams`,
:mod:`~nidataset.io.volumes` lists a folder's inputs; :mod:`~nidataset.io.atomic` decides how every
file is put in place and whose problem a failure is, :mod:`~nidataset.io.images` writes slices and
volumes, :mod:`~nidataset.io.tables` writes CSV tables.
"""
