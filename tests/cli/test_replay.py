"""The cross-target comparison on the same examples: an example wrong on one target that another target of
the run never drew is checked there too (conv_oracle.harness.fold.replays, conv_oracle/suite/test_replay.py),
so the report says which target is right on it."""

import json
import os
import sys

import pytest

from conv_oracle.cli import run as cmd
from conv_oracle.harness import fold, records as R

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAULTY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "faulty_targets")
sys.path.insert(0, os.path.join(ROOT, "tests", "reports"))
from records_kit import GAPPY_CONV, record  # noqa: E402

TEST = "conv_oracle/suite/test_forward.py::test_forward_exact[{}-float64]"
MADE = {"magnitude": 3, "layout": "contiguous"}


def example(target, fail=False, seed=5, **kw):
    return record(GAPPY_CONV, target=target, fail=fail, test=TEST.format(target), dtype="float64", mode="exact",
                  x_layout="contiguous", w_layout="channels_last", seed=seed, operands=MADE, **kw)


def test_replays_choose_the_reported_failures_other_targets_never_reached():
    shrunk = example("conv_plus_one", fail=True, reported=True)
    drawn = example("conv_plus_one", fail=True, seed=9)
    other = example("torch", seed=7)
    (todo,) = fold.replays([drawn, shrunk, other], ["torch", "conv_plus_one"])
    assert todo["seed"] == 5 and todo["replay_on"] == ["torch"]
    assert fold.replays([shrunk, example("torch")], ["torch", "conv_plus_one"]) == []  # torch judged it already
    no_operands = {k: v for k, v in shrunk.items() if k != "operands"}
    assert fold.replays([no_operands], ["torch", "conv_plus_one"]) == []  # a record without operands cannot
    skips = dict(shrunk, property="skipped_input_pixels")
    assert fold.replays([skips], ["torch", "conv_plus_one"]) == []


@pytest.mark.heavy
def test_an_example_wrong_on_one_target_is_checked_on_the_other(tmp_path, monkeypatch, capsys):
    """A failing example of conv_plus_one that torch never drew: the replay checks it on torch (a pytest of
    its own), its record joins the run's, and the fold says wrong at conv_plus_one, right at torch."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([ROOT, FAULTY, os.environ.get("PYTHONPATH", "")]))
    folder = tmp_path / "run"
    folder.mkdir()
    recs = [example("conv_plus_one", fail=True, reported=True), example("torch", seed=7)]
    (folder / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    code, interrupted = cmd._replay(str(folder), ["torch", "conv_plus_one"], None, [], 1)
    assert (code, interrupted) == (1, False), capsys.readouterr().out[-3000:]
    assert sorted(os.listdir(folder)) == ["records.jsonl"]  # the replay's folder is gone
    merged = R.load(str(folder / "records.jsonl"))
    assert len(merged) == 3
    replayed = merged[2]
    assert replayed["target"] == "torch" and replayed["replay"] is True and replayed["verdict"] == "pass"
    assert fold.example_key(replayed) == fold.example_key(recs[0])
    (entry,) = fold.fold(merged)
    assert fold.fold_phrase(entry) == "wrong at conv_plus_one; right at torch"
