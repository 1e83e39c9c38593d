"""The dataset flow, shared by every kind of output; it knows no slice or annotation code.

:mod:`~nidataset.batch.flow` lists and checks the inputs, runs a per-file job through
:mod:`~nidataset.batch.runner` (threads, a process pool, a Dask executor; dead workers handled by
:mod:`~nidataset.batch.isolation`), and writes the statistics; :mod:`~nidataset.batch.failures` turns
one file's problem into a skip with its outputs rolled back; :mod:`~nidataset.batch.records` lets
``resume`` skip finished volumes; :mod:`~nidataset.batch.memory` budgets whole-volume reads.
"""
