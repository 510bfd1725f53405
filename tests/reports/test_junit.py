"""Reading pytest's JUnit XML (conv_oracle.report.junit)."""

from conv_oracle.report import junit

XML = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="1" skipped="1" tests="4" time="2.5">
<testcase classname="conv_oracle.suite.test_shapes" name="test_output_shape[torch]" time="1.0"/>
<testcase classname="conv_oracle.suite.test_forward" name="test_forward_exact[t-float32]" time="1.0">
  <failure message="AssertionError: output of conv2d(...)&#10;second line">long text</failure></testcase>
<testcase classname="conv_oracle.suite.test_errors" name="test_error_parity[torch-x]" time="0.1">
  <skipped type="pytest.skip" message="known deviation: oneDNN accepts it">skip text</skipped></testcase>
<testcase classname="conv_oracle.suite.test_skips" name="test_bias_only_output_cells[t-float32]" time="0.4">
  <error message="failed on setup with &quot;boom&quot;">trace</error></testcase>
</testsuite></testsuites>"""


def test_counts_and_outcomes(tmp_path):
    path = tmp_path / "junit.xml"
    path.write_text(XML)
    result = junit.read(str(path))
    assert {k: result[k] for k in ("tests", "passed", "failed", "error", "skipped", "time")} == \
        {"tests": 4, "passed": 1, "failed": 1, "error": 1, "skipped": 1, "time": 2.5}
    by_test = {c["test"]: c for c in result["cases"]}
    fail = by_test["conv_oracle/suite/test_forward.py::test_forward_exact[t-float32]"]
    assert fail["outcome"] == "failed" and fail["message"] == "AssertionError: output of conv2d(...)"
    assert fail["text"] == "long text"
    assert by_test["conv_oracle/suite/test_errors.py::test_error_parity[torch-x]"]["message"] == \
        "known deviation: oneDNN accepts it"


def test_missing_or_broken_file_gives_none(tmp_path):
    assert junit.read(str(tmp_path / "absent.xml")) is None
    (tmp_path / "bad.xml").write_text("<testsuite><testcase")
    assert junit.read(str(tmp_path / "bad.xml")) is None
