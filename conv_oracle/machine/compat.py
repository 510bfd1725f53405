"""Which torch / numpy combinations the suite supports, checked before any work starts.

torch 2.2 is the oldest release supported (``torch.backends.cpu.get_cpu_capability``, which the
environment record reads, arrived in 2.1; the survey in docs/upgrading-torch.md goes back to 2.2).
Releases before 2.3 were built against numpy 1.x and cannot exchange arrays with numpy 2
("Numpy is not available"): they need ``numpy<2``. :func:`check` returns None or one line that says
what is wrong and what to install.
"""

from __future__ import annotations

OLDEST = (2, 2)


def _version(text: str) -> tuple[int, ...]:
    out = []
    for part in text.split("+")[0].split(".")[:2]:
        digits = "".join(ch for ch in part if ch.isdigit())
        out.append(int(digits or 0))
    return tuple(out)


def _installed(name: str) -> str | None:
    """The installed distribution's version, read without importing it (None if absent)."""
    from importlib import metadata
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def check() -> str | None:
    """None when the installed torch and numpy can run the suite, else one line saying why not.

    The version rules are read from package metadata first, so that a torch which would print a
    page of warnings on import (torch < 2.3 under numpy 2) is refused before it is imported."""
    try:
        import numpy as np
    except Exception as exc:  # noqa: BLE001 - any import failure is the answer
        return f"numpy cannot be imported ({type(exc).__name__}: {exc}); install numpy"
    torch_v, numpy_v = _installed("torch"), np.__version__
    if torch_v and _version(torch_v) < OLDEST:
        return (f"torch {torch_v} is older than the oldest supported release {'.'.join(map(str, OLDEST))} "
                f"(it lacks torch.backends.cpu and the oneDNN controls the suite records); install a newer torch")
    if torch_v and numpy_v and _version(torch_v) < (2, 3) and _version(numpy_v) >= (2, 0):
        return (f"torch {torch_v} was built against numpy 1.x and cannot exchange arrays with numpy {numpy_v} "
                f"(\"Numpy is not available\"): install 'numpy<2' beside it")
    try:
        import torch
    except Exception as exc:  # noqa: BLE001
        return f"torch cannot be imported ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); " \
               f"install torch>={'.'.join(map(str, OLDEST))}"
    version = torch.__version__
    if _version(version) < OLDEST:
        return (f"torch {version} is older than the oldest supported release {'.'.join(map(str, OLDEST))} "
                f"(it lacks torch.backends.cpu and the oneDNN controls the suite records); install a newer torch")
    backends_cpu = getattr(getattr(torch, "backends", None), "cpu", None)
    if backends_cpu is None or not hasattr(backends_cpu, "get_cpu_capability"):
        return f"torch {version} has no torch.backends.cpu.get_cpu_capability(); the suite needs torch>=2.2"
    try:
        torch.zeros(1).numpy()
        torch.from_numpy(np.zeros(1))
    except Exception as exc:  # noqa: BLE001 - e.g. "Numpy is not available" with numpy 2 under torch < 2.3
        hint = " (torch releases before 2.3 need numpy<2)" if _version(version) < (2, 3) else ""
        return (f"torch {version} cannot exchange arrays with numpy {np.__version__}{hint}: "
                f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    return None
