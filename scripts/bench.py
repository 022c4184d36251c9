"""Every benchmark of the service in one run, each measure beside its floor, and the goals.

    make bench                      # pages, then the sweep, then delivery
    make bench ARGS="--only pages"  # one part: pages, sweep or delivery

Each part is its own script (``make bench-pages``, ``bench-escalations``, ``bench-delivery``)
that builds its own throwaway database, runs its floor and its measure side by side in the same
minute (the machine is shared and noisy, so only the ratio is compared) and appends one line per
goal to a summary file; this script runs them one after another and prints the summary. A part
that fails is reported and the others still run; the exit status is 1 if any part failed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PARTS = {
    "pages": "scripts/bench_pages.py",
    "sweep": "scripts/bench_escalations.py",
    "delivery": "scripts/bench_delivery.py",
}


def part_run(name: str, summary: Path) -> bool:
    print(f"\n=== {name} ({PARTS[name]}) ===", flush=True)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, PARTS[name], "--summary", str(summary)], cwd=ROOT, check=False
    )
    print(f"=== {name}: {time.monotonic() - started:.0f} s, exit {result.returncode} ===")
    return result.returncode == 0


def summary_print(summary: Path, failed: list[str]) -> None:
    rows = [json.loads(line) for line in summary.read_text().splitlines() if line.strip()]
    headers = ("measure", "floor", "here", "ratio", "goal", "met")
    table = [
        (
            row["measure"],
            row["floor"],
            row["here"],
            f"{row['ratio']:.3g}",
            row["goal"],
            "yes" if row["met"] else "NO",
        )
        for row in rows
    ]
    widths = [max(len(h), *(len(r[i]) for r in table)) for i, h in enumerate(headers)]
    print("\nSummary (ratio: the measure against its floor, run in the same minute)")
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    met = sum(row["met"] for row in rows)
    print(f"\n{met} of {len(rows)} goals met.")
    for name in failed:
        print(f"The {name} benchmark failed: its goals are missing above.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(PARTS), action="append")
    args = parser.parse_args()
    names = args.only or list(PARTS)
    with tempfile.TemporaryDirectory() as scratch:
        summary = Path(scratch) / "summary.jsonl"
        summary.touch()
        failed = [name for name in names if not part_run(name, summary)]
        summary_print(summary, failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
