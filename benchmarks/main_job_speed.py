"""Wall time of the main job: a first run on empty caches, then a re-run with only tribunal settings changed.

    python benchmarks/main_job_speed.py --repeats 3 --out benchmarks/main_job_speed.json
    python benchmarks/main_job_speed.py --root /path/to/other/checkout --label before

Each repeat uses a fresh temporary folder for MLflow, outputs, caches and PREFECT_HOME, so "first" means
what a fresh clone pays (imports warm in the page cache, nothing else). A benchmark, not a test: timings on a
shared machine are noisy, so compare runs taken in the same conditions and report ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAIN_JOB = ["+sweep=tokens"]  # README quickstart step 2
RERUN_CHANGE = ["tribunal.threshold=7.0"]  # only the tribunal's settings differ


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(root: Path, tmp: Path, extra: list[str], log: Path) -> tuple[float, int, float]:
    """Wall seconds, exit status and CPU seconds (user + system: less sensitive to the machine's load than wall)."""
    env = dict(os.environ, PREFECT_HOME=str(tmp / "prefect"), PREFECT_LOCAL_STORAGE_PATH=str(tmp / "prefect" / "storage"),
               PYTHONPATH=str(root), SOVEREIGN_ALLOW_DIRS=str(tmp))  # config paths outside mlruns/ are named
    env.pop("PREFECT_API_URL", None)
    argv = [sys.executable, "flows/main.py", *MAIN_JOB, f"tracking.store_dir={tmp}/mlruns",
            f"run.output_dir={tmp}/outputs", f"run.cache_dir={tmp}/cache", *extra]
    started, cpu = time.perf_counter(), _cpu_children()
    with log.open("wb") as handle:
        rc = subprocess.run(argv, cwd=root, env=env, stdout=handle, stderr=subprocess.STDOUT).returncode
    return time.perf_counter() - started, rc, _cpu_children() - cpu


def _stages(log: Path) -> dict[str, float]:
    """The ``✓ <stage> <seconds>s`` lines the main job prints."""
    text = log.read_text(errors="replace") if log.exists() else ""
    return {m[1]: float(m[2]) for m in re.finditer(r"^✓ (\S+) ([\d.]+)s", text, re.M)}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout to time (default: this one)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--label", default="after")
    parser.add_argument("--out", type=Path, default=None, help="append the rows to this JSON file")
    args = parser.parse_args(argv)
    rows = []
    for i in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="sovereign-bench-") as name:
            tmp = Path(name)
            load_before = os.getloadavg()[0]
            first, rc1, first_cpu = _run(args.root, tmp, [], tmp / "first.log")
            rerun, rc2, rerun_cpu = _run(args.root, tmp, RERUN_CHANGE, tmp / "rerun.log")
            if rc1 or rc2:
                print((tmp / "first.log").read_text()[-2000:], (tmp / "rerun.log").read_text()[-2000:], file=sys.stderr)
            rows.append({"label": args.label, "repeat": i, "first_s": round(first, 1), "rerun_tribunal_s": round(rerun, 1),
                         "first_cpu_s": round(first_cpu, 1), "rerun_tribunal_cpu_s": round(rerun_cpu, 1),
                         "ok": rc1 == 0 and rc2 == 0, "load1_before": round(load_before, 2), "load1": round(os.getloadavg()[0], 2),
                         "stages_first": _stages(tmp / "first.log"), "stages_rerun": _stages(tmp / "rerun.log")})
            print(json.dumps(rows[-1]), flush=True)
    for key in ("first_s", "rerun_tribunal_s", "first_cpu_s", "rerun_tribunal_cpu_s"):
        values = [r[key] for r in rows]
        print(f"{args.label} {key}: median {statistics.median(values):.1f} s, min {min(values):.1f}, max {max(values):.1f} (n={len(values)})")
    if args.out:
        old = json.loads(args.out.read_text()) if args.out.exists() else []
        args.out.write_text(json.dumps(old + rows, indent=1) + "\n")
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
