"""Replay an independent defect probe of the tribunal: a helper's edits to finished reports, each reviewed again.

    python benchmarks/tribunal_probe.py tests/tribunal/data/defect-probe-2 [--ablate] [--out results/tribunal/probe-2.md]

A probe folder holds its base runs (``<base>/report/report.md`` and ``<base>/tribunal/bundle.json``) and
``edits.json``: for each edit its id, kind, whether it is benign, and line operations on the base report
(``[first line, end line, new text]``, as written by the probe's own copies). An edit is detected when the review
of the edited report escalates (ESCALATE_TO_OWNER) where its base was accepted; a benign edit that escalates is a
false alarm. ``--ablate`` repeats the replay with each substance check removed: a check earns its place when
removing it loses a detection the others do not make.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tasks.tribunal.review_run import load_run, review, run_settings  # noqa: E402


def apply(base_md: str, ops: list) -> str:
    lines = base_md.splitlines(keepends=True)
    for i1, i2, new in sorted(ops, key=lambda o: -o[0]):  # from the end, so earlier line numbers stay valid
        lines[i1:i2] = [new] if new else []
    return "".join(lines)


def replay(probe: Path, disabled: tuple[str, ...] = ()) -> dict:
    spec = json.loads((probe / "edits.json").read_text())
    bases = {}
    for name in sorted({e["base"] for e in spec["edits"]}):
        settings, _ = run_settings(probe / name, "rubric")
        settings = settings.model_copy(update={"substance": settings.substance.model_copy(update={"disabled": list(disabled)})})
        _bp, bundle, _rp, md = load_run(probe / name)
        _r, agg, policy = review(bundle, md, settings)
        bases[name] = (settings, bundle, md, policy.decision, agg)
    rows = []
    for e in spec["edits"]:
        settings, bundle, md, base_policy, _agg = bases[e["base"]]
        rulings, agg, policy = review(bundle, apply(md, e["ops"]), settings)
        flipped = policy.decision == "ESCALATE_TO_OWNER" and base_policy == "ACCEPT"
        why = next((f for r in rulings for i in r.failed_critical for f in r.findings), "")
        rows.append({"id": e["id"], "kind": e["kind"], "benign": e["benign"], "policy": policy.decision, "aggregate": agg,
                     "flagged": flipped, "finding": why, "first_policy": e.get("first_policy")})
    return {"bases": {k: (v[3], v[4]) for k, v in bases.items()}, "rows": rows}


def summary(res: dict) -> tuple[int, int, int, int]:
    defects = [r for r in res["rows"] if not r["benign"]]
    benign = [r for r in res["rows"] if r["benign"]]
    return sum(r["flagged"] for r in defects), len(defects), sum(r["flagged"] for r in benign), len(benign)


def render(probe: Path, res: dict) -> str:
    hit, n, fa, nb = summary(res)
    lines = [f"# Defect probe replay: `{probe}`", "", "Bases: " + ", ".join(f"{k} {p} {a:.2f}" for k, (p, a) in res["bases"].items()),
             "", "| id | kind | policy now | at first | caught by |", "|---|---|---|---|---|"]
    for r in res["rows"]:
        mark = "benign" if r["benign"] else ("**missed**" if not r["flagged"] else "")
        lines.append(f"| {r['id']} | {r['kind'][:40]} {mark} | {r['policy']} {r['aggregate']:.2f} | {r['first_policy'] or '-'} | "
                     f"{r['finding'][:110].replace('|', '/') if r['flagged'] else '-'} |")
    lines += ["", f"**Detected {hit} of {n} defects; {fa} of {nb} benign edits escalated.**"]
    return "\n".join(lines) + "\n"


def ablation(probe: Path) -> str:
    from tasks.tribunal.checks import REGISTRY

    lines = ["## Ablation (each substance check removed in turn)", "", "| check removed | detected | lost | benign escalated |",
             "|---|---|---|---|"]
    full = {r["id"] for r in replay(probe)["rows"] if r["flagged"] and not r["benign"]}
    for key in sorted(REGISTRY):
        res = replay(probe, (key,))
        hit, n, fa, _nb = summary(res)
        lost = sorted(full - {r["id"] for r in res["rows"] if r["flagged"]})
        lines.append(f"| {key} | {hit}/{n} | {', '.join(lost) or '-'} | {fa} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("probe", type=Path, help="folder with edits.json and the base runs")
    parser.add_argument("--ablate", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if not (args.probe / "edits.json").is_file():
        print(f"error: {args.probe}/edits.json not found; pass a probe folder (tests/tribunal/data/defect-probe-*)", file=sys.stderr)
        return 2
    try:
        text = render(args.probe, replay(args.probe)) + ("\n" + ablation(args.probe) if args.ablate else "")
    except (ValueError, KeyError, TypeError, OSError) as exc:  # a malformed edits.json or a base run missing a file
        print(f"error: cannot replay {args.probe}: {type(exc).__name__}: {exc}; each edit needs id, base, kind, benign and "
              "ops ([first line, end line, new text]) and each base needs report/report.md and tribunal/bundle.json",
              file=sys.stderr)
        return 2
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
