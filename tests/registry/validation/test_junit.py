"""The JUnit writer: valid against Jenkins' junit-10.xsd whatever a model's error says."""

from __future__ import annotations

from pathlib import Path

from junitparser import JUnitXml
from lxml import etree

from modelkeep.registry.validation.junit import junit_xml
from modelkeep.registry.validation.results import CheckResult, ValidationReport
from modelkeep.registry.validation.runner import percentile

SCHEMA = etree.XMLSchema(etree.parse(str(Path(__file__).with_name("junit-10.xsd"))))


def report(*checks: CheckResult, duration: float = 1234.56789) -> ValidationReport:
    return ValidationReport(ref="m@1.0.0", policy="p.yaml", policy_hash="ab" * 32,
                            started_at="2026-12-02T02:40:11.123456Z", duration_s=duration,
                            checks=checks)


def test_hostile_text_still_makes_valid_junit(tmp_path):
    nasty = "boom \x00\x07\x1b[31m <tag> & \"quotes\" \ud800 ]]> \U0001f600"
    xml = junit_xml(report(CheckResult("budget", f"load {nasty}", False, nasty),
                           CheckResult("required", "required name", True, "name = m")))
    assert SCHEMA.validate(etree.fromstring(xml)), SCHEMA.error_log
    path = tmp_path / "j.xml"
    path.write_bytes(xml)
    (suite,) = list(JUnitXml.fromfile(str(path)))
    cases = list(suite)
    assert cases[0].name.startswith("load boom \ufffd\ufffd\ufffd[31m <tag> &")
    assert cases[0].result[0].message.endswith("]]> \U0001f600")
    assert (suite.time, suite.timestamp) == (1234.568, "2026-12-02T02:40:11")


def test_percentiles_are_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert [percentile(values, p) for p in (0.5, 0.95, 0.99, 1.0)] == [50.0, 95.0, 99.0, 100.0]
    assert percentile([7.0], 0.95) == 7.0
