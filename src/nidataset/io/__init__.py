"""All reading and writing: volumes and headers in; images, tables and records out, each atomically.

:mod:`~nidataset.io.volumes` reads, :mod:`~nidataset.io.atomic` decides how every file is put in place
and whose problem a failure is, :mod:`~nidataset.io.images` writes slices and volumes,
:mod:`~nidataset.io.tables` writes CSV tables.
"""
