"""summary.md: the same tables in Markdown (conv_oracle.report.markdown)."""

import pytest

from conv_oracle.report import markdown, summarize


@pytest.fixture
def doc(sample_records):
    return markdown.render(summarize(sample_records, {"targets": ["torch", "planted"], "profile": "dev",
                                                     "exit_code": 1}))


def tables(doc):
    """Each table as a list of rows (lists of cells), split on unescaped pipes."""
    out, current = [], []
    for line in doc.splitlines() + [""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip()[1:-1].replace("\\|", "\0").split("|")]
            current.append([c.replace("\0", "|") for c in cells])
        elif current:
            out.append(current)
            current = []
    return out


def test_every_table_is_rectangular_with_a_separator(doc):
    found = tables(doc)
    assert len(found) >= 8
    for t in found:
        assert len({len(row) for row in t}) == 1, t[0]
        assert all(set(c) <= set("-") for c in t[1])


def test_headline_and_totals(doc):
    assert doc.startswith("# conv_oracle report: FAILED\n")
    assert "7 examples, 5 passed, 2 failed (+ 1 shrinking attempts, 1 failing)" in doc
    totals = next(t for t in tables(doc) if t[0] == ["target", "examples", "passed", "failed"])
    assert totals[2:] == [["torch", "4", "4", "0"], ["planted", "4", "1", "3"]]


def test_coverage_matrix_table(doc):
    matrix = next(t for t in tables(doc) if t[0][:2] == ["parameter", "value"])
    assert matrix[0][2:] == ["conv / torch", "conv / planted", "conv_transpose / torch", "conv_transpose / planted"]
    stride_gt = next(r for r in matrix if r[1] == ">")
    assert stride_gt[2:] == ["1", "2 (**2 failed**)", "1", "1"]
    three_d = next(r for r in matrix if r[1] == "3d")
    assert three_d[2:] == ["**0 (gap)**"] * 4
    same = next(r for r in matrix if r[1] == "same")
    assert same[4:] == ["n/a", "n/a"]


def test_skip_statistics_and_distinct_values(doc):
    assert "### conv: skipped input pixels" in doc and "### conv_transpose: bias-only output cells" in doc
    distinct = next(t for t in tables(doc) if t[0] == ["parameter", "conv", "conv_transpose"])
    assert ["stride", "`1` `3`", "`4`"] in distinct


def test_failures_with_cells_and_fenced_snippet(doc):
    section = doc[doc.index("## Failures (2)"):doc.index("## Coverage of the configuration space")]
    assert "### `conv_oracle/suite/test_forward.py::test_forward_exact[planted-float32]`" in section
    assert "| 0, 0, 1 | 1.0 | 2.0 |" in section
    assert "```python\nimport torch\nout = planted.conv2d(x, w, b)" in section


def test_ascii_maps_start_with_the_seed_case(doc):
    maps = doc[doc.index("## Coverage maps"):]
    first = maps[maps.index("```") + 4:]
    assert first.startswith("# # . . # #\n# # . . # #\n. . . . . .\n. . . . . .\n# # . . # #\n# # . . # #\n```")
