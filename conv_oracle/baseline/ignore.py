"""Ignore files: changes a team has looked at and accepts, each with its reason.

One entry a line: ``PATTERN  # reason``. ``PATTERN`` is a case id (as the report prints it) or a
change class (``coverage``, ``values``, ...), optionally narrowed to one case: ``ID:CLASS``. The
reason is required. A matched change is listed as ``ignored`` (informational) with the reason; an
entry that matches nothing is reported as stale.
"""

from __future__ import annotations

from dataclasses import dataclass

from .diff import CLASSES


class IgnoreError(ValueError):
    """An unusable ignore file; the message is one line naming the file and the line."""


@dataclass(frozen=True)
class IgnoreRule:
    pattern: str
    reason: str

    def matches(self, change) -> bool:
        cid, _, cls = self.pattern.partition(":")
        if cls:
            return change.id == cid and change.cls == cls
        return self.pattern in (change.id, change.cls)


def parse(text: str, source: str = "<ignore>") -> list[IgnoreRule]:
    rules = []
    for i, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pattern, sep, reason = line.partition("#")
        pattern, reason = pattern.strip(), reason.strip()
        if not sep or not reason:
            raise IgnoreError(f"{source}:{i}: {pattern!r} has no reason: write `{pattern}  # why this is accepted`")
        if " " in pattern:
            raise IgnoreError(f"{source}:{i}: pattern {pattern!r} must be one word (a case id, a class, or ID:CLASS)")
        cls = pattern.partition(":")[2] or (pattern if not _looks_like_id(pattern) else "")
        if cls and cls not in CLASSES:
            raise IgnoreError(f"{source}:{i}: {cls!r} is not a change class; known: {', '.join(CLASSES)}")
        rules.append(IgnoreRule(pattern, reason))
    return rules


def _looks_like_id(word: str) -> bool:
    return len(word) == 12 and all(ch in "0123456789abcdef" for ch in word)


def load(path: str) -> list[IgnoreRule]:
    try:
        with open(path, encoding="utf-8") as fh:
            return parse(fh.read(), path)
    except OSError as exc:
        raise IgnoreError(f"{path}: cannot read the ignore file ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise IgnoreError(f"{path}: not a text file") from None
