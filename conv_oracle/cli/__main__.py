"""``python -m conv_oracle.cli``: the ``conv-oracle`` command without installing its entry point."""

import sys

from . import main

sys.exit(main())
