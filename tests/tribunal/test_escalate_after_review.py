"""The review of the written report can only make the policy stricter."""

from tasks.tribunal.policy import escalate_after_review
from tasks.tribunal.records import Policy


class _Outcome:  # the two attributes escalate_after_review reads/changes, on a real Policy record
    def __init__(self, decision):
        self.policy = Policy(decision=decision, reasons=["r0"], threshold=6.5, aggregate=9.0, rounds=0)

    def model_copy(self, update):
        out = _Outcome(self.policy.decision)
        out.policy = update["policy"]
        return out


def test_an_accepted_draft_whose_written_report_fails_is_escalated_with_the_reason():
    out = escalate_after_review(_Outcome("ACCEPT"), ["critical validator item failed: numbers_traced"])
    assert out.policy.decision == "ESCALATE_TO_OWNER"
    assert out.policy.reasons[0] == "r0" and "numbers_traced" in out.policy.reasons[-1]


def test_an_escalated_draft_stays_escalated_and_unchanged():
    o = _Outcome("ESCALATE_TO_OWNER")
    assert escalate_after_review(o, ["x"]) is o
