"""The revision round: apply the automatable revisions to the bundle (the draft's state)."""

from __future__ import annotations

import logging
from typing import Callable, Optional

from tasks.tribunal.bundle import EvidenceBundle, SweepRow, Uncertainty
from tasks.tribunal.records import PointRequest, Revision

log = logging.getLogger("sovereign.tribunal")

# The flow's callback: run these sweep points and return their rows (failed points may be omitted).
AddPoints = Optional[Callable[[list[PointRequest]], list[SweepRow]]]


def apply_revisions(bundle: EvidenceBundle, revisions: list[Revision], add_points: AddPoints = None
                    ) -> tuple[EvidenceBundle, list[Revision], list[str]]:
    """Apply what can be automated: drop/soften claims, state uncertainties, add sweep points.

    Args:
        bundle: the current draft state.
        revisions: the SYNTHESIZER's merged list.
        add_points: runs missing sweep points; None means points cannot be added.
    Returns:
        (revised bundle, revisions applied, why each other revision was skipped).
    """
    applied: list[Revision] = []
    skipped: list[str] = []
    claims = list(bundle.claims)
    uncertainties = list(bundle.uncertainties)
    sweep = list(bundle.sweep)
    for rev in revisions:
        if not rev.automatable or rev.kind == "manual":
            skipped.append(f"manual: {rev.text}")
            continue
        if rev.kind in ("drop_claims", "soften_claims"):
            target = "dropped" if rev.kind == "drop_claims" else "softened"
            ids = set(rev.claim_ids)
            changed = [i for i, c in enumerate(claims) if c.claim.claim_id in ids and c.disposition == "stated"
                       or (target == "dropped" and c.claim.claim_id in ids and c.disposition == "softened")]
            for i in changed:
                claims[i] = claims[i].model_copy(update={"disposition": target})
            (applied.append(rev) if changed else skipped.append(f"nothing to change: {rev.text}"))
        elif rev.kind == "add_uncertainty":
            if any(u.topic == rev.topic and rev.topic != "other" for u in uncertainties):
                skipped.append(f"already stated: {rev.topic}")
                continue
            uncertainties.append(Uncertainty(topic=rev.topic or "other", text=rev.statement or rev.text, added_by="tribunal"))
            applied.append(rev)
        elif rev.kind == "add_points":
            have = {(r.model, r.routing, r.n_tokens) for r in sweep if not r.failed}
            wanted = [p for p in rev.points if (p.model, p.routing, p.n_tokens) not in have]
            if add_points is None:
                skipped.append(f"no add_points callback: {rev.text}")
                continue
            if not wanted:
                skipped.append(f"points already present: {rev.text}")
                continue
            try:
                new_rows = list(add_points(wanted))
            except Exception as exc:  # one failed revision must not stop the review
                log.warning("add_points failed: %s", exc)
                skipped.append(f"add_points failed ({type(exc).__name__}: {exc}): {rev.text}")
                continue
            good = [r for r in new_rows if not r.failed]
            sweep += new_rows
            (applied.append(rev) if good else skipped.append(f"added points all failed: {rev.text}"))
    revised = bundle.model_copy(update={"claims": claims, "uncertainties": uncertainties, "sweep": sweep})
    return revised, applied, skipped
