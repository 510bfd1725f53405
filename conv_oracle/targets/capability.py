"""What a target declares it can do. Undeclared means torch's behaviour on the CPU.

A module target declares it with a module attribute ``CAPABILITY``: a :class:`Capability` or a dict of
its fields, e.g. ``CAPABILITY = {"dtypes": ("float32",), "autograd": False, "rejects": (MyError,),
"relaxed": ("negative padding",), "options": ("output_size",)}``. It is validated when the target
loads (one-line :class:`~conv_oracle.definition.errors.ConvConfigError` naming the field, the value and the rule).

* ``dtypes``: storage dtypes of :data:`conv_oracle.definition.dtypes.FLOAT_DTYPES` the target computes in; tests
  of other dtypes skip with a reason.
* ``devices``: where the target's tensors may live (its ``DEVICE`` must be one of them).
* ``autograd``: whether gradients flow through the target's functions; without it gradient and
  gradient-based coverage tests skip with a reason.
* ``rejects``: the exception types that count as rejecting an invalid call (error parity); any other
  exception on an invalid call is a failure, as on a valid one.
* ``relaxed``: names of :data:`conv_oracle.definition.invalid_calls.INVALID_RULES` the target does not enforce
  (it accepts such calls). A relaxed rule's calls are checked against the definition where it gives
  a result (see :func:`conv_oracle.checks.properties.relaxed_reference`), otherwise recorded as not checked.
* ``options``: module-level options (``padding_mode``, ``output_size``) the target's own functions take
  as keyword arguments; cases that need them call the target instead of torch's ``nn`` modules.
* ``messages``: ``"torch"`` (the default: most targets wrap torch) when the target's rejections carry
  torch's wording, so error parity also compares the reason (which rule the message names, by
  :data:`~conv_oracle.definition.invalid_calls.TORCH_WORDING`); ``None`` for a target with its own wording.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from ..definition.dtypes import FACTS, FLOAT_DTYPES
from ..definition.errors import ConvConfigError

#: the exception types torch raises for invalid convolution calls
TORCH_REJECTIONS = (RuntimeError, ValueError, TypeError, IndexError, NotImplementedError)
#: the module-level options nn.Conv*d / nn.ConvTranspose*d add to the functional calls
OPTIONS = ("padding_mode", "output_size")
DEVICES = ("cpu", "cuda")
#: the wordings error parity knows (``Capability.messages``; None: the target's own, not compared)
MESSAGES = ("torch",)


@dataclass(frozen=True)
class Capability:
    """A target's declared abilities (see the module docstring); the defaults are torch's."""

    dtypes: tuple[str, ...] = FLOAT_DTYPES
    devices: tuple[str, ...] = DEVICES
    autograd: bool = True
    rejects: tuple[type, ...] = TORCH_REJECTIONS
    relaxed: frozenset[str] = frozenset()
    options: frozenset[str] = frozenset()
    messages: str | None = "torch"

    def __post_init__(self):
        def bad(name, value, rule):
            raise ConvConfigError(f"CAPABILITY[{name!r}]", value, rule)

        for name in ("dtypes", "devices", "rejects"):
            value = getattr(self, name)
            if isinstance(value, (str, type)) or not isinstance(value, (tuple, list, set, frozenset)):
                bad(name, value, "must be a tuple")
            object.__setattr__(self, name, tuple(value))
        for name in ("relaxed", "options"):
            value = getattr(self, name)
            if isinstance(value, str) or not isinstance(value, (tuple, list, set, frozenset)):
                bad(name, value, "must be a set or tuple of names")
            object.__setattr__(self, name, frozenset(value))
        storage = [n for n, f in FACTS.items() if f.storage]
        if not self.dtypes or any(d not in storage for d in self.dtypes):
            bad("dtypes", self.dtypes, f"must be a non-empty subset of {storage}")
        if not self.devices or any(not isinstance(d, str) or d.split(":")[0] not in DEVICES for d in self.devices):
            bad("devices", self.devices, f"each must be one of {list(DEVICES)} (optionally with ':index')")
        if not isinstance(self.autograd, bool):
            bad("autograd", self.autograd, "must be True or False")
        if not self.rejects or any(not (isinstance(t, type) and issubclass(t, BaseException)) for t in self.rejects):
            bad("rejects", self.rejects, "must be a non-empty tuple of exception types")
        from ..definition.invalid_calls import INVALID_RULES
        unknown = sorted(self.relaxed - set(INVALID_RULES))
        if unknown:
            bad("relaxed", unknown, f"unknown rule names; known: {sorted(INVALID_RULES)}")
        if not self.options <= set(OPTIONS):
            bad("options", sorted(self.options), f"must be a subset of {list(OPTIONS)}")
        if self.messages is not None and self.messages not in MESSAGES:
            bad("messages", self.messages, f"must be one of {list(MESSAGES)} or None (the target's own wording)")

    @classmethod
    def declared(cls, value) -> "Capability":
        """A module's ``CAPABILITY`` attribute (a Capability, a dict of its fields, or None) as a Capability."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if not isinstance(value, dict):
            raise ConvConfigError("CAPABILITY", type(value).__name__, "must be a dict or a Capability")
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise ConvConfigError("CAPABILITY", unknown, f"unknown fields; known: {known}")
        return cls(**value)

    def summary(self) -> str:
        """One line: what differs from torch's defaults."""
        default = Capability()
        parts = []
        if self.dtypes != default.dtypes:
            parts.append("dtypes=" + ",".join(self.dtypes))
        if not self.autograd:
            parts.append("no autograd")
        if self.rejects != default.rejects:
            parts.append(f"own rejections ({len(self.rejects)} types)")
        if self.relaxed:
            parts.append(f"relaxes {len(self.relaxed)} rule(s)")
        if self.options:
            parts.append("own " + ",".join(sorted(self.options)))
        if self.messages != default.messages:
            parts.append("own messages")
        return "; ".join(parts) or "torch defaults"
