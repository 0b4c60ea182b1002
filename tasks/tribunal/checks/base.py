"""The substance-check contract: a context (bundle + the report as written), a result with named findings, a registry.

A check is one small module with one function registered under a key. It returns a
:class:`CheckResult`: ``applicable`` False when the draft makes no claim the check
judges (a literature-only report has no sweep to validate), else passed/failed with
:class:`Finding` records whose ``kind`` names the defect (e.g. ``provenance_mismatch``).
The SKEPTIC and VALIDATOR turn results into critical rubric items (tasks/tribunal/substance.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from pydantic import Field

from tasks.records import Record
from tasks.tribunal.bundle import EvidenceBundle
from tasks.tribunal.checks.report_text import ReportText


class Finding(Record):
    """One defect a check found: its kind (a stable name), where, and what it saw."""

    kind: str = Field(description="stable defect name, e.g. 'untraced_number'")
    message: str
    where: str = Field("", description="report section or bundle field")


class CheckResult(Record):
    """The outcome of one substance check on one draft."""

    key: str
    role: str
    question: str
    applicable: bool = True
    passed: bool = True
    evidence: str = ""
    findings: list[Finding] = Field(default_factory=list)
    critical: bool = True
    weight: float = 2.0


@dataclass(frozen=True)
class CheckContext:
    """What a check reads: the evidence bundle and, when reviewing a written run, the report text."""

    bundle: EvidenceBundle
    report: ReportText | None = None
    rel_tol: float = 0.002
    extra: dict = field(default_factory=dict)

    @property
    def experimental(self) -> bool:
        """Does the draft rest on experiments (sweep rows or derived tables)? False for a literature-only run."""
        b = self.bundle
        return bool(b.rows() or b.token_latency or b.sensitivity or b.feasibility or b.validation)


CheckFn = Callable[[CheckContext], CheckResult]


@dataclass(frozen=True)
class Check:
    key: str
    role: str
    question: str
    fn: CheckFn
    critical: bool = True
    weight: float = 2.0


REGISTRY: dict[str, Check] = {}


def register(key: str, role: str, question: str, critical: bool = True, weight: float = 2.0):
    """Decorator: register ``fn`` as the substance check ``key`` of ``role`` (skeptic | validator)."""

    def wrap(fn: CheckFn) -> CheckFn:
        if key in REGISTRY:
            raise ValueError(f"substance check {key!r} registered twice")
        REGISTRY[key] = Check(key=key, role=role, question=question, fn=fn, critical=critical, weight=weight)
        return fn

    return wrap


def result(check_key: str, findings: list[Finding], evidence: str, applicable: bool = True) -> CheckResult:
    """A CheckResult for the registered check ``check_key``: passed iff applicable and no findings."""
    c = REGISTRY[check_key]
    return CheckResult(key=c.key, role=c.role, question=c.question, applicable=applicable, passed=not findings,
                       evidence=evidence, findings=findings, critical=c.critical, weight=c.weight)


def not_applicable(check_key: str, why: str) -> CheckResult:
    return result(check_key, [], f"n/a: {why}", applicable=False)
