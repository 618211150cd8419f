"""Column readout (charge-integrating front end + StrongARM voltage flash): measurements in ngspice.

Not yet a calibration table: these are the measurements the readout's calibration will store
(``benchmarks/readout.py`` runs them at every corner and writes ``benchmarks/results/readout.txt``);
the presets do not use the readout yet.

* :func:`transfer` — the mismatch-free chain: held and bus voltage against the driven cells'
  conductance (after a warm-up read), at a given hold.
* :func:`place_taps` — the design step: each comparator's nominal tap on the bus voltage at
  (k - 1/2) LSB, nominal corner.
* :func:`foreground_trim` — the trim procedure, in SPICE: with the reference conductance
  (k - 1/2) LSB read through the instance's own column, a successive approximation over comparator
  k's trim code (MSB first) keeps a bit while the comparator still trips (its threshold is below the
  reference input, so its tap must go lower).  One netlist per code bit, every instance at once.
* :func:`thresholds` — every comparator's threshold (LSB of conductance) of every instance, by
  staircases of reads (:func:`cosim.calibration.sar.staircase_search`).
"""

from __future__ import annotations

import numpy as np

from ..config import SpiceSettings
from ..netlist.adc import Corner
from ..netlist.readout import (Instance, ReadoutDesign, adc_devices, cycle_times, front_devices, ladder_nodes,
                               mismatch_sigmas, render_bench)
from ..spice import get_backend
from .sar import staircase_search

#: Bench reads use short cycles (no idle after the conversion): the clamp's gates are reset while idle,
#: so a read starts from the same state after 0 or 127 ns of idle (measured within 0.2 mV on the bus).
SHORT_HOLD = 0.2e-9


def draw(d: ReadoutDesign, bits: int, taps, rng: np.random.Generator, *, front: bool = True, adc: bool = True) -> Instance:
    """One Monte Carlo instance: Pelgrom ΔV_T of the front end's and/or the ADC's devices and the
    ladder's resistor factors (1 + r_mismatch · N(0, 1))."""
    devs = (front_devices(d) if front else []) + (adc_devices(d, bits) if adc else [])
    sig = mismatch_sigmas(d, devs)
    delvto = {name: float(s * rng.standard_normal()) for name, s in sig.items()}
    n_seg = len(ladder_nodes(d, taps)[0]) - 1
    rf = tuple(1.0 + d.r_mismatch * rng.standard_normal(n_seg)) if adc else ()
    return Instance(delvto, rf)


def run_reads(d: ReadoutDesign, bits: int, taps, g_in, instances: list[Instance], corner: Corner,
              spice: SpiceSettings = SpiceSettings(), *, t_hold: float = SHORT_HOLD, t_idle: float | None = 0.0) -> dict:
    """Every read of every instance: held voltage, bus voltage at the comparator clock, decisions
    ``dec[i, c, k]`` (comparator k+1's reference above the bus: the input is above its threshold) and
    the energy per read from each supply (front end, ADC, ladder; J)."""
    g_in = np.atleast_2d(np.asarray(g_in, dtype=float))
    res = get_backend(spice.backend).run(render_bench(d, bits, taps, g_in, instances, t_hold=t_hold, t_idle=t_idle,
                                                      corner=corner), timeout=spice.timeout)
    t = res["time"]
    ct = cycle_times(d, t_hold, t_idle)
    n_inst, n_cyc = g_in.shape
    start = np.arange(n_cyc) * ct["T"]
    vdd = d.vdd * corner.vdd_scale
    n_comp = 2**bits - 1
    out = {"held": np.zeros((n_inst, n_cyc)), "bus": np.zeros((n_inst, n_cyc)),
           "dec": np.zeros((n_inst, n_cyc, n_comp), bool), "energy": {}}
    for i in range(n_inst):
        out["held"][i] = np.interp(start + ct["t_held"], t, res[f"v(h{i})"])
        out["bus"][i] = np.interp(start + ct["t_clk"], t, res[f"v(a{i})"])
        for k in range(n_comp):
            out["dec"][i, :, k] = np.interp(start + ct["t_decide"], t, res[f"v(decc{k + 1}_{i})"]) > vdd / 2
    edges = np.arange(n_cyc + 1) * ct["T"]
    for name, srcs in (("front", (("vf", vdd), ("vfp", d.v_pre))), ("adc", (("va", vdd), ("vap", d.v_pre))),
                       ("ladder", (("vl", vdd),))):
        e = np.zeros((n_inst, n_cyc))
        for i in range(n_inst):
            p = sum(-res[f"i({src}{i})"] * v for src, v in srcs)
            cum = np.concatenate([[0.0], np.cumsum(0.5 * (p[1:] + p[:-1]) * np.diff(t))])
            e[i] = np.diff(np.interp(edges, t, cum))
        out["energy"][name] = e
    return out


