#!/usr/bin/env python3
"""Record convolution behaviour across torch releases on this machine, and write the changelog.

For each torch version: a virtual environment of its own (made with --install: the PyPI wheel,
``numpy<2`` for torch < 2.3, hypothesis; the pinned version may use this interpreter), then
``conv-oracle snapshot`` under each ISA cap, filed as
``reports/baselines/<hardware slug>/torch-<version>-cpu.json``. With --contract, the pinned
version's snapshot at cap AVX2 (the path every x86-64 CPU runs) becomes the contract baseline
``reports/baselines/torch-<version>-cpu.json``. Then, per cap, ``conv-oracle compare`` of the pinned
version against each other one (same machine, same cap: only torch differs) goes to
``reports/baselines/<slug>/changes-<pinned>-to-<version>.md``, and the behaviour summaries to the
changelog section of docs/upgrading-torch.md (between the survey markers).

    python scripts/upgrade_survey.py --install --contract \\
        --versions 2.13.0=.venv/bin/python 2.15.0 2.5.1 2.2.0 --caps ALL AVX512_CORE AVX2

CI never runs this (several GB per release). Installs lift the pip cap of these machines with
PIP_CONSTRAINT=<an empty file>.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from conv_oracle.baseline import diff, report, schema  # noqa: E402
from conv_oracle.baseline.snapshot import baseline_name, hardware_slug  # noqa: E402

CAPS = {"ALL": {}, "AVX512_CORE": {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE"},
        "AVX2": {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}}
BEGIN, END = "<!-- survey:begin -->", "<!-- survey:end -->"


def install(version: str, venv: Path) -> Path:
    python = venv / "bin" / "python"
    if python.exists() and subprocess.run([python, "-c", "import torch, hypothesis"]).returncode == 0:
        return python
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    numpy = "numpy<2" if tuple(int(x) for x in version.split(".")[:2]) < (2, 3) else "numpy"
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as empty:
        env = dict(os.environ, PIP_CONSTRAINT=empty.name)
        subprocess.run([python, "-m", "pip", "install", "-q", f"torch=={version}", numpy, "hypothesis"],
                       check=True, env=env)
    return python


def _env(cap: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA",
                                                               "ATEN_CPU_CAPABILITY")}
    env.update(CAPS[cap], PYTHONPATH=str(ROOT), OMP_WAIT_POLICY="PASSIVE")
    return env


def filed_already(python: Path, version: str, cap: str, baselines: Path) -> Path | None:
    """The snapshot of ``version`` under ``cap`` on this machine, if one is filed (for --reuse)."""
    code = "from conv_oracle.machine import fingerprint as f; print(f.hardware_class(f.fingerprint()))"
    hw = subprocess.run([str(python), "-c", code], env=_env(cap), capture_output=True, text=True, check=True,
                        cwd=ROOT).stdout.strip()
    path = baselines / hardware_slug(hw) / f"torch-{version}-cpu.json"
    return path if path.exists() else None


def snapshot(python: Path, cap: str, baselines: Path) -> Path:
    """One snapshot under ``cap``, filed by its hardware class; returns its path."""
    env = _env(cap)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "snap.json"
        subprocess.run([str(python), "-m", "conv_oracle", "snapshot", "--out", str(out)], check=True, env=env,
                       cwd=ROOT)
        data = schema.load(str(out))
        dest = baselines / hardware_slug(data["hardware_class"]) / baseline_name(data)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out, dest)
    print(f"  {cap}: {dest.relative_to(ROOT)}", flush=True)
    return dest


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in version.split("+")[0].split(".") if x.isdigit())


def changelog(rows: list[tuple[str, str, str, diff.Comparison]]) -> str:
    """Per consecutive pair of releases, the behaviours that changed, each with the ISA caps it showed at."""
    lines = [BEGIN, "", "Produced by `scripts/upgrade_survey.py` (do not edit by hand). Each section compares two "
             "consecutive releases on one machine under the same ISA cap, so only torch differs; a behaviour "
             "lists the caps where it changed (`ALL`: this CPU's own kernels, AVX512_BF16 included).", ""]
    pairs: dict[tuple[str, str], list] = {}
    for cap, old_v, new_v, cmp in rows:
        pairs.setdefault((old_v, new_v), []).append((cap, cmp))
    for (old_v, new_v), per_cap in pairs.items():
        first = per_cap[0][1]
        lines += [f"### torch {old_v} → {new_v}", "",
                  f"oneDNN {first.old['environment'].get('onednn')} → {first.new['environment'].get('onednn')}; "
                  f"{first.compared} cases; contract changes per cap: "
                  + ", ".join(f"{cap} {len(cmp.regressions())}" for cap, cmp in per_cap)
                  + "; precision drifts inside the bound (informational): "
                  + ", ".join(f"{cap} {sum(1 for c in cmp.changes if c.cls == 'precision')}" for cap, cmp in per_cap)
                  + ".", ""]
        caps_of: dict[str, list[str]] = {}
        for cap, cmp in per_cap:
            for group in report.behaviour_groups(cmp):
                caps_of.setdefault(report.format_behaviour(*group), []).append(cap)
        all_caps = [cap for cap, _ in per_cap]
        for line, caps in caps_of.items():
            lines.append(line + ("" if caps == all_caps else f" — caps {', '.join(caps)} only"))
        if not caps_of:
            lines.append("- no behaviour changed")
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--versions", nargs="+", required=True,
                    help="VERSION or VERSION=PYTHON; the first is the pinned one everything is compared with")
    ap.add_argument("--caps", nargs="+", default=["ALL", "AVX2"], choices=list(CAPS))
    ap.add_argument("--venvs", default="/work/venvs", help="where torch-<version> environments live")
    ap.add_argument("--install", action="store_true", help="create missing environments (downloads GBs)")
    ap.add_argument("--contract", action="store_true",
                    help="also file the pinned version's AVX2-cap snapshot as the contract baseline")
    ap.add_argument("--reuse", action="store_true", help="use snapshots already filed for this machine and cap")
    ap.add_argument("--doc", default=str(ROOT / "docs" / "upgrading-torch.md"))
    args = ap.parse_args()
    baselines = ROOT / "reports" / "baselines"
    pythons = {}
    for spec in args.versions:
        version, _, python = spec.partition("=")
        venv = Path(args.venvs) / f"torch-{version}"
        pythons[version] = Path(python) if python else (install(version, venv) if args.install
                                                        else venv / "bin" / "python")
    filed: dict[tuple[str, str], Path] = {}
    for version, python in pythons.items():
        print(f"torch {version} ({python})", flush=True)
        for cap in args.caps:
            filed[(version, cap)] = ((args.reuse and filed_already(python, version, cap, baselines))
                                     or snapshot(python, cap, baselines))
    pinned = next(iter(pythons))
    if args.contract:
        contract = filed.get((pinned, "AVX2")) or snapshot(pythons[pinned], "AVX2", baselines)
        shutil.copyfile(contract, baselines / contract.name)
        print(f"contract baseline: {(baselines / contract.name).relative_to(ROOT)}")
    rows = []
    chain = sorted(pythons, key=_key)
    for cap in args.caps:
        for version in list(pythons)[1:]:  # the pinned release against each other one: the upgrade reports
            old_path, new_path = filed[(pinned, cap)], filed[(version, cap)]
            cmp = diff.compare(schema.load(str(old_path)), schema.load(str(new_path)))
            out = old_path.parent / f"changes-{pinned}-to-{version}.md"
            out.write_text(report.markdown(cmp, str(old_path.relative_to(ROOT)), str(new_path.relative_to(ROOT))))
            print(f"  {cap}: {pinned} -> {version}: {len(cmp.regressions())} contract change(s)", flush=True)
    for old_v, new_v in zip(chain, chain[1:]):  # the changelog: consecutive releases, oldest first
        for cap in args.caps:
            cmp = diff.compare(schema.load(str(filed[(old_v, cap)])), schema.load(str(filed[(new_v, cap)])))
            rows.append((cap, old_v, new_v, cmp))
    doc = Path(args.doc)
    text = doc.read_text()
    section = changelog(rows)
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + section + text[text.index(END) + len(END):]
    else:
        text += "\n## Changelog: convolution behaviour across torch releases\n\n" + section + "\n"
    tmp = doc.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, doc)
    print(f"wrote the changelog into {doc.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
