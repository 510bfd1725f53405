"""index.html: self-contained, well formed, escaped; matrix, maps (6x6 first), failures (conv_oracle.report.html)."""

import re
from html.parser import HTMLParser

import pytest

from conv_oracle.report import html, summarize, svg, write_reports

from records_kit import PLANTED_SNIPPET

VOID = {"meta", "br", "img", "input", "link", "hr", "col", "rect", "line"}  # rect/line may self-close in SVG


class Structure(HTMLParser):
    """Checks that every non-void element is closed in order, and collects tags and attributes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.tags, self.attrs, self.text = [], [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture
def page(sample_records):
    return html.render(summarize(sample_records, {"targets": ["torch", "planted"], "profile": "dev", "exit_code": 1}))


def parse(text):
    p = Structure()
    p.feed(text)
    p.close()
    return p


def test_page_is_well_formed(page):
    p = parse(page)
    assert page.startswith("<!DOCTYPE html>")
    assert p.errors == [] and p.stack == []
    assert p.tags.count("html") == 1 and "main" in p.tags


def test_page_is_self_contained(page):
    p = parse(page)
    assert "script" not in p.tags and "link" not in p.tags and "img" not in p.tags and "iframe" not in p.tags
    for name, value in p.attrs:
        if name in ("src", "href"):
            assert value.startswith("#"), (name, value)
    assert not re.search(r"url\((?!#)", page) and "@import" not in page and "http://" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")


def test_text_from_records_is_escaped(page):
    assert "<b>planted</b>" not in page and "&lt;b&gt;planted&lt;/b&gt;" in page
    assert "&lt;planted &amp; escaped&gt;" in page


def test_coverage_matrix_with_counts_gaps_and_na(page):
    matrix = page[page.index('id="coverage"'):page.index('id="distinct"')]
    assert "stride vs effective kernel" in matrix and "dilation" in matrix and "dtype" in matrix
    assert '<th colspan="2">conv</th><th colspan="2">conv_transpose</th>' in matrix
    assert 'class="n fail">2 (2 failed)</td>' in matrix
    assert 'class="n gap"' in matrix and 'class="na"' in matrix
    assert "gap(s)" in matrix


def test_maps_start_with_the_6x6_heatmap(page):
    maps = page[page.index('id="maps"'):]
    first = maps[maps.index("<figure>"):maps.index("</figure>")]
    assert "seed case" in first and "conv_transpose2d(input[1, 1, 2, 2]" in first
    assert first.count("<rect x=") == 36 + 2  # 6x6 cells and two legend swatches
    assert first.count("bias-only cell</title>") == 20
    assert "20 of 36 bias-only cells" in first


def test_failures_section_shows_configuration_cells_and_snippet(page):
    fails = page[page.index('id="failures"'):page.index('id="coverage"')]
    assert "Failures (2)" in fails
    assert "test_forward_exact[planted-float32]" in fails
    assert "conv2d(input[1, 1, 5, 5]" in fails
    assert "<td class=\"n fail\">2.0</td>" in fails and "<td class=\"n fail\">nan</td>" in fails
    assert "Reproduce with target planted:" in fails and "planted.conv2d(x, w, b)" in fails


def test_passing_run_says_so(make_record):
    from conv_oracle.definition.historical import SEED_6X6
    page = html.render(summarize([make_record(SEED_6X6)], {"targets": ["torch"], "exit_code": 0}))
    assert "PASSED: 1 examples" in page and "No failures." in page


def test_heatmap_colours_and_tooltips():
    out = svg.heatmap([[0, 1], [2, 4]], "u", "skipped pixel")
    assert out.count("<rect x=") == 4 + 2
    assert 'fill="url(#hatch-u)"' in out and "[0, 0]: skipped pixel" in out
    assert "[1, 1]: 4 contributions" in out and "1..4 contributions" in out
    assert svg.fill(1, 4) == svg.BLUES[0] and svg.fill(4, 4) == svg.BLUES[-1]


def test_write_reports_writes_three_files_atomically(tmp_path, sample_records):
    s = write_reports(str(tmp_path), sample_records, None, {"targets": ["torch"]})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html", "summary.json", "summary.md"]
    assert s["files"]["html"] == str(tmp_path / "index.html")
    assert PLANTED_SNIPPET.splitlines()[1] in (tmp_path / "summary.md").read_text()
