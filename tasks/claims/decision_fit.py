"""Fit the learned claim decision (tasks/claims/decision.py) on labelled claims files and write its weights.

    python -m tasks.claims.decision_fit tests/claims/data/claims-probe{15..34}.jsonl \
        [--index-dir DIR] [--C 0.3] [--out tasks/claims/data/decision.json]

Every claim is read by the hybrid verifier with the fixed decision (``decide``); its findings, the rules' verdict and
the cross-encoder's probabilities become one feature row (``decision.features``). Fit on files the cross-encoder was
not trained on (tasks/claims/data/cross-encoder.json names them), or its probabilities are overconfident. The command
first scores each file with weights fitted on the other files (leave one file out), prints rules against learned per
file, then fits on all files and writes the weights with that score, the files, the command and the date.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tasks.claims.cross_encoder_data import premise
from tasks.claims.decision import CLASSES, WEIGHTS, Decision, cross_encoder_probs, features
from tasks.claims.findings import decide
from tasks.claims.hybrid import HybridVerifier


@dataclass
class _Recorder(HybridVerifier):
    """The hybrid verifier with the fixed decision that keeps each claim's feature row."""

    rows: dict = field(default_factory=dict, repr=False)
    current: tuple = ()

    def _learned(self, al, findings):
        if not any(f.kind == "states" for f in findings):  # a verbatim statement decides alone, at run time too
            probs = cross_encoder_probs(al.claim.text, premise(al.hits, self.paper_chunks))
            if probs is None:
                raise SystemExit("the cross-encoder did not load; install the package (pip install -e .) and retry")
            rule = decide(findings)[0]
            self.rows[self.current] = (features(findings, rule, probs, len(al.facts.numbers)), rule)
        return None


def _fit(rows: list[dict], labels: list[str], c: float) -> Decision:
    from sklearn.linear_model import LogisticRegression

    names = sorted({k for r in rows for k in r})
    x = [[r.get(n, 0.0) for n in names] for r in rows]
    model = LogisticRegression(C=c, max_iter=5000).fit(x, [CLASSES.index(y) for y in labels])
    order = [list(model.classes_).index(i) for i in range(len(CLASSES))]
    return Decision(names=tuple(names), coef=tuple(tuple(map(float, model.coef_[i])) for i in order),
                    intercept=tuple(float(model.intercept_[i]) for i in order))


def collect(files: list[Path], index_dir: Path) -> list[tuple[str, dict, str, str]]:
    """(file stem, feature row, rules' label, gold label) for every claim that reaches a decision."""
    from tasks.claims.evaluate import DEFAULT_SNAPSHOT, build_retriever, load_labelled, load_snapshot

    retrieve = build_retriever(load_snapshot(DEFAULT_SNAPSHOT), index_dir)
    rec = _Recorder(paper_chunks=getattr(retrieve, "paper_chunks", None), decision="rules")
    out = []
    for path in files:
        for n, claim in enumerate(load_labelled(path)):
            rec.current = (str(path), n)
            rec.verify(claim.text, retrieve)
            if rec.current in rec.rows:
                row, rule = rec.rows.pop(rec.current)
                out.append((Path(path).stem, row, rule, claim.label))
        print(f"{Path(path).name}: read", file=sys.stderr)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--index-dir", type=Path, default=None)
    ap.add_argument("--C", type=float, default=0.3, help="inverse L2 strength of the logistic regression")
    ap.add_argument("--out", type=Path, default=WEIGHTS)
    args = ap.parse_args(argv)
    missing = [str(f) for f in args.files if not f.is_file()]
    if missing:
        raise SystemExit(f"no such labelled file(s): {', '.join(missing)}")
    with tempfile.TemporaryDirectory() as tmp:
        data = collect(args.files, args.index_dir or Path(tmp))
    stems = list(dict.fromkeys(d[0] for d in data))
    per_file, right_rules, right_learned = {}, 0, 0
    for stem in stems:  # leave one file out
        held = [d for d in data if d[0] == stem]
        model = _fit([d[1] for d in data if d[0] != stem], [d[3] for d in data if d[0] != stem], args.C)
        rules = sum(d[2] == d[3] for d in held)
        learned = sum(model(d[1])[0] == d[3] for d in held)
        per_file[stem] = {"claims": len(held), "rules": rules, "learned": learned}
        right_rules, right_learned = right_rules + rules, right_learned + learned
        print(f"{stem:24s} rules {rules}/{len(held)}  learned (file left out) {learned}/{len(held)}")
    n = len(data)
    print(f"{'all':24s} rules {right_rules}/{n} = {right_rules / n:.1%}  learned {right_learned}/{n} = {right_learned / n:.1%}")
    model = _fit([d[1] for d in data], [d[3] for d in data], args.C)
    sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    args.out.write_text(json.dumps(model.to_json() | {"provenance": {
        "what": "weights of the learned claim decision (modelled: fitted on labelled claims, CPU)",
        "command": "python -m tasks.claims.decision_fit " + " ".join(str(f) for f in args.files) + f" --C {args.C}",
        "code_sha": sha, "date_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%MZ"), "claims": n,
        "leave_one_file_out": {"rules": right_rules, "learned": right_learned, "per_file": per_file}}}, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
