"""`junit.xml` from the run's outcomes, for CI systems that show JUnit results.

Written by the run (not by pytest's junitxml plugin), so a user's `-p no:junitxml` or several
stages change nothing: one `<testcase>` per test, its decisive outcome across stages, the clause
and the verdict as properties, the failure record's message as the failure text.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from orchestrator_contract.exchanges.redaction import scrub
from orchestrator_contract.reporting.summary import RunResult

JUNIT_FILE = "junit.xml"


def write_junit(report_dir: Path, result: RunResult, *, suite_name: str = "orchestrator-contract") -> Path:
    suite = ET.Element(
        "testsuite",
        name=suite_name,
        tests=str(result.tests),
        failures=str(result.failed),
        errors=str(result.errors),
        skipped=str(result.skipped),
        time=f"{result.seconds:.3f}",
    )
    failures = {f.test: f for f in result.failures}
    for case in result.cases:
        element = ET.SubElement(suite, "testcase", classname=case.classname, name=case.name, time=f"{case.seconds:.3f}")
        failure = failures.get(case.nodeid)
        if failure is not None:
            properties = ET.SubElement(element, "properties")
            ET.SubElement(properties, "property", name="verdict", value=failure.verdict)
            if failure.clause:
                ET.SubElement(properties, "property", name="clause", value=failure.clause)
            tag = "failure" if case.outcome == "failed" else "error"
            node = ET.SubElement(element, tag, message=scrub(failure.headline))
            node.text = scrub(failure.message)
        elif case.outcome == "skipped":
            ET.SubElement(element, "skipped", message=scrub(case.message))
    root = ET.Element("testsuites")
    root.append(suite)
    path = report_dir / JUNIT_FILE
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path
