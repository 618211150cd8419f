"""Regenerate tests/golden/headline.json (the pinned headline figures) and print what moved.

    .venv/bin/python scripts/headline.py              # system runs and the MiniLM budget (~4 min)
    .venv/bin/python scripts/headline.py --no-accuracy # system runs only (seconds); accuracy rows kept

Every move this prints needs a CHANGELOG.md entry: before -> after, and the cause.
"""

from __future__ import annotations

import argparse
import sys

from cosim.headline import accuracy_rows, differences, golden_path, load_golden, system_runs, write_golden


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-accuracy", action="store_true", help="keep the pinned accuracy rows (no MiniLM runs)")
    ap.add_argument("--jobs", type=int, default=2, help="joblib workers for the accuracy runs (default 2)")
    args = ap.parse_args(argv)
    old = load_golden() if golden_path().is_file() else {}
    new = {"runs": system_runs()}
    if args.no_accuracy:
        if "accuracy" not in old:
            print("headline: no pinned accuracy rows to keep; run without --no-accuracy", file=sys.stderr)
            return 2
        new["accuracy"] = old["accuracy"]
    else:
        new["accuracy"] = accuracy_rows(args.jobs, log=lambda s: print(s, flush=True))
    moved = differences(old, new)
    path = write_golden(new)
    print(f"wrote {path}")
    print("\n".join(moved) if moved else "no headline figure moved")
    return 0


if __name__ == "__main__":
    sys.exit(main())
