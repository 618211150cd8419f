"""SAR numerics benchmark: how far the SPICE points are from converged ones, and what converging costs.

    .venv/bin/python benchmarks/sar_numerics.py [N]     # ~15 min with N = 4 on 2 cores (needs ngspice)

A comparator's flip point is where its decision turns, and it moves with the transient's integration
error.  For N held-out comparator instances per corner (the validation's first draws), the bench flip
points are measured three ways in one run:

* ``old``: gear, reltol 1e-4, 5 ps cap — the bench's settings in cosim.sar tables up to schema 3, and the
  whole SAR's until the trapezoidal 2 ps settings;
* ``spec``: the settings of circuits/adc_sar.toml ([design] bench_options, bench_t_max, sar_options, sar_t_max);
* ``reference``: the spec's [validate] reference (bench: 0.2 ps cap; whole SAR: reltol 1e-5, 0.25 ps cap).

and the whole SAR's 4-bit mid-scale transition of the first N held-out in-SAR instances per corner (those
the validation's numerics check measures, the same way), old and spec against the reference.  Errors are
printed in 8-bit LSB (bench) and 4-bit LSB (whole SAR) next to the run times.  Last, the energy per
conversion of random inputs at 4 and 8 bits (what the energy scales are fitted to), old and spec against
the spec's trapezoidal options at the reference's step cap (charge-consistent; see the code).
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OLD_OPTIONS = "reltol=1e-4 abstol=1e-12 vntol=1e-6 method=gear"


def main(n: int = 4) -> None:
    import numpy as np

    from joblib import Parallel, delayed

    from cosim.calibration.sar import (_item_insar, comparator_devices, convert, flip_points, insar_draws,
                                      load_spec)
    from cosim.config import SpiceSettings
    from cosim.models.sar import load
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
    print(f"\nwhole 4-bit SAR, mid-scale transition of the {n} held-out in-SAR instances the validation checks, "
          f"per corner, measured as the validation does (staircases around the shipped table's prediction); "
          f"error against the reference ({ref.sar_options}, cap {ref.sar_t_max:g} s), 4-bit LSB = "
          f"{lsb4 * 1e3:.2f} mV, budget 0.001 LSB (the 0.1 % code check)\n")
    old_sar = d.replace(sar_options=OLD_OPTIONS, sar_t_max=5e-12)
    sar = {"reference": ref, "old": old_sar, "spec": d}
    names = [x.name for x in comparator_devices(d)]
    draws_ins = insar_draws(spec, "val", n)
    jobs = []
    for c in spec.corners:
        m = load(4, c.name)
        for i, dv in enumerate(draws_ins):
            guess = float(m.shift(np.array([[dv[k] for k in names]]))[0])
            jobs += [(name, c, i, dv, guess, float(m.s[0])) for name in sar]

    def one(name, c, i, dv, guess, s_msb):
        t = time.perf_counter()
        r = _item_insar(dataclasses.replace(spec, design=sar[name]), 4, c, "val", i, dv, guess, s_msb, s)
        return (name, c.name, i), (r["shift"], time.perf_counter() - t)

    got = dict(Parallel(n_jobs=2)(delayed(one)(*j) for j in jobs))  # each run timed on its own worker
    print(f"{'corner':<9} {'settings':<10} {'time':>7} {'ref/this':>8} {'rms err':>9} {'worst':>8}")
    for c in spec.corners:
        f_ref = np.array([got["reference", c.name, i][0] for i in range(n)])
        t_ref = sum(got["reference", c.name, i][1] for i in range(n))
        for name in ("old", "spec"):
            f = np.array([got[name, c.name, i][0] for i in range(n)])
            t = sum(got[name, c.name, i][1] for i in range(n))
            e = (f - f_ref) / lsb4
            print(f"{c.name:<9} {name:<10} {t:6.1f}s {t_ref / t:7.1f}x {np.sqrt(np.mean(e**2)):9.5f} "
                  f"{np.max(np.abs(e)):8.5f}")

    # the energy per conversion (VDD + VREF + VCM) the tables are fitted to, against the reference's step
    # cap with the spec's trapezoidal options: trapezoidal currents, summed as convert() sums them, are the
    # capacitors' charge exactly, gear's are not at steps above the switches' RC (at 4 bits and 0.25 ps its
    # VREF charge moves 4 % between reltol 1e-4 and 1e-5).  Runs of 8 conversions after a warm-up one: at a
    # 0.25 ps cap ngspice stops longer 8-bit transients (~60 ns) on "timestep too small", gear or trap.
    fine = d.replace(sar_t_max=ref.sar_t_max)
    sar = {"reference": fine, "old": old_sar, "spec": d}
    vin = np.random.default_rng(7).uniform(0, d.v_ref, 24)
    print(f"\nenergy per conversion of {len(vin)} random inputs (runs of 8 after a warm-up conversion, as the "
          f"validation leaves its first out), mismatch-free SAR, all corners; error against the spec's options "
          f"at the reference's cap ({fine.sar_options}, cap {fine.sar_t_max:g} s)\n")

    def conv(name, c, bits):
        t = time.perf_counter()
        e, codes = [], []
        for k in range(0, len(vin), 8):
            r = convert(sar[name], bits, c, np.concatenate([vin[k:k + 1], vin[k:k + 8]]), spice=s)
            e.append((r["e_vdd"] + r["e_vref"] + r["e_vcm"])[1:])
            codes.append(r["codes"][1:])
        return (name, c.name, bits), (np.concatenate(e), np.concatenate(codes), time.perf_counter() - t)

    energy = dict(Parallel(n_jobs=2)(delayed(conv)(name, c, b) for c in spec.corners for b in (4, 8) for name in sar))
    print(f"{'corner':<9} {'bits':>4} {'settings':<10} {'time':>7} {'ref/this':>8} {'mean (fJ)':>10} {'mean err':>9} "
          f"{'worst conv.':>11} {'codes':>6}")
    for c in spec.corners:
        for b in (4, 8):
            e_ref, c_ref, t_ref = energy["reference", c.name, b]
            for name in ("old", "spec"):
                e, codes, t = energy[name, c.name, b]
                print(f"{c.name:<9} {b:>4} {name:<10} {t:6.1f}s {t_ref / t:7.1f}x {e.mean() * 1e15:10.2f} "
                      f"{e.mean() / e_ref.mean() - 1:+9.2%} {np.max(np.abs(e / e_ref - 1)):11.2%} "
                      f"{int(np.sum(codes == c_ref)):>3}/{len(vin)}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4)
