"""What moved BERT-Large's headline figures in issue 25, one change at a time (cumulative).

    .venv/bin/python benchmarks/headline_moves.py     # seconds; results in benchmarks/results/headline_moves.txt

Each row is the current simulator with the later changes undone through preset fields, so the step
from one row to the next is that change's share of the move.  Row 0 is the figure pinned before the
issue (tests/golden/headline.json at commit aa470d2); row 1 is the audited event accounting at the
operating point and activity the old model assumed (cells between 1 and 100 µS, on/off 100; half the
rows driven in every bit cycle; the old presets' structure), so 0 → 1 is the accounting fixes.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BEFORE = {  # tests/golden/headline.json at aa470d2: energy J, area mm², latency ms
    "large-small": (18.35, 43.11, 4862.0),
    "multi-bit": (2.218, 1023.0, 30.69),
    "single-bit": (3.901, 1780.0, 30.69),
}

OLD_POINT = {"analog.g_on_s": 100e-6, "analog.on_off_ratio": 100.0}
OLD_ACTIVITY = {"compute.activity": "uniform", "compute.input_activity": 1.0, "compute.cell_density": 1.0}
OLD_STRUCTURE = {"compute.fault_aware": False, "compute.spare_cols": 0}
STEPS = {
    "large-small": [
        ("audited accounting (old operating point, activity, structure)",
         {**OLD_POINT, **OLD_ACTIVITY, **OLD_STRUCTURE, "compute.cell_density": 0.5, "compute.sign": "offset",
          "compute.zero_skip": False, "compute.tiles": 16}),
        ("+ one read operating point: G 0.27-40 uS (on/off 150)",
         {**OLD_ACTIVITY, **OLD_STRUCTURE, "compute.cell_density": 0.5, "compute.sign": "offset",
          "compute.zero_skip": False, "compute.tiles": 16}),
        ("+ two passes drive only their sign's rows (uniform data)",
         {**OLD_STRUCTURE, "compute.activity": "uniform", "compute.sign": "offset", "compute.zero_skip": False,
          "compute.tiles": 16}),
        ("+ bit-plane activity measured on MiniLM",
         {**OLD_STRUCTURE, "compute.sign": "offset", "compute.zero_skip": False, "compute.tiles": 16}),
        ("+ activations stored sign-magnitude (14 cells)", {**OLD_STRUCTURE, "compute.zero_skip": False,
                                                            "compute.tiles": 16}),
        ("+ zero skipping", {**OLD_STRUCTURE, "compute.tiles": 16}),
        ("+ fault-aware mapping, 128 spare columns", {"compute.tiles": 16}),
        ("+ pool sized to the workload (shipped)", {}),
    ],
    "multi-bit": None,
    "single-bit": None,
}


def baseline_steps(mapping: str) -> list[tuple[str, dict]]:
    """The weight-stationary baselines' steps (they have no pool, storage or skipping change)."""
    return [("audited accounting (old operating point, activity, structure)", {**OLD_POINT, **OLD_ACTIVITY,
                                                                                **OLD_STRUCTURE}),
            ("+ one read operating point: G 0.27-40 uS (on/off 150)", {**OLD_ACTIVITY, **OLD_STRUCTURE}),
            ("+ two passes drive only their sign's rows (uniform data)", {**OLD_STRUCTURE, "compute.activity": "uniform"}),
            ("+ bit-plane activity measured on MiniLM", OLD_STRUCTURE),
            (f"+ fault-aware mapping, {mapping} (shipped)", {})]


STEPS["multi-bit"] = baseline_steps("128 spare columns")
STEPS["single-bit"] = baseline_steps("no spares")


def main() -> None:
    from cosim.system.runs import run

    print("BERT-Large seq 128 batch 1: each change of issue 25 in turn (cumulative)")
    for arch, steps in STEPS.items():
        e0, a0, l0 = BEFORE[arch]
        print(f"\n{arch}")
        print(f"  {'step':<66} {'energy J':>9} {'area mm2':>9} {'latency ms':>11} {'ADP mm2*s':>10}")
        print(f"  {'0 pinned before issue 25':<66} {e0:>9.4g} {a0:>9.4g} {l0:>11.4g} {a0 * l0 / 1e3:>10.4g}")
        for i, (label, over) in enumerate(steps, 1):
            r = run("bert-large", arch, 128, 1, None, over)
            print(f"  {f'{i} {label}':<66} {r.energy_j:>9.4g} {r.area_m2 * 1e6:>9.4g} {r.latency_s * 1e3:>11.4g} "
                  f"{r.adp_m2s * 1e6:>10.4g}")


if __name__ == "__main__":
    main()
