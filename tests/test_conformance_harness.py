"""The conformance harness's own logic (conformance/): reading junit results into a pass table per
service. Running the suites themselves is on demand (`python -m conformance`, docs/conformance.md)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conformance.__main__ import Tally, read_junit, table  # noqa: E402

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest">
 <testcase classname="tests.aws.services.sqs.test_sqs.TestSqsProvider" name="test_send"/>
 <testcase classname="tests.aws.services.sqs.test_sqs.TestSqsProvider" name="test_receive">
  <failure message="AssertionError: snapshot mismatch&#10;details">trace</failure></testcase>
 <testcase classname="tests.aws.services.lambda_.test_lambda.TestLambda" name="test_invoke"/>
 <testcase classname="tests.aws.services.lambda_.test_lambda.TestLambda" name="test_layers">
  <skipped message="no docker"/></testcase>
 <testcase classname="tests.aws.services.lambda_.test_lambda.TestLambda" name="test_setup">
  <error message="fixture failed"/></testcase>
 <testcase classname="tests.unit.test_other" name="test_ignored"/>
</testsuite></testsuites>
"""


def _service(case):
    parts = case.get("classname").split(".")
    return {"lambda_": "lambda"}.get(parts[3], parts[3]) if parts[:3] == ["tests", "aws", "services"] else None


def test_junit_results_become_a_tally_per_service(tmp_path):
    path = tmp_path / "junit.xml"
    path.write_text(JUNIT)
    tallies: dict[str, Tally] = {}
    read_junit(path, _service, tallies)
    assert (tallies["sqs"].passed, tallies["sqs"].failed, tallies["sqs"].ran) == (1, 1, 2)
    assert tallies["sqs"].failures == [("tests.aws.services.sqs.test_sqs.TestSqsProvider::test_receive",
                                        "AssertionError: snapshot mismatch")]
    assert (tallies["lambda"].passed, tallies["lambda"].errors, tallies["lambda"].skipped) == (1, 1, 1)
    assert set(tallies) == {"sqs", "lambda"}


def test_the_table_has_a_row_per_service_and_a_total_per_suite():
    text = table({"localstack": {"sqs": Tally(passed=3, failed=1), "sns": Tally(passed=1, skipped=2)}})
    assert "| localstack | sns | 1 | 0 | 0 | 2 | 100% |" in text
    assert "| localstack | sqs | 3 | 1 | 0 | 0 | 75% |" in text
    assert "| **localstack** | **all** | 4 | 1 | 0 | 2 | **80%** |" in text
