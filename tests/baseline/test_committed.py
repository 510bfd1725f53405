"""CI: the installed torch against its committed baseline, and the committed baselines themselves.

Which baseline: the one recorded on this hardware class (``reports/baselines/<hardware slug>/``) when
one is committed, else the contract baseline (``reports/baselines/torch-<version>-cpu.json``,
recorded with ``ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2``: the path every x86-64 CPU runs).
Either way only the cross-machine contract can fail the check; bound shares moving inside the bound
never do (see conv_oracle/baseline/diff.py).
"""

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import torch.nn.functional as F

from conv_oracle.baseline import corpus, ignore, report, schema
from conv_oracle.baseline.diff import apply_ignores, compare
from conv_oracle.baseline.snapshot import baseline_name, hardware_slug, snapshot
from conv_oracle.targets import FUNCTIONS, load_target

ROOT = Path(__file__).resolve().parents[2]
BASELINES = ROOT / "reports" / "baselines"
HARDWARE_DEPENDENT = BASELINES / "hardware-dependent.ignore"
COMMITTED = sorted(glob.glob(str(BASELINES / "*.json")) + glob.glob(str(BASELINES / "*" / "*.json")))


def committed_path(snap) -> Path:
    """This hardware's baseline of the installed torch if committed, else the contract baseline."""
    own = BASELINES / hardware_slug(snap["hardware_class"]) / baseline_name(snap)
    return own if own.exists() else BASELINES / baseline_name(snap)


def _committed_for(snap) -> dict:
    path = committed_path(snap)
    if not path.exists():
        rel = path.relative_to(ROOT)
        pytest.skip(f"no committed baseline {rel} for the installed torch {snap['environment']['torch_version']}: "
                    f"record one with `conv-oracle snapshot --out {rel}`")
    return schema.load(str(path))


def check(committed: dict, snap: dict):
    """The CI comparison: against this hardware's own baseline as it is; against the contract baseline
    with the known hardware-dependent torch deviations (reports/baselines/hardware-dependent.ignore) set aside."""
    cmp = compare(committed, snap)
    if committed.get("hardware_class") != snap["hardware_class"]:
        apply_ignores(cmp, ignore.load(str(HARDWARE_DEPENDENT)))
    return cmp


def test_installed_torch_matches_committed_baseline(torch_snapshot):
    """The installed torch keeps the cross-machine contract of its committed baseline."""
    committed = _committed_for(torch_snapshot)
    cmp = check(committed, torch_snapshot)
    assert not cmp.regressions(), report.markdown(cmp, str(committed_path(torch_snapshot).relative_to(ROOT)),
                                                  "installed torch")


def test_planted_change_fails_against_committed_baseline(torch_snapshot, corpus_entries):
    """The same check with a behaviour change planted in torch's conv2d (off by one when stride > kernel)
    reports exactly the affected cases as value changes and fails (exit status 1), on any hardware."""
    committed = _committed_for(torch_snapshot)
    import planted_stride_gap
    functions = {name: getattr(F, name) for name in FUNCTIONS} | {"conv2d": planted_stride_gap.conv2d}
    base = load_target("torch")
    faulty = type(base)("torch", functions, "cpu", modules=True, description="torch with a planted conv2d fault")
    conv2d = [e for e in corpus_entries if e.kind == "valid" and e.case.fn_name == "conv2d"]
    ids = {e.id for e in conv2d}
    mine = dict(committed, cases=[c for c in committed["cases"] if c["id"] in ids])
    cmp = check(mine, snapshot(faulty, conv2d))
    expected = {e.id for e in conv2d if not e.case.needs_module
                and any(s > k for s, k in zip(e.case.config().stride, e.case.kernel_size))}
    assert expected and {c.id for c in cmp.regressions()} == expected
    assert {c.cls for c in cmp.regressions()} == {"values"}
    assert cmp.exit_code == 1


def test_the_contract_baseline_plus_known_hardware_deviations_holds_for_every_recorded_class():
    """Every per-hardware baseline of the pinned torch keeps the contract of the contract baseline once
    the listed hardware-dependent deviations are set aside: what CI on such a machine, without its own
    baseline, would conclude. Each listed entry is needed by some recorded class (none is stale)."""
    contract = BASELINES / "torch-2.13.0-cpu.json"
    own = sorted(BASELINES.glob("*/torch-2.13.0-cpu.json"))
    if not contract.exists() or not own:
        pytest.skip("no contract or per-hardware baselines of torch 2.13.0 committed")
    rules, used = ignore.load(str(HARDWARE_DEPENDENT)), set()
    for path in own:
        cmp = compare(schema.load(str(contract)), schema.load(str(path)))
        used |= {r.pattern for c in cmp.regressions() for r in rules if r.matches(c)}
        apply_ignores(cmp, rules)
        assert not cmp.regressions(), report.markdown(cmp, "contract", str(path.relative_to(ROOT)))
    assert used == {r.pattern for r in rules}, f"stale entries: {sorted({r.pattern for r in rules} - used)}"


@pytest.mark.skipif(not COMMITTED, reason="no committed baselines in reports/baselines/")
@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: os.path.relpath(p, BASELINES))
def test_committed_baseline_is_valid_small_and_current(path):
    """Each committed baseline loads, stays small, sits where its hardware class says, and was made
    from today's corpus (a corpus change must bump CORPUS_VERSION and re-record the baselines)."""
    data = schema.load(path)
    assert os.path.getsize(path) < 1_000_000
    assert os.path.basename(path) == baseline_name(data)
    folder = os.path.basename(os.path.dirname(path))
    if folder != "baselines":
        assert folder == hardware_slug(data["hardware_class"]), "a per-hardware baseline in another class's folder"
    if data["corpus"]["version"] == corpus.CORPUS_VERSION:
        assert data["corpus"]["digest"] == corpus.digest(corpus.build()), \
            "the corpus changed without a CORPUS_VERSION bump: bump it and re-record the committed baselines"


@pytest.mark.skipif(not COMMITTED or not shutil.which("git") or not (ROOT / ".git").exists(),
                    reason="needs the committed baselines in a git checkout")
def test_committed_baselines_are_not_ignored_by_git():
    rel = [str(Path(p).relative_to(ROOT)) for p in COMMITTED]
    proc = subprocess.run(["git", "check-ignore", "--no-index", *rel], cwd=ROOT, capture_output=True, text=True)
    assert proc.stdout.strip() == "", f".gitignore ignores committed baselines: {proc.stdout}"
