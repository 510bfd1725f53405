#!/usr/bin/env python3
"""Probe how torch words each invalid-call rule's rejection, against the table error parity reads
(``conv_oracle.definition.invalid_calls.TORCH_WORDING``): for every rule and operator, the baseline
corpus's fixed calls and ``--draws`` calls drawn like the suite's (every choice of the rule), in every
dtype, on each target. Prints per (rule, op) how many messages named the rule, named none
(unrecognised: not a failure) or named only other rules (WRONG: the suite would fail torch), then each
message that did not name its rule. Exit status 1 when any message was WRONG.

    python scripts/probe_rejection_wording.py --targets torch torch-no-mkldnn --draws 150

Run it with each torch release's interpreter before trusting the table there (torch-compile is slow:
``--draws 0`` probes only the corpus).
"""

from __future__ import annotations

import argparse
import collections
import itertools
import re
import sys
import warnings

import numpy as np


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", nargs="+", default=["torch", "torch-no-mkldnn"])
    parser.add_argument("--draws", type=int, default=150, help="drawn calls per rule and operator")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from conv_oracle.baseline import corpus
    from conv_oracle.definition.dtypes import FLOAT_DTYPES
    from conv_oracle.definition.invalid_calls import INVALID_RULE_OPS, INVALID_RULES, named_rules
    from conv_oracle.strategies.invalid import _base
    from conv_oracle.targets import execution, load_target

    targets = [load_target(name) for name in args.targets]
    verdicts = collections.Counter()  # (rule, op, verdict)
    odd = collections.Counter()       # (rule, verdict, message): the messages that did not name their rule

    def probe(call, dtypes):
        x, w = np.zeros(call.input_shape), np.zeros(call.weight_shape)
        b = None if call.bias_shape is None else np.zeros(call.bias_shape)
        for target, dtype in itertools.product(targets, dtypes):
            try:
                execution.run(target, call.case, x, w, b, dtype)
            except Exception as exc:
                named = named_rules(str(exc))
                verdict = "named" if call.rule in named else ("unrecognised" if not named else "WRONG")
                if verdict != "named":
                    text = re.sub(r"\d+", "N", f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
                    odd[(call.rule, verdict, text)] += 1
            else:
                verdict = "accepted"
            verdicts[(call.rule, call.case.op, verdict)] += 1

    for entry in corpus.invalid():
        probe(entry.invalid_call(), FLOAT_DTYPES)

    for rule_name, op in INVALID_RULE_OPS if args.draws else ():
        rule = INVALID_RULES[rule_name]
        choices = [dict(zip(rule.choices, values))
                   for values in itertools.product(*(rule.values(a, op) for a in rule.choices))]

        @settings(max_examples=args.draws, database=None, deadline=None, suppress_health_check=list(HealthCheck))
        @given(data=st.data())
        def drawn(data):
            call = rule.call(_base(data.draw, op), **data.draw(st.sampled_from(choices)))
            probe(call, (data.draw(st.sampled_from(FLOAT_DTYPES)),))
        drawn()

    for (rule, op, verdict), n in sorted(verdicts.items()):
        print(f"{n:6d}  {op:15s} {rule:52s} {verdict}")
    if odd:
        print("\nmessages that did not name their rule:")
    for (rule, verdict, text), n in sorted(odd.items()):
        print(f"{n:6d}  {verdict:12s} {rule}: {text}")
    return 1 if any(v == "WRONG" for _, _, v in verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
