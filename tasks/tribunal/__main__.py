"""``python -m tasks.tribunal review <run output dir> [--backend rubric|llm] [--json]``: re-review a finished run."""

from __future__ import annotations

import argparse
import json
import sys

from tasks.tribunal.review_run import ReviewInputError, review_run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tasks.tribunal", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    rv = sub.add_parser("review", help="review a finished run's bundle and report.md as they are now")
    rv.add_argument("run_dir", help="the run output folder, e.g. mlruns/outputs/<run_id>")
    rv.add_argument("--backend", choices=("rubric", "llm"), default=None, help="default: the run's tribunal backend")
    rv.add_argument("--json", action="store_true", help="print review.json instead of the summary")
    rv.add_argument("--no-write", action="store_true", help="do not write review.json / review.md")
    args = parser.parse_args(argv)
    try:
        result = review_run(args.run_dir, backend=args.backend, write=not args.no_write)
    except ReviewInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(json.loads(result.model_dump_json()), indent=1))
        return 0
    print(f"Review of {result.report} ({result.backend})")
    for r in result.rulings:
        failed = [i.key for i in r.items if not i.passed and (i.weight > 0 or i.critical)]
        print(f"  {r.role:<11} {r.score:5.2f}  failed: {', '.join(failed) or 'none'}")
    print(f"  aggregate   {result.aggregate:5.2f}  (threshold {result.policy.threshold:g})")
    print(f"Policy: {result.policy.decision}")
    for reason in result.policy.reasons:
        print(f"  - {reason}")
    print(f"Findings ({len(result.findings)}):")
    for f in result.findings:
        print(f"  - {f}")
    if not args.no_write:
        print(f"Written: {result.report.rsplit('/', 1)[0]}/review.json, review.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
