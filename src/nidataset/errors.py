"""The two kinds of failure: one volume's problem (skip it), or the output's problem (stop)."""

from __future__ import annotations


class VolumeError(ValueError):
    """A problem of one input volume; a dataset run skips that file with this one-line reason."""


class OutputError(OSError):
    """A problem of the output location itself (disk full, no permission): the run stops."""
