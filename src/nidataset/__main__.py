"""``python -m nidataset``: the same as the ``nidataset`` command."""

import sys

from .cli import main

sys.exit(main())
