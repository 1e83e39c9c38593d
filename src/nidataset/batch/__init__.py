"""The dataset flow, shared by every kind of output; it knows no slice, annotation, manifest or report code.

:mod:`~nidataset.batch.flow` lists and checks the inputs, runs a per-file job through
:mod:`~nidataset.batch.runner` (threads, a process pool, a Dask executor; dead workers handled by
:mod:`~nidataset.batch.isolation`), writes the statistics and calls the outputs the façades plug in;
:mod:`~nidataset.batch.settings` is the run's record and checks; :mod:`~nidataset.batch.lock` keeps
one run per output folder; :mod:`~nidataset.batch.resume` is the one resume-and-rollback protocol of
the per-file jobs, over :mod:`~nidataset.batch.records` (what ``resume`` may trust) and
:mod:`~nidataset.batch.failures` (one file's problem becomes a skip with its outputs rolled back);
:mod:`~nidataset.batch.memory` budgets whole-volume reads.
"""
