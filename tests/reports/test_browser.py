"""The report page in a real browser: headless Chromium (Debian's ``chromium`` and ``chromium-driver``,
driven by selenium) opens a run's index.html and a merge's, with no console errors, and the failure
list, the execution-path matrix, the coverage matrix, the fold across contexts and the coverage
pictures are visible. Marked ``heavy`` (a browser start, seconds): ``pytest -m heavy``, .ci/run's second
step. A screenshot of each page is kept under the test's tmp_path (its path is printed
and attached to the test's JUnit properties). Skipped, with the reason, where no browser is installed;
.ci/run installs one."""

import os
import shutil

import pytest

from conv_oracle.report import write_reports

from records_kit import GAPPY_CONV, record, sample

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def _driver():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[browser]')")
    binary = next(filter(None, map(shutil.which, BROWSERS)), None)
    driver_path = shutil.which("chromedriver")
    if not binary or not driver_path:
        pytest.skip("no headless browser here: install chromium and chromium-driver (apt-get; .ci/run does)")
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,2000"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=opts, service=Service(driver_path))


@pytest.fixture(scope="module")
def browser():
    driver = _driver()
    yield driver
    driver.quit()


PATH = {"backend": "Mkldnn", "isa": "AVX2", "isa_cap": "AVX2", "aten": "AVX2", "threads": 1}


def run_records():
    """records_kit's sample, each with the kernel path a run records."""
    return [{**r, "path": PATH} for r in sample()]


def merged_records():
    """One failing example on one machine class, the same example right on another and on torch."""
    kit = {"dtype": "float32", "mode": "exact", "x_layout": "contiguous", "w_layout": "contiguous", "seed": 1,
           "path": PATH}
    out = []
    for cap, fail in (("AVX2", True), ("ALL", False)):
        machine = {"class": f"x86_64 avx2+avx512f cap={cap} aten=AVX512 cpu", "torch": "2.13.0", "cpu": "Xeon"}
        out += [{**record(GAPPY_CONV, target="planted", fail=fail, **kit), "machine": machine},
                {**record(GAPPY_CONV, target="torch", **kit), "machine": machine}]
    return out


def visible(driver, css):
    from selenium.webdriver.common.by import By
    found = driver.find_elements(By.CSS_SELECTOR, css)
    assert found, f"no element matches {css!r}"
    for el in found:
        driver.execute_script("arguments[0].scrollIntoView()", el)
        assert el.is_displayed() and el.size["width"] > 0 and el.size["height"] > 0, f"{css!r} is not visible: {el.size}"
    return found


@pytest.mark.heavy
@pytest.mark.parametrize("kind", ["run", "merge"])
def test_the_report_renders_in_a_browser_without_console_errors(browser, tmp_path, kind, record_property):
    recs = run_records() if kind == "run" else merged_records()
    summary = write_reports(str(tmp_path), recs, None, {"targets": ["torch", "planted"], "exit_code": 1},
                            [] if kind == "merge" else None)
    browser.get_log("browser")  # drop what an earlier page left
    browser.get("file://" + summary["files"]["html"])
    assert browser.title == "conv_oracle report"
    visible(browser, "h2#failures")
    cards = visible(browser, ".fail-card")
    assert len(cards) == len(summary["failures"]) > 0
    visible(browser, "h2#paths + p + ul + p + table")   # the backend x dtype x op matrix
    visible(browser, "h2#coverage ~ table")              # the coverage matrix
    pictures = visible(browser, ".maps figure svg")      # the coverage heatmaps
    assert len(pictures) == len(summary["maps"]) and all(p.size["width"] >= 40 for p in pictures)
    if kind == "merge":
        (row,) = visible(browser, "table.fold tbody tr")
        assert row.text.endswith("wrong at planted on cap=AVX2; right at torch on cap=AVX2, planted on cap=ALL, "
                                 "torch on cap=ALL")
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], f"console errors on {summary['files']['html']}: {errors}"
    shot = tmp_path / f"{kind}.png"
    browser.execute_script("window.scrollTo(0, 0)")
    assert browser.save_screenshot(str(shot)) and os.path.getsize(shot) > 10_000
    record_property("screenshot", str(shot))
    print(f"screenshot of the {kind} report: {shot}")
