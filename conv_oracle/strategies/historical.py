"""The named configurations of :mod:`conv_oracle.definition.historical` as Hypothesis ``@example``s."""

from __future__ import annotations

from hypothesis import example

from ..definition.case import Case
from ..definition.historical import HISTORICAL


def pinned(entries: dict[str, tuple[Case, str, str]] | None = None, *, op: str | None = None,
           layouts: bool = True, **fixed):
    """Decorator: a Hypothesis ``@example`` per entry (default :data:`HISTORICAL`), restricted to ``op``.

    The test must take ``case`` (and ``x_layout`` / ``w_layout`` when ``layouts``) plus ``fixed``'s keys.
    """
    chosen = [v for v in (entries or HISTORICAL).values() if op is None or v[0].op == op]

    def decorate(fn):
        for case, xl, wl in chosen:
            kwargs = dict(case=case, **fixed)
            if layouts:
                kwargs.update(x_layout=xl, w_layout=wl)
            fn = example(**kwargs)(fn)
        return fn

    return decorate
