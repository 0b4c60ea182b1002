"""Defect-injection benchmark of the tribunal: inject one defect at a time into a finished run, review, report detection.

    python benchmarks/tribunal_defects.py --run mlruns/outputs/<flagship run id> \
        [--clean mlruns/outputs/<literature-only run id> ...] [--backend rubric] [--out results/tribunal/defects.md] [--ablate]

``--run``: the finished flagship run the defects are injected into (its ``report/report.md`` and
``tribunal/bundle.json``; see tasks/tribunal/review_run.py). It is also reviewed as it is, as a clean run.
``--clean``: more clean runs (e.g. a literature-only run) reviewed as they are, for false alarms.
A kind is detected when the review of the injected run raises a critical finding of an expected kind
that the uninjected run did not have (more findings of that kind), or escalates where the clean run was
accepted. A false alarm is a clean run that escalates or fails a critical item.
Prints the table and writes it (Markdown) to ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tasks.tribunal.defects.inject import EXPECTED, INJECTORS  # noqa: E402
from tasks.tribunal.review_run import load_run, review, run_settings  # noqa: E402


def finding_kinds(rulings) -> Counter:
    """Critical findings by kind: 'kind: message' findings of the roles' failed critical substance items."""
    count: Counter = Counter()
    for r in rulings:
        failed = {i.key.removeprefix("substance:") for i in r.failed_critical}
        for f in r.findings:
            kind = f.split(":", 1)[0]
            if failed and ":" in f and kind.isidentifier():
                count[kind] += 1
    return count


def critical_keys(rulings) -> list[str]:
    return [f"{r.role}:{i.key}" for r in rulings for i in r.failed_critical]


def run_benchmark(run_dir: Path, clean_dirs: list[Path], backend: str | None = None, disabled: tuple[str, ...] = ()) -> dict:
    """Review the clean runs, then each injected kind; returns rows for the table.

    ``disabled``: substance checks left out (an ablation: what does each check catch that the others miss?).
    """
    settings, _cfg = run_settings(run_dir, backend)
    settings = settings.model_copy(update={"substance": settings.substance.model_copy(update={"disabled": list(disabled)})})
    _bp, bundle, _rp, md = load_run(run_dir)
    base_rulings, base_agg, base_policy = review(bundle, md, settings)
    base_kinds = finding_kinds(base_rulings)
    clean = []
    for d in [run_dir] + clean_dirs:
        s, _ = run_settings(d, backend)
        s = s.model_copy(update={"substance": settings.substance})
        _b, bd, _r, text = load_run(d)
        rulings, agg, policy = review(bd, text, s)
        crit = critical_keys(rulings)
        clean.append({"run": str(d), "scores": {r.role: r.score for r in rulings}, "aggregate": agg, "policy": policy.decision,
                      "critical_failed": crit, "false_alarm": policy.decision != "ACCEPT" or bool(crit)})
    rows = []
    for kind, inject in INJECTORS.items():
        injected = inject(md, bundle)
        if injected is None:
            rows.append({"kind": kind, "what": "n/a: nothing in this run to inject it into", "detected": None})
            continue
        md2, b2, what = injected
        rulings, agg, policy = review(b2, md2, settings)
        kinds = finding_kinds(rulings)
        new = sorted(k for k in EXPECTED[kind] if kinds[k] > base_kinds[k])
        flipped = policy.decision == "ESCALATE_TO_OWNER" and base_policy.decision == "ACCEPT"
        rows.append({"kind": kind, "what": what, "detected": bool(new) or flipped, "named": new, "policy": policy.decision,
                     "aggregate": agg})
    return {"base": {"aggregate": base_agg, "policy": base_policy.decision}, "clean": clean, "rows": rows}


def render(result: dict, run_dir: Path) -> str:
    rows = result["rows"]
    applicable = [r for r in rows if r["detected"] is not None]
    hit = sum(r["detected"] for r in applicable)
    lines = [f"# Tribunal defect-injection benchmark", "", f"Run: `{run_dir}` (as is: aggregate {result['base']['aggregate']:.2f}, "
             f"{result['base']['policy']})", "", "| defect kind | injected | detected | named finding | policy | aggregate |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        if r["detected"] is None:
            lines.append(f"| {r['kind']} | {r['what']} | n/a | - | - | - |")
        else:
            lines.append(f"| {r['kind']} | {r['what'][:90]} | {'yes' if r['detected'] else '**no**'} | "
                         f"{', '.join(r['named']) or '-'} | {r['policy']} | {r['aggregate']:.2f} |")
    lines += ["", f"**Detected {hit}/{len(applicable)} injected kinds"
              + (f" ({100 * hit / len(applicable):.0f}%)" if applicable else "") + f"; {len(rows) - len(applicable)} not applicable.**",
              "", "## Clean runs (false alarms)", "", "| run | skeptic | validator | synthesizer | aggregate | policy | critical failed | false alarm |",
              "|---|---|---|---|---|---|---|---|"]
    for c in result["clean"]:
        s = c["scores"]
        lines.append(f"| `{c['run']}` | {s['skeptic']:.2f} | {s['validator']:.2f} | {s['synthesizer']:.2f} | {c['aggregate']:.2f} | "
                     f"{c['policy']} | {', '.join(c['critical_failed']) or 'none'} | {'**yes**' if c['false_alarm'] else 'no'} |")
    return "\n".join(lines) + "\n"


def ablation(run_dir: Path, clean_dirs: list[Path], backend: str | None) -> str:
    """Detected kinds and false alarms with each substance check removed in turn."""
    from tasks.tribunal.checks import REGISTRY

    lines = ["## Ablation (each substance check removed in turn)", "", "| check removed | detected | kinds missed | false alarms |",
             "|---|---|---|---|"]
    for key in ["(none)"] + sorted(REGISTRY):
        res = run_benchmark(run_dir, clean_dirs, backend, () if key == "(none)" else (key,))
        app = [r for r in res["rows"] if r["detected"] is not None]
        missed = [r["kind"] for r in app if not r["detected"]]
        lines.append(f"| {key} | {len(app) - len(missed)}/{len(app)} | {', '.join(missed) or '-'} | "
                     f"{sum(c['false_alarm'] for c in res['clean'])} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", required=True, type=Path, help="finished flagship run folder (mlruns/outputs/<run_id>)")
    parser.add_argument("--clean", nargs="*", type=Path, default=[], help="more clean runs to check for false alarms")
    parser.add_argument("--backend", choices=("rubric", "llm"), default="rubric")
    parser.add_argument("--out", type=Path, default=Path("results/tribunal/defects.md"))
    parser.add_argument("--ablate", action="store_true", help="also report detection with each substance check removed")
    args = parser.parse_args(argv)
    result = run_benchmark(args.run, args.clean, args.backend)
    text = render(result, args.run) + ("\n" + ablation(args.run, args.clean, args.backend) if args.ablate else "")
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