def transfer(d: ReadoutDesign, bits: int, taps, levels_lsb, corner: Corner, spice: SpiceSettings = SpiceSettings(),
             *, t_hold: float = SHORT_HOLD, t_idle: float | None = 0.0, instance: Instance | None = None) -> dict:
    """One instance (default: mismatch-free, mid codes) reading ``levels_lsb`` (after a warm-up read at zero)."""
    lv = np.concatenate([[0.0], np.asarray(levels_lsb, dtype=float)])
    r = run_reads(d, bits, taps, lv[None, :] * d.g_lsb, [instance or Instance({})], corner, spice, t_hold=t_hold,
                  t_idle=t_idle)
    return {"levels": lv[1:], "held": r["held"][0, 1:], "bus": r["bus"][0, 1:], "dec": r["dec"][0, 1:],
            "energy": {k: v[0, 1:] for k, v in r["energy"].items()}}


def place_taps(d: ReadoutDesign, bits: int, corner: Corner, spice: SpiceSettings = SpiceSettings()) -> np.ndarray:
    """Nominal taps: the mismatch-free chain's bus voltage at (k - 1/2) LSB (any placeholder taps do:
    the bus does not depend on them beyond the comparators' kickback, which the trim absorbs)."""
    n = 2**bits - 1
    guess = d.v_pre - 0.03 - 0.035 * np.arange(n)
    return transfer(d, bits, guess, np.arange(1, n + 1) - 0.5, corner, spice)["bus"]


def _with_codes(inst: Instance, codes) -> Instance:
    return Instance(inst.delvto, inst.r_factor, tuple(int(c) for c in codes))


def trim_step_lsb(d: ReadoutDesign, taps) -> float:
    """One trim step in LSB: the step over the bus voltage of one LSB (the nominal taps' spacing)."""
    taps = np.asarray(taps, dtype=float)
    return d.trim_step / float(np.mean(-np.diff(taps))) if len(taps) > 1 else np.nan


def foreground_trim(d: ReadoutDesign, bits: int, taps, instances: list[Instance], corner: Corner,
                    spice: SpiceSettings = SpiceSettings()) -> np.ndarray:
    """Trim codes ``[instance, comparator]`` found by the foreground procedure, in SPICE.  The
    reference input is (k - 1/2) LSB plus half a trim step: the procedure ends on the last code whose
    threshold is still below its input, so the threshold lands within a step below it — centred on
    (k - 1/2) LSB."""
    n_comp = 2**bits - 1
    codes = np.zeros((len(instances), n_comp), int)
    half = 0.5 * trim_step_lsb(d, taps) if n_comp > 1 else 0.0
    ref = np.concatenate([[0.0], np.arange(1, n_comp + 1) - 0.5 + half]) * d.g_lsb  # warm-up, then comparator k's
    for b in reversed(range(d.trim_bits)):
        trial = codes | (1 << b)
        r = run_reads(d, bits, taps, np.tile(ref, (len(instances), 1)),
                      [_with_codes(x, c) for x, c in zip(instances, trial)], corner, spice)
        trips = np.stack([r["dec"][:, 1 + k, k] for k in range(n_comp)], axis=1)
        codes = np.where(trips, trial, codes)  # still tripping at the reference: the tap goes lower
    return codes


def thresholds(d: ReadoutDesign, bits: int, taps, instances: list[Instance], corner: Corner,
               spice: SpiceSettings = SpiceSettings(), *, centres=None, half: float = 0.4, levels: int = 8,
               passes: int = 3) -> np.ndarray:
    """Threshold (LSB) of every comparator of every instance: staircases of reads around ``centres``
    (default (k - 1/2) LSB), one warm-up read before each comparator's staircase; NaN where the last
    pass did not bracket it."""
    n_comp = 2**bits - 1
    n = len(instances)
    centres = np.tile(np.arange(1, n_comp + 1) - 0.5, (n, 1)) if centres is None else np.asarray(centres, float)

    def decide(grid):
        g = grid.reshape(n, n_comp, levels)
        seq = np.concatenate([np.concatenate([np.full((n, 1), k + 0.5), g[:, k]], axis=1) for k in range(n_comp)],
                             axis=1)
        r = run_reads(d, bits, taps, np.clip(seq, 0.0, None) * d.g_lsb, instances, corner, spice)
        dec = r["dec"].reshape(n, n_comp, levels + 1, n_comp)
        below = np.stack([~dec[:, k, 1:, k] for k in range(n_comp)], axis=1)  # not tripped: below threshold k
        return below.reshape(n * n_comp, levels)

    c = centres.reshape(-1)
    th, inside = staircase_search(decide, c - half, c + half, levels, passes, bracketed=True)
    th[~inside] = np.nan
    return th.reshape(n, n_comp)
