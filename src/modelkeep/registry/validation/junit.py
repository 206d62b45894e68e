"""A validation report as JUnit XML, the test-report format every CI system reads.

One ``<testsuite>`` per validated version, one ``<testcase>`` per check (a failed check carries
a ``<failure>`` with its numbers); the policy and its hash are suite properties. The layout is
Jenkins' junit-10.xsd, which GitHub Actions reporters, GitLab and Jenkins all accept; times
have at most three decimals, as that schema requires.
"""

from __future__ import annotations

import platform
import re
import xml.etree.ElementTree as ET

from modelkeep.registry.validation.results import ValidationReport

SUITES_NAME = "modelkeep validate"
# characters XML 1.0 cannot hold at all (a model's error message may contain them)
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: str) -> str:
    return _NOT_XML.sub("\ufffd", value)


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def junit_xml(report: ValidationReport) -> bytes:
    """The report as a UTF-8 JUnit XML document."""
    failures = len(report.failures)
    total = str(len(report.checks))
    suites = ET.Element("testsuites", name=SUITES_NAME, tests=total, failures=str(failures),
                        errors="0", time=_seconds(report.duration_s))
    suite = ET.SubElement(suites, "testsuite", name=_text(report.ref), tests=total,
                          failures=str(failures), errors="0", skipped="0",
                          time=_seconds(report.duration_s),
                          timestamp=report.started_at.rstrip("Z").split(".")[0],
                          hostname=platform.node() or "localhost")
    properties = ET.SubElement(suite, "properties")
    for name, value in (("policy", report.policy), ("policy_hash", report.policy_hash),
                        ("passed", str(report.passed).lower())):
        ET.SubElement(properties, "property", name=name, value=_text(value))
    for check in report.checks:
        case = ET.SubElement(suite, "testcase", name=_text(check.name),
                             classname=f"modelkeep.validate.{check.kind}", time="0.000")
        if check.passed:
            ET.SubElement(case, "system-out").text = _text(check.detail)
        else:
            failure = ET.SubElement(case, "failure", type=check.kind,
                                    message=_text(check.detail))
            failure.text = _text(check.detail)
    ET.indent(suites)
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True) + b"\n"
