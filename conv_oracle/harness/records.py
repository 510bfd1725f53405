"""Records: one JSON object per checked example, collected per process and written atomically.

A record holds the operator, target, full configuration, dtype and layouts, regime tags, whether the
configuration is valid, the predicted skipped input pixels (conv) or bias-only output cells
(transposed conv) of every valid configuration and, where a property observed them, the observed
ones (compact per-dimension index lists with counts and fractions), the verdict and the share of the
rounding bound used. A failing record adds ``failure``: the message, the differing cells and the
reproduction snippet; ``reported`` marks the failing example pytest reported for its test (the
minimal one, after Hypothesis shrinking).

Records are streamed: each process appends its records to its own part, ``records.<worker>.jsonl``
(``main`` without xdist), one line per example, flushed when the example ends, so a crash, a kill or
an interrupt loses at most the example in flight. ``reported`` arrives later as a marker line
(``{"_reported": seq}``). :func:`merge` turns the parts into ``records.jsonl``.

The fields are listed in :class:`Record`; ``verdict`` is a :class:`Verdict` (defined in
:mod:`conv_oracle.checks.verdicts`, where the properties can reach it, and re-exported here).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import tempfile
import time
from typing import TypedDict

import numpy as np

from ..checks.verdicts import JUDGED, Verdict
from ..definition.case import Case
from ..definition.errors import ConvConfigError

__all__ = ["Record", "Verdict", "JUDGED", "Recorder", "RECORDS_FILE", "merge", "load", "environments",
           "mask_record", "failure_details", "atomic_write", "part_path", "load_in_context", "in_context", "machine_of"]

RECORDS_FILE = "records.jsonl"


class Record(TypedDict, total=False):
    """One checked example, one line of ``records.jsonl`` (the ``environment`` lines are not records).

    Every record has the identity fields (``property`` to ``regimes``), ``valid``, ``verdict``,
    ``seconds`` and ``worker``; the rest appear where they apply. Readers use ``.get`` for those."""

    # -- what was checked: written by Recorder.example from the test's arguments
    property: str            # the property: forward_exact, gradient_input, error_parity, output_shape, ...
    test: str                # the pytest node id of the test that ran it
    target: str              # the target's name (``torch``, ``torch@isa=avx2``, a module path)
    op: str                  # ``conv`` or ``conv_transpose``
    fn: str                  # the function called: conv1d ... conv_transpose3d
    case: dict               # :meth:`Case.to_dict`: the full configuration
    regimes: dict            # :meth:`Case.regimes`: tags for the coverage tables
    dtype: str               # the test's arguments, where it has them
    mode: str                # operands: ``exact``, ``float`` or ``probe``
    x_layout: str
    w_layout: str
    seed: int                # the operands' seed
    operands: dict           # how make_operands built them: ``magnitude`` and ``layout`` (what a replay needs)
    replay: bool             # checked by conv-oracle run's replay on another target (:mod:`conv_oracle.suite.test_replay`)
    rule: str                # an invalid call's rule (error parity); such records are never ``valid``
    # -- geometry (valid configurations)
    valid: bool              # whether the oracle accepts the configuration
    untouched: str           # ``skipped_input_pixels`` (conv) or ``bias_only_output_cells`` (transposed)
    predicted: dict          # :func:`mask_record` of the untouched cells the definition predicts
    observed: dict           # :func:`mask_record` of those the coverage properties observed
    # -- the outcome
    verdict: Verdict         # pass, fail, deviation (a known one, expected) or not checkable
    refused: str             # not checkable: why no meaningful check exists
    bound_share: float | None  # the share of the rounding bound used (0.0 exact, None when refused)
    output_shape: list
    path: dict               # the kernel path that ran the call (:mod:`conv_oracle.machine.kernel_path`)
    all_zero: bool           # exact mode with an all-zero expected output (still decisive)
    probe: str               # a precision probe's format
    suspicious_precision: dict  # a statistical signal, not a failure
    poisoned: bool           # the coverage property ran its NaN / Inf half
    target_error: str        # error parity: what the target raised (``Type: first line``)
    oracle_error: str        # error parity: the oracle's rule text
    reason: str              # error parity, torch's wording: the rule its message names, or ``unrecognised``
    relaxed: str             # error parity on a rule the target declares relaxed
    error: str               # fail / deviation: the exception's text
    failure: dict            # fail / deviation: :func:`failure_details` (message, cells, snippet, kind, path)
    deviation: str           # deviation: the id of the known deviation that matched
    deviations_in_scope: list  # pass: the known deviations whose scope held the example
    # -- bookkeeping
    seconds: float           # time the example took
    worker: str              # the process that wrote it (``main``, ``gw0``, ...)
    reported: bool           # the failing example pytest reported for its test (after shrinking)
    run: dict                # written by conv-oracle merge: the ``folder`` and ``started`` (UTC) of the run it came from
    # -- added when read back by :func:`load_in_context`, never written
    machine: dict            # :func:`machine_of` the ``environment`` line heading the record's part


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder and ``os.replace``.

    The file gets the permissions a plain ``open`` would give (0666 less the umask), not mkstemp's 0600."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0o022)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes the file private (0600); give it the usual mode
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def mask_record(mask: np.ndarray) -> dict:
    """A spatial mask as per-dimension index lists (its projections), count and fraction.

    ``separable`` says whether the mask is exactly the product of its per-dimension masks (always
    true for predictions; an observed mask that is not separable is listed cell by cell, up to 64)."""
    mask = np.asarray(mask, dtype=bool)
    nd = mask.ndim
    touched_per_dim = []  # an index is touched in a dimension if some cell on its slice is touched
    for axis in range(nd):
        others = tuple(a for a in range(nd) if a != axis)
        touched_per_dim.append((~mask).any(axis=others) if others else ~mask)
    rebuilt = np.ones(mask.shape, bool)
    for axis, t in enumerate(touched_per_dim):
        shape = [1] * nd
        shape[axis] = t.size
        rebuilt = rebuilt & t.reshape(shape)
    separable = bool(np.array_equal(~rebuilt, mask))
    out = {"shape": list(mask.shape), "count": int(mask.sum()),
           "fraction": round(float(mask.mean()), 6) if mask.size else 0.0,
           "per_dim": [[int(i) for i in np.nonzero(~t)[0]] for t in touched_per_dim], "separable": separable}
    if not separable:
        out["cells"] = np.argwhere(mask)[:64].tolist()
    return out


class Recorder:
    """Collects records; with a ``folder``, also streams each one to ``records.<worker>.jsonl`` there
    as it ends (append + flush). :meth:`write` writes the collected records as one part at once.
    ``retain=False`` (without a folder: a fuzz worker, which runs for hours) keeps none in memory."""

    def __init__(self, folder: str | None = None, worker: str = "main", retain: bool = True):
        self.records: list[Record] = []
        self.folder, self.worker, self.retain = folder, worker, retain or folder is not None
        self._stream = None

    def _emit(self, obj: dict) -> None:
        if self.folder is None:
            return
        if self._stream is None:  # the part opens with this process's fingerprint
            from ..machine.fingerprint import fingerprint
            os.makedirs(self.folder, exist_ok=True)
            self._stream = open(part_path(self.folder, self.worker), "a", encoding="utf-8")
            self._stream.write(json.dumps({"environment": fingerprint(), "worker": self.worker}, sort_keys=True) + "\n")
        self._stream.write(json.dumps(obj, sort_keys=True) + "\n")
        self._stream.flush()

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    @contextlib.contextmanager
    def example(self, prop: str, nodeid: str, target: str, case: Case, classify=None, **fields):
        """Wrap one example: yields the record dict to fill; sets ``verdict`` from the outcome.

        ``classify(rec, failed)``, if given, returns fields to add before the record is written: for
        a failed check, ``{'verdict': Verdict.DEVIATION, 'deviation': ID}`` makes it an expected deviation
        (the failure is recorded and not raised)."""
        rec = {"property": prop, "test": nodeid, "target": target, "op": case.op, "fn": case.fn_name,
               "case": case.to_dict(), "regimes": case.regimes(), **fields}
        rec.update({"valid": False} if "rule" in fields else _geometry_fields(case))
        start = time.perf_counter()
        try:
            yield rec
        except Exception as exc:
            if _is_control_flow(exc):
                raise
            rec["verdict"] = Verdict.FAIL
            rec["error"] = str(exc)[:4000]
            rec["failure"] = failure_details(exc)
            if rec["failure"].get("path"):
                rec.setdefault("path", rec["failure"]["path"])
            if classify is not None and isinstance(exc, AssertionError):
                rec.update(classify(rec, True))
            if rec["verdict"] == Verdict.FAIL:
                raise
        else:
            rec.setdefault("verdict", Verdict.PASS)
            if classify is not None:
                rec.update(classify(rec, False))
        finally:
            if "verdict" in rec:
                rec["seconds"] = round(time.perf_counter() - start, 6)
                for key in ("predicted", "observed"):
                    if isinstance(rec.get(key), np.ndarray):
                        rec[key] = mask_record(rec[key])
                if self.retain:
                    self.records.append(rec)
                self._emit({**rec, "worker": self.worker, "_seq": len(self.records) - 1})

    def mark_reported(self, nodeid: str) -> bool:
        """Flag the latest failing record of test ``nodeid`` as the one pytest reported."""
        for seq in range(len(self.records) - 1, -1, -1):
            rec = self.records[seq]
            if rec.get("test") == nodeid and rec.get("verdict") == Verdict.FAIL:
                rec["reported"] = True
                self._emit({"_reported": seq})
                return True
        return False

    def write(self, folder: str, worker: str) -> str:
        """One part at once: an ``environment`` line (this process's fingerprint), then the records."""
        from ..machine.fingerprint import fingerprint
        path = part_path(folder, worker)
        head = json.dumps({"environment": fingerprint(), "worker": worker}, sort_keys=True) + "\n"
        lines = (json.dumps({**r, "worker": worker}, sort_keys=True) + "\n" for r in self.records)
        atomic_write(path, head + "".join(lines))
        return path


def part_path(folder: str, worker: str) -> str:
    return os.path.join(folder, f"records.{worker}.jsonl")


from ..checks.snippets import HEADING as REPRO_MARK  # noqa: E402  (the line before a snippet: 'Reproduce with target NAME:')


def _geometry_fields(case: Case) -> dict:
    """``valid`` and, for a valid configuration, the ``predicted`` untouched mask and what it covers.
    (Examples with a ``rule`` skip this: they check calls made invalid on purpose, possibly through
    the operand shapes alone, so they are invalid whatever their case.)"""
    try:
        mask = case.untouched_mask()
    except ConvConfigError:
        return {"valid": False}
    kind = "bias_only_output_cells" if case.transposed else "skipped_input_pixels"
    return {"valid": True, "untouched": kind, "predicted": mask}


def failure_details(exc: BaseException) -> dict:
    """What a failure record keeps: message, differing cells and reproduction snippet.

    Taken from ``exc.details`` (set by :meth:`comparison.CheckContext.failure`) when present; otherwise
    parsed from the text, whose snippet follows the line ``'Reproduce with target NAME:'``."""
    details = getattr(exc, "details", None)
    if isinstance(details, dict):
        return dict(details)
    text = str(exc)
    head, _, rest = text.partition(REPRO_MARK)
    snippet = rest.partition("\n")[2] if rest else ""
    return {"what": None, "message": f"{type(exc).__name__}: {head.strip()}"[:2000], "header": "",
            "snippet": snippet.strip("\n"), "cells": []}


def _is_control_flow(exc: BaseException) -> bool:
    """Hypothesis' own signals (rejected examples) and pytest skips are not verdicts."""
    name = type(exc).__name__
    return name in ("UnsatisfiedAssumption", "Skipped", "Frozen", "StopTest")


def merge(folder: str) -> int:
    """Merge every ``records.*.jsonl`` part in ``folder`` into ``records.jsonl`` (atomically, parts removed).

    Returns the number of example records merged (``environment`` lines, one per part, are kept
    and not counted). Marker lines set ``reported`` on their record. An
    unterminated last line (a process killed while writing it: the example in flight) is dropped;
    any other line that does not parse raises, and nothing is merged."""
    parts = sorted(glob.glob(os.path.join(folder, "records.*.jsonl")))
    out = []
    for part in parts:
        with open(part, encoding="utf-8") as fh:
            text = fh.read()
        lines = text.split("\n")
        if lines and lines[-1]:
            try:
                json.loads(lines[-1])
            except json.JSONDecodeError:
                lines = lines[:-1]  # cut off mid-write
        by_seq, recs = {}, []
        for line in lines:
            if not line.strip():
                continue
            obj = json.loads(line)
            if "environment" in obj:
                out.append(obj)
                continue
            if "_reported" in obj:
                if obj["_reported"] in by_seq:
                    by_seq[obj["_reported"]]["reported"] = True
                continue
            seq = obj.pop("_seq", None)
            if seq is not None:
                by_seq[seq] = obj
            recs.append(obj)
        out.extend(recs)
    atomic_write(os.path.join(folder, RECORDS_FILE), "".join(json.dumps(r, sort_keys=True) + "\n" for r in out))
    for part in parts:
        os.unlink(part)
    return sum("environment" not in r for r in out)


def load(path: str) -> list[Record]:
    """The example records of a records file (environment lines left out: :func:`environments`)."""
    with open(path, encoding="utf-8") as fh:
        return [r for r in (json.loads(line) for line in fh if line.strip()) if "environment" not in r]


def machine_of(environment: dict) -> dict:
    """What a record's context takes from its process's fingerprint: ``class`` (the hardware class,
    :func:`conv_oracle.machine.fingerprint.hardware_class`), ``torch`` (its version) and ``cpu`` (the model)."""
    from ..machine.fingerprint import hardware_class
    t = environment.get("torch") if isinstance(environment.get("torch"), dict) else {}
    return {"class": hardware_class(environment), "torch": t.get("version"),
            "cpu": (environment.get("cpu") or {}).get("model")}


def load_in_context(path: str) -> list[Record]:
    """The example records of a records file, each with ``machine``: :func:`machine_of` the ``environment``
    line before it (each part starts with one, and merged files keep that order). Records before any
    environment line get none."""
    with open(path, encoding="utf-8") as fh:
        return in_context(fh)


def in_context(lines) -> list[Record]:
    """:func:`load_in_context` on the lines of a records file."""
    out, machine = [], None
    for line in lines:
        if not line.strip():
            continue
        r = json.loads(line)
        if "environment" in r:
            machine = machine_of(r["environment"])
        elif machine is not None:
            out.append({**r, "machine": machine})
        else:
            out.append(r)
    return out


def environments(path: str) -> list[dict]:
    """The distinct execution environments (fingerprints) a records file was written in."""
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                r = json.loads(line)
                if "environment" in r and r["environment"] not in out:
                    out.append(r["environment"])
    return out
