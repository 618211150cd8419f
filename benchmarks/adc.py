"""ADC benchmark: the behavioral model against ngspice on the same work, timed side by side in one run.

    .venv/bin/python benchmarks/adc.py        # ~1 min on 2 cores (needs ngspice and calibration/adc.h5)

* thresholds of Monte Carlo instances: one ngspice DC transfer per instance vs the fitted model;
* a sequence of conversions: one ngspice transient vs the model's sequence rule (codes + energy);
* the chain: a 16 x 16 crossbar + SA + mux + flash netlist vs the exact crossbar solve + ADC model;
* the 1-bit row driver: one transient vs the fitted energy and delay;
* the 8-bit SAR (calibration/adc_sar.h5): a transient of 40 conversions vs the model's binary search
  (codes + energy), and a comparator Monte Carlo instance's offset: the four-pass bench vs the fit.
Agreement is printed next to each time (the validation command checks it in full).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    import numpy as np

    from cosim.calibration.adc import conversions, dac_case, dac_pulse, dc_transfer, load_spec
    from cosim.models.adc import _table, default_table_path, load, load_dac
    from cosim.netlist.adc import AdcDesign, Corner, devices, draw_mismatch
    from cosim.validation.adc import chain_check

    spec = load_spec()
    t = _table(str(default_table_path()))
    d = AdcDesign.from_dict(t.attrs["design"])
    m = load("flash-current", 2, "nominal")
    nominal = Corner("nominal", 27.0, 1.0)
    trim = t["b2/trim"]
    rng = np.random.default_rng(99)
    print(f"2-bit current-mode flash, nominal corner, table {t.path.name} (ngspice {t.ngspice_version})\n")

    # Monte Carlo thresholds
    n = 10
    devs = devices(d, 2, trim)
    draws = [draw_mismatch(d, devs, rng) for _ in range(n)]
    t0 = time.perf_counter()
    sp = np.stack([dc_transfer(d, 2, nominal, trim=trim, delvto=x)["thresholds"] for x in draws])
    t_sp = (time.perf_counter() - t0) / n
    dv = np.array([[x[dev.name] for dev in devs if dev.mismatch] for x in draws])
    t0 = time.perf_counter()
    for _ in range(100):
        mo = m.thresholds(dv)
    t_mo = (time.perf_counter() - t0) / 100 / n
    print(f"thresholds of a Monte Carlo instance: ngspice DC {t_sp * 1e3:8.1f} ms   model {t_mo * 1e6:8.1f} us   "
          f"ratio {t_sp / t_mo:9.0f}x   worst error {np.max(np.abs(sp - mo)) / m.lsb:.4f} LSB")

    # a sequence of conversions
    levels = rng.uniform(0, 4 * m.lsb, 40)
    t0 = time.perf_counter()
    r = conversions(d, 2, nominal, levels, m.period, trim=trim)
    t_sp = (time.perf_counter() - t0) / len(levels)
    t0 = time.perf_counter()
    for _ in range(20):
        bits = m.convert(levels)
        e = m.energy(levels, bits)
    t_mo = (time.perf_counter() - t0) / 20 / len(levels)
    print(f"one conversion in a sequence:         ngspice tran {t_sp * 1e3:6.1f} ms   model {t_mo * 1e6:8.1f} us   "
          f"ratio {t_sp / t_mo:9.0f}x   codes equal {np.mean(bits.sum(-1) == r['codes']):.1%}, "
          f"energy {e.sum() / r['energy'].sum() - 1:+.1%}")

    # the row driver
    drv = load_dac("nominal")
    g = dac_case(spec.seed, "bench", 96, 0.5, spec.dac_g_on, spec.dac_on_off)
    t0 = time.perf_counter()
    rd = dac_pulse(spec.dac, g, v_lo=spec.dac_v_lo, r_row=spec.dac_r_row, c_row=spec.dac_c_row,
                   t_pulse=spec.dac_t_pulse, corner=nominal)
    t_sp = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(1000):
        e = drv.energy(96, g.sum(), spec.dac_t_pulse)
    t_mo = (time.perf_counter() - t0) / 1000
    print(f"row driver pulse, 96 cells:           ngspice tran {t_sp * 1e3:6.1f} ms   model {t_mo * 1e6:8.1f} us   "
          f"ratio {t_sp / t_mo:9.0f}x   energy {e / rd['e_dac'] - 1:+.1%}, "
          f"delay {drv.delay(96, g.sum()) / rd['delay'] - 1:+.1%}")

    # the chain
    c = chain_check(n=16, reads=6)
    from cosim.models.crossbar import solve_exact

    G = np.full((16, 16), 40e-6)
    t0 = time.perf_counter()
    for _ in range(20):
        I = solve_exact(G, 0.5 * (rng.random((6, 16)) < 0.5), 0.73, 0.73)
        m.convert(I.ravel())
    t_mo = (time.perf_counter() - t0) / 20
    print(f"16x16 chain, 96 conversions:          ngspice tran {c.spice_s:6.1f} s    model {t_mo * 1e3:8.1f} ms   "
          f"ratio {c.spice_s / t_mo:9.0f}x   codes equal {c.agree:.1%}")
    sar(rng)


def sar(rng) -> None:
    import numpy as np

    from cosim.calibration.sar import convert, flip_points, load_spec
    from cosim.config import SpiceSettings
    from cosim.models.sar import _table, default_table_path, load
    from cosim.netlist.adc import Corner
    from cosim.netlist.sar import comparator_devices, draw_mismatch

    spec = load_spec()
    d = spec.design
    t = _table(str(default_table_path()))
    m = load(8, "nominal")
    nominal = Corner("nominal", 27.0, 1.0)
    print(f"\n8-bit SAR (capacitor DAC + StrongARM), nominal corner, table {t.path.name}\n")
    vin = rng.uniform(0, d.v_ref, 40)
    t0 = time.perf_counter()
    r = convert(d, 8, nominal, vin)
    t_sp = (time.perf_counter() - t0) / len(vin)
    t0 = time.perf_counter()
    for _ in range(20):
        codes = m.codes(vin)
        e = m.energy(vin, codes)
    t_mo = (time.perf_counter() - t0) / 20 / len(vin)
    e_sp = r["e_vdd"] + r["e_vref"] + r["e_vcm"]
    print(f"one 8-bit conversion:                 ngspice tran {t_sp * 1e3:6.1f} ms   model {t_mo * 1e6:8.1f} us   "
          f"ratio {t_sp / t_mo:9.0f}x   codes equal {np.mean(codes == r['codes']):.1%} (within 1 LSB "
          f"{np.mean(np.abs(codes - r['codes']) <= 1):.0%}), energy {e[1:].sum() / e_sp[1:].sum() - 1:+.1%}")
    names = [x.name for x in comparator_devices(d)]
    draws = [draw_mismatch(d, rng) for _ in range(5)]
    t0 = time.perf_counter()
    f = flip_points(d, nominal, draws, spec.mc_cycles, SpiceSettings())
    t_sp = (time.perf_counter() - t0) / len(draws)
    dv = np.array([[x[n] for n in names] for x in draws])
    t0 = time.perf_counter()
    for _ in range(100):
        fm = m.flip(dv)
    t_mo = (time.perf_counter() - t0) / 100 / len(draws)
    print(f"comparator offset of an instance:     ngspice bench {t_sp * 1e3:6.0f} ms   model {t_mo * 1e6:8.1f} us   "
          f"ratio {t_sp / t_mo:9.0f}x   worst error {np.max(np.abs(fm - f)) / m.a / m.lsb:.4f} LSB "
          f"(4 staircases, 5 instances per netlist)")


if __name__ == "__main__":
    main()
