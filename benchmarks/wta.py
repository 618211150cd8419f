"""Analog max search (winner-take-all) prototype against the digital INT8 max, measured side by side.

    .venv/bin/python benchmarks/wta.py        # ~2 min on 2 cores (needs ngspice and calibration/nonlinear.h5)

The analog softmax subtracts the row maximum before its score DAC (the normaliser itself is
shift-invariant, the DAC range is not).  This script measures what an analog max search would cost:
phase 1 drives the normaliser with the raw INT8 scores (one DAC step per code), its branches feed a
pMOS Lazzaro winner-take-all through cascodes (netlists/nl_wta.cir.j2), and inverters flag the winner.
Monte Carlo instances (Pelgrom ΔV_T on every branch and WTA device) hold one vector from power-up,
then step to another; the flags are read 300 ns after the step.  Printed per size and corner: the
supply energy of one search over the read window (the score DAC's pass not included), the time to the
last flag change, and how far the flagged inputs are below the true maximum (INT8 codes; "none" = no
flag at the read).  Next to it, the digital max the simulators use: n INT8 compares (R5) — and the
lower bound of any analog max here, the DAC pass that phase 1 needs (n score-DAC conversions).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GAPS = [0, 1, 2, 3, 5, 8]
T_READ = 300e-9


def main() -> None:
    import numpy as np

    from cosim.calibration.nonlinear import load_spec, wta_codes, wta_run
    from cosim.config import SpiceSettings
    from cosim.netlist.nonlinear import draw_mismatch
    from cosim.system.costs import const, softmax_conversions

    spec = load_spec()
    d = spec.design
    add8 = const("add8", "energy_j").value
    e_dac = softmax_conversions()[0]
    corners = [c for c in spec.corners if c.name in ("nominal", "hot")]
    print(f"WTA prototype: i_wta {d.i_wta * 1e9:g} nA, phase-1 tail {d.i_unit * d.m_tail * d.wta_boost * 1e6:g} uA, "
          f"MA {d.w_wta1 * 1e6:g} um x {d.l_wta1 * 1e9:g} nm, MB {d.w_wta2 * 1e6:g} um x {d.l_wta2 * 1e9:g} nm; flags read "
          f"{T_READ * 1e9:.0f} ns after the step\n")
    head = (f"{'n':>4} {'corner':<8} {'inst':>4} {'E/search':>9} {'settle med':>10} {'max':>7} {'exact':>6} "
            f"{'none':>5} {'worst':>5} | {'digital max':>11} {'DAC pass':>9} {'spice s':>7}")
    print(head)
    ratios, misses = [], 0
    for n, k_n in ((16, 6), (128, 2)):
        for c in corners:
            rng = np.random.default_rng(20261202 + n)
            a = wta_codes(rng, k_n, n, GAPS)
            b = wta_codes(rng, k_n, n, GAPS[::-1])
            mm = draw_mismatch(d, rng, k_n, n, wta=True)
            t0 = time.perf_counter()
            r = wta_run(d, c, a, b, SpiceSettings(), mm, t_read=T_READ)
            el = time.perf_counter() - t0
            exact = none = 0
            worst = 0
            for codes, flags in ((a, r["flags_a"]), (b, r["flags_b"])):
                for k in range(k_n):
                    deficit = codes[k].max() - codes[k][flags[k]]
                    if not len(deficit):
                        none += 1
                        continue
                    first = int(deficit[0])  # the priority encoder takes the first flag
                    exact += first == 0
                    worst = max(worst, int(deficit.max()))
            tot = 2 * k_n
            ratios.append(r["energy"] / (n * add8))
            misses += tot - exact
            print(f"{n:>4} {c.name:<8} {k_n:>4} {r['energy'] * 1e12:7.2f}pJ {np.median(r['settle']) * 1e9:8.0f}ns "
                  f"{r['settle'].max() * 1e9:5.0f}ns {exact / tot:6.0%} {none / tot:5.0%} {worst:5d} | "
                  f"{n * add8 * 1e12:9.2f}pJ {n * e_dac * 1e12:7.2f}pJ {el:7.1f}")
    print("\nexact: the first flag is the true maximum; none: no flag at the read; worst: the largest deficit "
          "(codes) of any flagged input.  Step B is the harder case (the common node must follow).")
    print(f"analog search / digital max energy: {min(ratios):.1f}x .. {max(ratios):.1f}x (DAC pass not counted); "
          f"{misses} searches of {sum(2 * k for _, k in ((16, 6), (128, 2))) * len(corners)} not exact")
    if min(ratios) > 1:
        print("=> the analog max costs more than the digital one before its DAC pass; the softmax keeps the "
              "digital INT8 max (cosim.models.nonlinear).")


if __name__ == "__main__":
    main()
