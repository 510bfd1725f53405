"""Benchmark: the cost per example of crash isolation and of the double (poisoned) call.

Run on demand (not collected by pytest):

    python benchmarks/bench_isolation.py [--examples N] [--seed S]

Draws N cases from the suite's strategy (seeded, the same for every mode) and times
``properties.forward`` and ``properties.gradients`` per example in three modes:

* ``single``: the bare property, in this process, once (what the suite did before isolation);
* ``twice``: in this process, twice under two heap poisons with the reads compared
  (``CONV_ORACLE_ISOLATION=off``);
* ``isolated``: in the target's worker process (the default): pipe round trip plus the double call.

Modes are interleaved per example. Prints the median milliseconds per example and the worker's start-up time. Timings on a shared
machine are noisy: run it when the cores are otherwise idle.
"""

from __future__ import annotations

import argparse
import os
import time

# The modes alternate between this process and the worker: OpenMP threads spinning after a call in
# one would starve the other (see bench_oracle.py). Set before torch loads; the worker inherits it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from conv_oracle import strategies as cs  # noqa: E402
from conv_oracle.checks import isolation, properties  # noqa: E402
from conv_oracle.machine.settings import reload as reload_settings  # noqa: E402
from conv_oracle.targets import load_target  # noqa: E402


def draw_cases(n: int, seed: int) -> list:
    drawn = []

    @settings(max_examples=n, database=None, derandomize=True, deadline=None,
              suppress_health_check=list(HealthCheck), phases=["generate"])
    @given(case=cs.cases(padding_modes=False, output_size=False), s=st.integers(0, 2**32 - 1))
    def collect(case, s):
        drawn.append((case, s))

    collect()
    rng = np.random.default_rng(seed)
    rng.shuffle(drawn)
    return drawn[:n]


def examples(cases, target):
    for case, s in cases:
        m = max(1, cs.exactness(case, "float32", gradients=True).magnitude)
        ops = cs.make_operands(case, "exact", s, m)
        yield case, ops


MODES = ("single", "twice", "isolated")


def time_modes(cases, target) -> dict:
    """Median milliseconds per example for each (property, mode); the modes interleaved per example
    so that load on a shared machine hits them alike."""
    times = {}
    for name, call in (("forward", lambda fn, case, ops: fn(target, case, ops, "float32")),
                       ("gradients", lambda fn, case, ops: fn(target, case, ops, "float32", "weight"))):
        fn = getattr(properties, name)
        for case, ops in examples(cases, target):
            for mode in MODES:
                os.environ[isolation.ENV_MODE] = "off" if mode != "isolated" else "on"
                reload_settings()
                t0 = time.perf_counter()
                try:
                    call(fn.__wrapped__ if mode == "single" else fn, case, ops)
                except AssertionError:
                    pass
                times.setdefault((name, mode), []).append(1e3 * (time.perf_counter() - t0))
    return {key: float(np.median(v)) for key, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    target = load_target("torch")
    cases = draw_cases(args.examples, args.seed)
    t0 = time.perf_counter()
    isolation.supervisor(target).call(properties.output_shape, target, (cases[0][0],), {})
    startup = time.perf_counter() - t0
    print(f"{len(cases)} examples; worker start-up {startup * 1e3:.0f} ms (one per target and process)")
    t = time_modes(cases, target)
    print(f"{'mode':<10} {'forward ms/example':>20} {'gradients ms/example':>22}  (medians)")
    for mode in MODES:
        print(f"{mode:<10} {t['forward', mode]:>20.2f} {t['gradients', mode]:>22.2f}")
    isolation.shutdown()


if __name__ == "__main__":
    main()
