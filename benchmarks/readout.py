"""Column readout (charge-integrating front end + 2-bit StrongARM flash with trim): what SPICE measures.

Not yet the readout's calibration table (issue 26): the measurements it will store, at every corner,
side by side — the transfer (bus voltage per LSB), the droop over the longest hold, energy per read
(front end, per column) and per conversion (comparators + bus, ladder), the Monte Carlo thresholds
before and after the foreground trim (the trim procedure and the residual are SPICE decisions), and
the per-column spread the trim cannot reach (front-end mismatch, ADC mismatch-free).

    .venv/bin/python benchmarks/readout.py [--instances N] [-j N]   (writes benchmarks/results/readout.txt)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

from cosim.calibration import readout as R
from cosim.netlist.adc import Corner
from cosim.netlist.readout import Instance, ReadoutDesign

CORNERS = [Corner("nominal", 27.0, 1.0), Corner("cold", 0.0, 1.0), Corner("hot", 85.0, 1.0),
           Corner("vdd-10%", 27.0, 0.9), Corner("vdd+10%", 27.0, 1.1)]
BITS = 2
SEED = 20261208


def one_corner(d: ReadoutDesign, taps, corner: Corner, n: int) -> dict:
    t0 = time.perf_counter()
    ideal = np.arange(1, 2**BITS) - 0.5
    out = {"corner": corner.name}
    tr = R.transfer(d, BITS, taps, [0, 1, 2, 3], corner)
    out["bus_lsb_mv"] = float(np.mean(-np.diff(tr["bus"]))) * 1e3
    out["e_front_fj"] = float(np.mean(tr["energy"]["front"])) * 1e15
    # droop: the same reads with the longest hold (the last column of the scan)
    lo = R.transfer(d, BITS, taps, [0, 1, 2, 3], corner, t_hold=d.longest_hold(), t_idle=0.0)
    out["droop_lsb"] = float(np.max(np.abs(lo["bus"] - tr["bus"]))) / (out["bus_lsb_mv"] / 1e3)
    # energy per conversion: comparators + bus precharge, and the ladder at the conversion period
    out["e_adc_fj"] = float(np.mean(tr["energy"]["adc"])) * 1e15
    out["p_ladder_uw"] = float(np.mean(tr["energy"]["ladder"])) / (d.t_front + R.SHORT_HOLD + d.period) * 1e6
    th_nom = R.thresholds(d, BITS, taps, [Instance({})], corner)[0]
    out["nominal_th"] = th_nom.tolist()
    rng = np.random.default_rng([SEED, CORNERS.index(corner)])
    inst = [R.draw(d, BITS, taps, rng) for _ in range(n)]
    th0 = R.thresholds(d, BITS, taps, inst, corner, half=1.0)
    out["untrimmed_sigma_lsb"] = float(np.nanstd(th0 - ideal))
    out["untrimmed_unbracketed"] = int(np.isnan(th0).sum())
    codes = R.foreground_trim(d, BITS, taps, inst, corner)
    out["codes_at_rail"] = int(np.sum((codes == 0) | (codes == 2**d.trim_bits - 1)))
    th1 = R.thresholds(d, BITS, taps, [R._with_codes(x, c) for x, c in zip(inst, codes)], corner, half=0.15)
    err = th1 - ideal
    out["trimmed_mean_lsb"] = float(np.nanmean(err))
    out["trimmed_sigma_lsb"] = float(np.nanstd(err))
    out["trimmed_max_lsb"] = float(np.nanmax(np.abs(err)))
    # another column on the same trimmed ADC: front-end mismatch only, the ADC at the codes of a
    # mismatch-free trim
    c_nom = R.foreground_trim(d, BITS, taps, [Instance({})], corner)[0]
    cols = [R._with_codes(R.draw(d, BITS, taps, rng, adc=False), c_nom) for _ in range(n)]
    th2 = R.thresholds(d, BITS, taps, cols, corner, half=0.6)
    out["column_sigma_lsb"] = float(np.nanstd(th2 - ideal))
    out["column_sigma_by_k"] = np.nanstd(th2 - ideal, axis=0).tolist()
    out["seconds"] = time.perf_counter() - t0
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=int, default=6)
    ap.add_argument("-j", type=int, default=2)
    a = ap.parse_args()
    d = ReadoutDesign()
    t0 = time.perf_counter()
    taps = R.place_taps(d, BITS, CORNERS[0])
    rows = Parallel(n_jobs=a.j)(delayed(one_corner)(d, taps, c, a.instances) for c in CORNERS)
    lines = [__doc__.splitlines()[0], "",
             f"design: cosim.netlist.readout.ReadoutDesign defaults; {BITS}-bit, period {d.period * 1e9:g} ns "
             f"({1 / d.period / 1e9:g} GS/s), row pulse {d.t_pulse * 1e9:g} ns at v_read {d.v_read} V, "
             f"C_hold {d.c_hold * 1e15:g} fF, trim {d.trim_bits} bits x {d.trim_step * 1e3:g} mV "
             f"({R.trim_step_lsb(d, taps):.3f} LSB), taps {np.round(taps, 4).tolist()} V (nominal, mismatch-free)",
             f"Monte Carlo: {a.instances} instances per corner (each column + its ADC), seed {SEED}", "",
             "corner    LSB(bus)  droop@127ns  E_front/read  E_adc/conv  ladder    untrimmed σ  trimmed mean/σ/max     "
             "codes@rail  column σ (trim cannot reach)  s"]
    for r in rows:
        lines.append(f"{r['corner']:<9} {r['bus_lsb_mv']:6.1f} mV  {r['droop_lsb']:6.3f} LSB  {r['e_front_fj']:7.1f} fJ  "
                     f"{r['e_adc_fj']:7.1f} fJ  {r['p_ladder_uw']:5.1f} uW  {r['untrimmed_sigma_lsb']:6.3f} LSB  "
                     f"{r['trimmed_mean_lsb']:+.3f}/{r['trimmed_sigma_lsb']:.3f}/{r['trimmed_max_lsb']:.3f} LSB  "
                     f"{r['codes_at_rail']:4d}        {r['column_sigma_lsb']:.3f} LSB "
                     f"(k: {', '.join(f'{x:.3f}' for x in r['column_sigma_by_k'])})  {r['seconds']:.0f}")
    lines += ["", "nominal thresholds (mismatch-free, mid codes, LSB): " +
              "; ".join(f"{r['corner']} {np.round(r['nominal_th'], 3).tolist()}" for r in rows),
              f"elapsed {time.perf_counter() - t0:.0f} s on {a.j} jobs"]
    text = "\n".join(lines) + "\n"
    out = Path(__file__).parent / "results" / "readout.txt"
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
