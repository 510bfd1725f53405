"""One fold across contexts (conv_oracle.harness.fold) in the report: the same example on several targets
(torch right, onnxruntime wrong), on several machines and torch versions (a merge), side by side."""

import json

from conv_oracle.definition.case import Case
from conv_oracle.harness import fold, records
from conv_oracle.report import markdown, summarize, write_reports

from records_kit import GAPPY_CONV, record

AMX = "x86_64 avx2+fma+avx512f+amx_bf16 cap=ALL aten=AVX512 cpu"
CAPPED = "x86_64 avx2+fma+avx512f+amx_bf16 cap=AVX2 aten=AVX2 cpu"
SMALL = Case("conv", 2, 1, 1, 1, 1, (5, 5), (2, 2), stride=3)
OPERANDS = {"dtype": "float32", "mode": "exact", "x_layout": "contiguous", "w_layout": "contiguous", "seed": 1,
            "path": {"backend": "Mkldnn", "isa": "AVX2", "isa_cap": "AVX2", "aten": "AVX2", "threads": 1}}


def on(rec, cls, torch="2.13.0"):
    return {**rec, "machine": {"class": cls, "torch": torch, "cpu": "Xeon"}}


def example(target, fail=False, case=GAPPY_CONV, **fields):
    return record(case, target=target, fail=fail, **{**OPERANDS, **fields})


def test_cross_target_comparison_says_which_target_is_right_for_the_same_example():
    recs = [example("torch"), example("onnxruntime", fail=True),
            example("torch", case=SMALL), example("onnxruntime", case=SMALL)]
    s = summarize(recs, {"targets": ["torch", "onnxruntime"]})
    (entry,) = s["where"]["examples"]  # SMALL passed on both: nothing to say about it
    assert fold.fold_phrase(entry) == "wrong at onnxruntime; right at torch"
    assert entry["test"] == "conv_oracle/suite/test_forward.py::test_forward_exact[float32]"
    assert s["where"]["order"] == ["torch", "onnxruntime"] and s["meta"]["targets"] == ["torch", "onnxruntime"]
    md = markdown.render(s)
    assert f"`{Case.from_dict(entry['case']).describe()}`: wrong at onnxruntime; right at torch" in md


def test_the_same_target_on_two_machines_is_two_contexts_named_by_what_differs():
    recs = [on(example("torch", fail=True), AMX), on(example("torch"), CAPPED),
            on(example("torch", case=SMALL), AMX)]
    names = fold.labels(recs)
    assert sorted(names.values()) == ["torch on cap=ALL aten=AVX512", "torch on cap=AVX2 aten=AVX2"]
    (entry,) = fold.fold(recs)
    assert entry["wrong_at"] == ["torch on cap=ALL aten=AVX512"] and entry["right_at"] == ["torch on cap=AVX2 aten=AVX2"]
    # the example only the first machine drew was not reached on the second
    recs.append(on(example("torch", fail=True, case=SMALL, seed=2), AMX))
    (other,) = [e for e in fold.fold(recs) if Case.from_dict(e["case"]) == SMALL]
    assert other["wrong_at"] == ["torch on cap=ALL aten=AVX512"] and other["not_reached"] == ["torch on cap=AVX2 aten=AVX2"]


def test_torch_versions_are_named_only_where_they_differ_and_deviations_are_their_own_column():
    recs = [on(example("torch", fail=True), AMX, "2.13.0"), on(example("torch"), AMX, "2.15.0")]
    (entry,) = fold.fold(recs)
    assert fold.fold_phrase(entry) == "wrong at torch with torch 2.13.0; right at torch with torch 2.15.0"
    dev = on(example("torch", fail=True), AMX, "2.15.0")
    dev.update(verdict="deviation", deviation="some-entry")
    (entry,) = fold.fold([on(example("torch"), AMX, "2.13.0"), dev])
    assert entry["deviation_at"] == ["torch with torch 2.15.0"] and entry["deviation"] == "some-entry"
    assert fold.verdict_at(entry, "torch with torch 2.13.0") == "right"


def test_a_merge_totals_per_target_machine_and_torch_version(tmp_path):
    recs = [on(example("torch", fail=True), AMX), on(example("torch"), CAPPED), on(example("torch", case=SMALL), CAPPED)]
    s = write_reports(str(tmp_path), recs, None, {"targets": ["torch"]})
    per = s["totals"]["targets"]
    assert set(per) == {"torch on cap=ALL aten=AVX512", "torch on cap=AVX2 aten=AVX2"}  # no empty 'torch' column
    assert per["torch on cap=ALL aten=AVX512"]["failed"] == 1 and per["torch on cap=AVX2 aten=AVX2"]["passed"] == 2
    assert {r["target"] for r in s["paths"]["table"]["rows"]} == set(per)  # backend x dtype x op per hardware class
    (fail,) = s["failures"]
    assert fail["target_name"] == "torch" and fail["target"] == "torch on cap=ALL aten=AVX512"
    page = (tmp_path / "index.html").read_text()
    assert '<td class="fail">wrong</td><td class="ok">right</td>' in page  # side by side, in context order
    assert "Reproduce with target torch:" in page
    contexts = {c["label"]: c for c in s["where"]["contexts"]}
    assert contexts["torch on cap=AVX2 aten=AVX2"]["hardware_class"] == CAPPED
    assert contexts["torch on cap=AVX2 aten=AVX2"]["examples"] == 2
    json.dumps(s, allow_nan=False)


def test_records_read_in_context_carry_the_machine_of_their_part(tmp_path):
    fp = {"cpu": {"arch": "x86_64", "flags": ["avx2"], "model": "Xeon"}, "env": {"ONEDNN_MAX_CPU_ISA": "AVX2"},
          "torch": {"version": "2.13.0", "cpu_capability": "AVX2"}}
    path = tmp_path / "records.jsonl"
    lines = [example("torch"), {"environment": fp, "worker": "gw0"}, example("torch", case=SMALL)]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    first, second = records.load_in_context(str(path))
    assert "machine" not in first  # before any environment line
    assert second["machine"] == {"class": "x86_64 avx2 cap=AVX2 aten=AVX2 cpu", "torch": "2.13.0", "cpu": "Xeon"}
