"""Layer 7, the baselines (snapshots and their diffs): may import layers 0-6, not its peers suite and report.

Baselines of a target's convolution behaviour, and the comparison of two of them.

* :mod:`.corpus`: the fixed, deterministic set of configurations a baseline covers.
* :mod:`.snapshot`: run the corpus on a target and capture the environment.
* :mod:`.schema`: the versioned JSON format; loading validates and raises :class:`BaselineError`.
* :mod:`.diff`: compare two snapshots, grouping changes into regression and informational classes.
* :mod:`.report`: the comparison as Markdown or JSON.

Upgrade workflow: ``docs/upgrading-torch.md``.
"""

from .schema import BaselineError, SCHEMA, VERSION, dumps, load, loads

__all__ = ["BaselineError", "SCHEMA", "VERSION", "dumps", "load", "loads"]
