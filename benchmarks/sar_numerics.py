"""SAR numerics benchmark: how far the SPICE points are from converged ones, and what converging costs.

    .venv/bin/python benchmarks/sar_numerics.py [N]     # ~6 min on 1 core with N = 6 (needs ngspice)

A comparator's flip point is where its decision turns, and it moves with the transient's integration
error.  For N held-out comparator instances per corner (the validation's first draws), the bench flip
points are measured three ways in one run:

* ``old``: gear, reltol 1e-4, 5 ps cap — the settings of cosim.sar tables up to schema 3;
* ``spec``: the settings of circuits/adc_sar.toml ([design] bench_options, bench_t_max);
* ``reference``: the spec's [validate] reference (a 0.2 ps cap: converged).

and the whole SAR's mid-scale transition of 2 in-SAR instances at 4 bits, spec against reference.
Errors are printed in 8-bit LSB (bench) and 4-bit LSB (whole SAR) next to the run times.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OLD_OPTIONS = "reltol=1e-4 abstol=1e-12 vntol=1e-6 method=gear"


def main(n: int = 6) -> None:
    import numpy as np

    from cosim.calibration.sar import INSAR_HALF, INSAR_LEVELS, flip_points, insar_draws, insar_shift, load_spec
    from cosim.config import SpiceSettings
    from cosim.validation.sar import _val_mc_instance

    spec = load_spec()
    d, ref = spec.design, spec.reference_design()
    old = d.replace(bench_options=OLD_OPTIONS, bench_t_max=5e-12)
    lsb8, lsb4 = d.lsb(8), d.lsb(4)
    s = SpiceSettings()
    print(f"comparator bench, {n} held-out instances per corner in one netlist; error against the reference "
          f"({ref.bench_options}, cap {ref.bench_t_max:g} s), 8-bit LSB = {lsb8 * 1e6:.0f} uV\n")
    print(f"{'corner':<9} {'settings':<10} {'time':>7} {'ref/this':>8} {'rms err':>9} {'worst':>8}")
    draws = [_val_mc_instance(spec, i) for i in range(n)]
    for c in spec.corners:
        res = {}
        for name, design in (("reference", ref), ("old", old), ("spec", d)):
            t = time.perf_counter()
            res[name] = (flip_points(design, c, draws, spec.mc_cycles, s), time.perf_counter() - t)
        f_ref, t_ref = res["reference"]
        for name in ("old", "spec"):
            f, t = res[name]
            e = (f - f_ref) / lsb8
            print(f"{c.name:<9} {name:<10} {t:6.1f}s {t_ref / t:7.1f}x {np.sqrt(np.mean(e**2)):9.4f} "
                  f"{np.max(np.abs(e)):8.4f}")
    print(f"\nwhole 4-bit SAR, mid-scale transition of 2 in-SAR instances, nominal corner; spec "
          f"({d.sar_options}, cap {d.sar_t_max:g} s) against the reference (cap {ref.sar_t_max:g} s), "
          f"4-bit LSB = {lsb4 * 1e3:.2f} mV (the staircases pin a transition to +-4 uV)\n")
    nominal = spec.corners[0]
    for i, dv in enumerate(insar_draws(spec, "val", 2)):
        out = []
        for design in (d, ref):
            t = time.perf_counter()
            out.append((insar_shift(design, 4, nominal, dv, 0.0, INSAR_HALF * 8, INSAR_LEVELS, s),
                        time.perf_counter() - t))
        (a, ta), (b, tb) = out
        print(f"instance {i}: spec {a * 1e6:9.2f} uV ({ta:5.1f}s)  reference {b * 1e6:9.2f} uV ({tb:5.1f}s)  "
              f"difference {(a - b) / lsb4:+.5f} LSB, reference {tb / ta:.1f}x slower")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 6)
