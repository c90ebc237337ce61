"""The human summary of a run, read back from the JUnit XML that pytest wrote."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

_CLAUSE = re.compile(r"\[([A-Z]+(?:-[A-Z0-9]+)+)\]")


@dataclass
class Failure:
    test: str
    clause: str
    headline: str


@dataclass
class RunResult:
    tests: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)
    skip_reasons: Counter[str] = field(default_factory=Counter)

    @property
    def passed(self) -> int:
        return self.tests - self.failed - self.errors - self.skipped


def read_junit(path: Path) -> RunResult:
    result = RunResult()
    if not path.is_file():
        return result
    root = ET.parse(path).getroot()
    for case in root.iter("testcase"):
        result.tests += 1
        result.seconds += float(case.get("time", 0) or 0)
        name = f"{case.get('classname', '')}::{case.get('name', '')}".strip(":")
        for tag in ("failure", "error"):
            node = case.find(tag)
            if node is not None:
                text = (node.get("message") or "") + "\n" + (node.text or "")
                match = _CLAUSE.search(text)
                lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
                first = next((ln for ln in lines if ln.startswith("violation:")), lines[0] if lines else "")
                result.failures.append(Failure(name, match.group(1) if match else "unclassified", first[:240]))
                if tag == "failure":
                    result.failed += 1
                else:
                    result.errors += 1
                break
        else:
            skipped = case.find("skipped")
            if skipped is not None:
                result.skipped += 1
                result.skip_reasons[(skipped.get("message") or "")[:160]] += 1
    return result


def write_summary(result: RunResult, path: Path, *, header: list[str], wall_s: float) -> str:
    verdict = "PASS: the server honours the contract" if not (result.failed or result.errors) else (
        f"FAIL: {result.failed + result.errors} test(s) found contract violations"
    )
    lines = [f"# orchestrator-contract run: {verdict}", ""]
    lines += [f"- {h}" for h in header]
    lines += [
        f"- tests: {result.tests} ({result.passed} passed, {result.failed} failed, "
        f"{result.errors} errors, {result.skipped} skipped)",
        f"- wall time: {wall_s:.1f} s",
        "",
    ]
    if result.failures:
        by_clause = Counter(f.clause for f in result.failures)
        lines += ["## Violations by clause", ""]
        lines += [f"- `{clause}`: {count} test(s)" for clause, count in by_clause.most_common()]
        lines += ["", "## Failed tests", ""]
        lines += [f"- `{f.test}` [{f.clause}]: {f.headline}" for f in result.failures]
        lines += ["", "Each failure's full message (clause, violation, curl reproduction) is in junit.xml.", ""]
    if result.skip_reasons:
        lines += ["## Skipped", ""]
        lines += [f"- {count} x {reason}" for reason, count in result.skip_reasons.most_common()]
        lines.append("")
    text = "\n".join(lines)
    path.write_text(text, encoding="utf-8")
    return text
