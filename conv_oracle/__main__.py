"""``python -m conv_oracle ...`` is the ``conv-oracle`` command (for checkouts where it is not installed)."""

import sys

from .cli import main

sys.exit(main())
