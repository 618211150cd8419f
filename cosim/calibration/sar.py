"""SAR ADC calibration: the capacitor-DAC SAR with a StrongARM comparator in ngspice, per corner.

Work items (joblib, one ngspice run each):

* ``sar``   — the mismatch-free SAR converting designed inputs: for every bit cycle j, inputs
  around the code transitions decided at that cycle (a pass over +-1.5 LSB, then three more, each
  over the previous bracket plus half a step either side).  Every conversion's code gives the
  decision of each cycle, so the decision offset ``s[j]`` is the level that best separates kept
  from dropped decisions.  The same runs give the energy from each supply per conversion and the
  array's attenuation ``a`` (the slope of the top plate against the input).
* ``energy`` — random conversions: the scales of the VREF and VCM energies computed from the
  array's charge (ideal capacitors) and the comparator's energy per decision.
* ``bench`` — 25 comparator instances at a time (each its own Pelgrom draw and input staircase):
  the flip point of each (a staircase over +-5 sigma, then three finer ones), for the offset fit.
* ``delay`` — the nominal comparator against overdrive: clock edge to an output at VDD/2.
* ``insar`` — after the bench fit: ``insar_instances`` comparator instances (their own draws; a
  number per resolution) in the whole SAR at every resolution, each one's mid-scale transition found by staircases of conversions
  starting from the bench model's guess; the difference (the top plate floats in the SAR, the bench
  drives both inputs) is fitted per resolution and corner as a linear function of the ΔV_T.

Energy boundary: VDD (comparator and its output buffers), VREF (capacitor-DAC switching) and VCM
(top-plate and reference-capacitor reset).  Outside: the input driver (sample-and-hold / column
driver, which charges the array during sampling), the SAR register and the switch drivers (ideal
here: XSPICE flip-flops and voltage-controlled switches), the clock and phase generators.
Published ADC figures (Kull et al.) include logic, clocking and reference buffers.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import SpiceSettings
from ..errors import CalibrationError, ConfigError
from ..netlist.adc import Corner, area_estimate
from ..netlist.sar import (NUMERICS_FIELDS, SAR_BITS, SarDesign, comparator_devices, draw_mismatch, mismatch_sigmas,
                           render_bench, render_sar, template_sources)
from ..parallel import Failed, item_rng, run_parallel
from ..spice import get_backend
from ..store import Table
from . import per_bits, read_corners, read_sweep_spec, stamp_sources

log = logging.getLogger(__name__)

SPEC_NAME = "adc_sar.toml"
BLOCK = 25  # comparator instances per bench netlist
PASSES = 4  # designed-input passes through the SAR, each over the previous bracket
#: Comparator-bench staircases, each over the previous bracket (3 steps wide).  4 passes measured a flip
#: point to 18 µV rms (against 6 passes, 25 instances at 27 °C) — as large as the offset fit's own
#: residual, and 0.01 LSB at 8 bits; 6 passes cost 1.5x the bench time.
BENCH_PASSES = 6
#: Staircases of whole-SAR conversions per in-SAR offset (:func:`insar_shift`).
SAR_PASSES = 4
#: The in-SAR staircase: levels per pass and the first pass's half width around the bench model's
#: guess (V; the in-SAR shift differed from the bench's by up to 0.9 mV at 4 bits, 0.25 mV at 8).  Four
#: passes of 12 levels pin the transition to +-4 µV.
INSAR_LEVELS = 12
INSAR_HALF = 2e-3
#: Capacitor density of the layout estimate (F/m²): a stated assumption, 2 fF/µm² (stacked MOM).
CAP_DENSITY = 2e-3


@dataclass(frozen=True)
class SarSpec:
    text: str
    seed: int
    design: SarDesign
    bits: tuple[int, ...]
    corners: tuple[Corner, ...]
    points_per_cycle: int
    energy_conversions: int
    mc_instances: int
    mc_cycles: int
    overdrive_v: tuple[float, ...]
    val_mc_instances: int
    val_conversions: dict
    val_mc_sar_instances: int
    val_mc_sar_conversions: int
    val_overdrive_v: tuple[float, ...]
    insar_instances: dict = None
    """In-SAR calibration instances per resolution: {bits: count}."""
    val_insar_instances: int = 12
    val_mc_sar_inputs: int = 2000
    """Random inputs per held-out instance (Monte Carlo, and the mismatch-free one at the lowest resolution)
    compared through its SPICE-measured thresholds."""
    val_numerics_instances: int = 4
    """Held-out instances per corner measured again with the reference numerics below (the bench's flip
    points and the whole SAR's mid-scale transition at the lowest resolution)."""
    val_reference_bench_options: str = "reltol=1e-6 abstol=1e-14 vntol=1e-9 method=gear"
    val_reference_bench_t_max: float = 2e-13
    val_reference_sar_options: str = "reltol=1e-4 abstol=1e-12 vntol=1e-6 method=gear"
    val_reference_sar_t_max: float = 2.5e-13

    def reference_design(self) -> SarDesign:
        """The design with the validation's converged (reference) numerics."""
        return self.design.replace(**{k: getattr(self, f"val_reference_{k}") for k in NUMERICS_FIELDS})

    def insar_count(self, bits: int) -> int:
        return int(self.insar_instances[bits])


def _reference(ref, path) -> dict:
    """The ``[validate] reference`` table: converged numerics, each cap finer than the design's default."""
    from ..netlist.sar import check_options

    if not isinstance(ref, dict):
        raise ConfigError(f"sweep spec {path}: [validate] reference must be a table of {', '.join(NUMERICS_FIELDS)}")
    unknown = sorted(set(ref) - set(NUMERICS_FIELDS))
    if unknown:
        raise ConfigError(f"sweep spec {path}: [validate] reference: unknown key(s) {unknown}; "
                          f"valid: {', '.join(NUMERICS_FIELDS)}")
    out = {}
    for k, v in ref.items():
        what = f"sweep spec {path}: [validate] reference.{k}"
        if k.endswith("options"):
            check_options(v, what)
            out[f"val_reference_{k}"] = v
        else:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v > 0):
                raise ConfigError(f"{what} must be a finite number > 0 (s), got {v!r}")
            out[f"val_reference_{k}"] = float(v)
    return out


def load_spec(path: str | Path | None = None, *, quick: bool = False) -> SarSpec:
    path, text, d = read_sweep_spec(path, SPEC_NAME)
    try:
        sw, va = d["sweep"], d.get("validate", {})
        q = d.get("quick", {}) if quick else {}
        corners = read_corners(sw, q, path)
        spec = SarSpec(
            text=text, seed=int(d["seed"]), design=SarDesign.from_dict(d.get("design", {})),
            bits=tuple(int(b) for b in q.get("bits", sw["bits"])), corners=corners,
            points_per_cycle=int(sw["points_per_cycle"]), energy_conversions=int(sw["energy_conversions"]),
            mc_instances=int(q.get("mc_instances", sw["mc_instances"])), mc_cycles=int(sw["mc_cycles"]),
            overdrive_v=tuple(float(x) for x in sw["overdrive_v"]),
            val_mc_instances=int(q.get("mc_instances", va.get("mc_instances", 200))),
            val_conversions={int(k): int(v) for k, v in va.get("conversions", {"4": 300, "8": 150}).items()},
            val_mc_sar_instances=int(va.get("mc_sar_instances", 3)),
            val_mc_sar_conversions=int(va.get("mc_sar_conversions", 100)),
            val_overdrive_v=tuple(float(x) for x in va.get("overdrive_v", [5e-5, 5e-4, 5e-3])),
            insar_instances=per_bits(q.get("insar_instances", sw.get("insar_instances", 30)),
                                     tuple(int(b) for b in q.get("bits", sw["bits"])), "insar_instances", int),
            val_insar_instances=int(q.get("val_insar_instances", va.get("insar_instances", 12))),
            val_mc_sar_inputs=int(va.get("mc_sar_inputs", 2000)),
            val_numerics_instances=q.get("numerics_instances", va.get("numerics_instances", 4)),
            **_reference(va.get("reference", {}), path),
        )
    except KeyError as exc:
        raise ConfigError(f"sweep spec {path} lacks {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"sweep spec {path}: bad value ({exc})") from None
    bad = [b for b in spec.bits if b not in SAR_BITS]
    if bad:
        raise ConfigError(f"sweep spec {path}: SAR resolutions {bad} not supported; valid: {list(SAR_BITS)}")
    if not spec.corners or spec.corners[0].name != "nominal" or spec.corners[0].temp_c != 27.0 \
            or spec.corners[0].vdd_scale != 1.0:
        raise ConfigError(f"sweep spec {path}: the first corner must be 'nominal' (27 C, vdd_scale 1)")
    if spec.mc_instances < 20 or spec.val_mc_instances < 20:
        raise ConfigError(f"sweep spec {path}: need at least 20 Monte Carlo instances")
    if min(spec.insar_instances.values()) < 12 or spec.val_insar_instances < 2:
        raise ConfigError(f"sweep spec {path}: need at least 12 in-SAR calibration instances and 2 held-out ones")
    ref = spec.reference_design()
    for k in ("bench_t_max", "sar_t_max"):
        if getattr(ref, k) > getattr(spec.design, k):
            raise ConfigError(f"sweep spec {path}: [validate] reference.{k} ({getattr(ref, k):g} s) must not be "
                              f"coarser than the design's ({getattr(spec.design, k):g} s)")
    n = spec.val_numerics_instances
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ConfigError(f"sweep spec {path}: [validate] numerics_instances must be a whole number >= 0, got {n!r}")
    if spec.points_per_cycle < 4 or spec.mc_cycles < 6 or len(spec.overdrive_v) < 2:
        raise ConfigError(f"sweep spec {path}: points_per_cycle >= 4, mc_cycles >= 6 and 2+ overdrives needed")
    return spec


# --------------------------------------------------------------------------- SPICE measurements


def convert(design: SarDesign, bits: int, corner: Corner, vin, *, delvto=None,
            spice: SpiceSettings = SpiceSettings()) -> dict:
    """Transient of the SAR converting ``vin`` (V): codes, the energy drawn from VDD, VREF and VCM
    in each conversion period (J) and the array's attenuation ``a`` (slope of the top plate at the
    end of the first reset against the input)."""
    vin = np.asarray(vin, dtype=float)
    res = get_backend(spice.backend).run(render_sar(design, bits, vin, corner=corner, delvto=delvto),
                                         timeout=spice.timeout)
    t = res["time"]
    T = design.t_conv(bits)
    n = len(vin)
    ends = (np.arange(n) + 1) * T - design.t_edge / 2
    codes = np.zeros(n, dtype=int)
    for c in range(bits):
        codes += (np.interp(ends, t, res[f"v(q{c})"]) > 0.5).astype(int) << c
    vdd = design.vdd * corner.vdd_scale
    bounds = np.arange(n + 1) * T
    energy = {}
    for name, level in (("vdd", vdd), ("vref", design.v_ref), ("vcm", design.v_cm)):
        p = -res[f"i({name})"] * level
        cum = np.concatenate([[0.0], np.cumsum(0.5 * (p[1:] + p[:-1]) * np.diff(t))])
        energy[name] = np.diff(np.interp(bounds, t, cum))
    t_hold = np.arange(n) * T + design.t_sample + design.t_bit * 0.45  # end of the MSB cycle's reset
    x = np.interp(t_hold, t, res["v(x)"])
    a = -np.polyfit(vin, x, 1)[0] if n >= 3 and np.ptp(vin) > 0 else math.nan
    return {"codes": codes, "e_vdd": energy["vdd"], "e_vref": energy["vref"], "e_vcm": energy["vcm"], "a": float(a),
            "spice_s": res.elapsed_s}


def designed_inputs(bits: int, lsb: float, points: int, centre=None, half_width=None) -> np.ndarray:
    """Inputs (V) around the transitions decided at each cycle j: ``points`` per cycle spread over
    ``centre[j] +- half_width[j]`` (V; default 0 +- 1.5 LSB), cycling through up to four of the
    cycle's transitions (k with lowest set bit = bits - 1 - j)."""
    out = []
    for j in range(bits):
        c = bits - 1 - j
        ks = [(2 * m + 1) * 2**c for m in range(2 ** (bits - 1 - c))]
        ks = [ks[i] for i in np.unique(np.linspace(0, len(ks) - 1, min(4, len(ks))).round().astype(int))]
        ctr = 0.0 if centre is None else centre[j]
        hw = 1.5 * lsb if half_width is None else half_width[j]
        delta = np.linspace(ctr - hw, ctr + hw, points)
        out += [ks[i % len(ks)] * lsb + x for i, x in enumerate(delta)]
    return np.clip(np.array(out), 0.0, None)


def _item_sar(spec: SarSpec, bits: int, corner: Corner, vin, tag: str, delvto, spice: SpiceSettings) -> dict:
    out = convert(spec.design, bits, corner, vin, delvto=delvto, spice=spice)
    return {"bits": bits, "corner": corner.name, "tag": tag, "vin": np.asarray(vin), **out}


def thresholds_pass(spec: SarSpec, bits: int, corner: Corner, spice: SpiceSettings, *, delvto=None) -> dict:
    """``PASSES`` passes of designed inputs through one SAR instance: decision offsets s[j] (V), their
    bracket widths, all the conversions (for the energy) and the attenuation."""
    from ..models.sar import fit_decision_offsets

    d = spec.design
    lsb = d.lsb(bits)
    vins, runs = [], []
    centre, half = None, None
    for _ in range(PASSES):
        v = designed_inputs(bits, lsb, spec.points_per_cycle, centre=centre, half_width=half)
        runs.append(convert(d, bits, corner, v, delvto=delvto, spice=spice))
        vins.append(v)
        centre, width = fit_decision_offsets(np.concatenate(vins), np.concatenate([r["codes"] for r in runs]), bits, lsb)
        step = 2 * (1.5 * lsb if half is None else half) / (spec.points_per_cycle - 1)
        # the next pass spans the bracket plus half a step either side (a bracket that did not close,
        # or an inconsistent one, gets four steps)
        width = np.where(np.isfinite(width) & (width > 0), width, 4 * step)
        half = np.minimum(width, 4 * step) / 2 + step / 2
    vin = np.concatenate(vins)
    codes = np.concatenate([r["codes"] for r in runs])
    s, width = fit_decision_offsets(vin, codes, bits, lsb)
    return {"s": s, "width": width, "vin": vin, "codes": codes, "a": float(np.nanmean([r["a"] for r in runs])),
            **{k: np.concatenate([r[k] for r in runs]) for k in ("e_vdd", "e_vref", "e_vcm")}}


def _item_thresholds(spec: SarSpec, bits: int, corner: Corner, spice: SpiceSettings) -> dict:
    return {"bits": bits, "corner": corner.name, "tag": "thresholds", **thresholds_pass(spec, bits, corner, spice)}


def bench_decisions(design: SarDesign, corner: Corner, inn, delvto, spice: SpiceSettings, *,
                    t_max: float | None = None) -> dict:
    """Comparator bench: decisions[i, c] (True: vcm > inn, the SAR keeps its bit), the delay from the
    clock edge to an output crossing VDD/2 (s) and the VDD energy per cycle (J)."""
    inn = np.atleast_2d(np.asarray(inn, dtype=float))
    res = get_backend(spice.backend).run(render_bench(design, inn, corner=corner, delvto=delvto, t_max=t_max),
                                         timeout=spice.timeout)
    t = res["time"]
    vdd = design.vdd * corner.vdd_scale
    n_inst, n_cyc = inn.shape
    t_clk = np.arange(n_cyc) * design.t_bit + design.t_bit / 2 + design.t_edge / 2
    t_dec = np.arange(n_cyc) * design.t_bit + 0.9 * design.t_bit
    dec = np.stack([np.interp(t_dec, t, res[f"v(dec{i})"]) > vdd / 2 for i in range(n_inst)])
    delay = np.full((n_inst, n_cyc), np.nan)
    energy = np.zeros((n_inst, n_cyc))
    for i in range(n_inst):
        p = -res[f"i(vdd{i})"] * vdd
        cum = np.concatenate([[0.0], np.cumsum(0.5 * (p[1:] + p[:-1]) * np.diff(t))])
        energy[i] = np.diff(np.interp(np.arange(n_cyc + 1) * design.t_bit, t, cum))
        for c in range(n_cyc):
            m = (t >= t_clk[c]) & (t <= (c + 1) * design.t_bit)
            y = res[f"v({'dec' if dec[i, c] else 'decn'}{i})"][m] - vdd / 2
            tm = t[m]
            j = np.nonzero((y[:-1] < 0) & (y[1:] >= 0))[0]
            if len(j):
                j = j[0]
                delay[i, c] = tm[j] + (tm[j + 1] - tm[j]) * (-y[j]) / (y[j + 1] - y[j]) - t_clk[c]
    return {"dec": dec, "delay": delay, "energy": energy}


def predicted_sigma(design: SarDesign) -> float:
    """A generous scale for the staircase (V): the input pair and latch nMOS σ(ΔV_T) combined."""
    s = mismatch_sigmas(design)
    return math.sqrt(sum(s[n] ** 2 for n in ("M1", "M2", "M3", "M4")))


def staircase_search(decide, lo, hi, cycles: int, passes: int, *, bracketed: bool = False):
    """Flip point of each of ``len(lo)`` instances by staircases, each over the previous bracket.

    ``decide(grid)`` takes levels ``grid[i, k]`` (V) and returns True where instance i's decision at
    level k is the one below its flip point.  Each pass keeps the last level below and the first above
    the flip, one level of margin either side (where decisions near the flip are not monotonic, every
    level between the first above and the last below); a flip outside the staircase moves the next
    pass to that side.  With ``bracketed``, also whether the last pass bracketed each flip point (one
    that did not is only known to lie beyond the last staircase)."""
    lo, hi = np.array(lo, dtype=float), np.array(hi, dtype=float)
    n = len(lo)
    inside = np.zeros(n, bool)
    for _ in range(passes):
        grid = lo[:, None] + (hi - lo)[:, None] * np.linspace(0, 1, cycles)[None, :]
        dec = np.asarray(decide(grid), dtype=bool)
        span = hi - lo
        for i in range(n):
            keep = np.nonzero(dec[i])[0]
            drop = np.nonzero(~dec[i])[0]
            inside[i] = bool(len(keep) and len(drop))
            if not len(drop):  # below everywhere: the flip lies above
                lo[i], hi[i] = grid[i, -1], grid[i, -1] + span[i]
            elif not len(keep):  # above everywhere: below
                lo[i], hi[i] = grid[i, 0] - span[i], grid[i, 0]
            else:
                # one level of margin either side: a level right at the flip may decide either way
                a, b = min(keep.max(), drop.min() - 1) - 1, max(drop.min(), keep.max() + 1) + 1
                lo[i] = grid[i, a] if a >= 0 else grid[i, 0] - span[i] / (cycles - 1)
                hi[i] = grid[i, b] if b < cycles else grid[i, -1] + span[i] / (cycles - 1)
    return (0.5 * (lo + hi), inside) if bracketed else 0.5 * (lo + hi)


def flip_points(design: SarDesign, corner: Corner, delvto: list[dict], cycles: int,
                spice: SpiceSettings) -> np.ndarray:
    """Flip point f (V) of each instance on the comparator bench: its decision turns from keep to drop
    where inn - vcm crosses f.  A coarse staircase over +-5 sigma, then ``BENCH_PASSES - 1`` finer ones
    (:func:`staircase_search`)."""
    half = 5 * predicted_sigma(design)

    def decide(grid):
        # one warm-up cycle first: the comparator's first decision starts from the operating point
        levels = np.concatenate([grid[:, :1], grid], axis=1)
        return bench_decisions(design, corner, design.v_cm + levels, delvto, spice)["dec"][:, 1:]

    n = len(delvto)
    return staircase_search(decide, np.full(n, -half), np.full(n, half), cycles, BENCH_PASSES)


def insar_shift(design: SarDesign, bits: int, corner: Corner, delvto: dict, guess: float, half: float,
                cycles: int, spice: SpiceSettings, *, s_msb: float = 0.0) -> float:
    """Input-referred shift (V) of one instance's decisions measured in the whole SAR: the input of
    its mid-scale (MSB) transition minus the mismatch-free one's, ``2^(bits-1)`` LSB + ``s_msb``.  A
    staircase of conversions over ``guess +- half`` (V), then ``SAR_PASSES - 1`` finer ones; one
    warm-up conversion first.  (Every cycle of an instance is shifted alike: measured over all four
    cycles of four 4-bit instances, within 0.002 LSB.)"""
    mid = 2 ** (bits - 1) * design.lsb(bits) + s_msb

    def decide(grid):
        vin = np.concatenate([[mid], mid + grid[0]])
        codes = convert(design, bits, corner, vin, delvto=delvto, spice=spice)["codes"][1:]
        return (codes >> (bits - 1) & 1 == 0)[None, :]  # below the transition: the MSB dropped

    return float(staircase_search(decide, [guess - half], [guess + half], cycles, SAR_PASSES)[0])


#: Staircases over every code transition of a held-out instance (:func:`instance_thresholds`): levels per
#: pass, passes and the first pass's half width around the model's threshold (V).  Three passes of 10
#: levels over +-200 µV pin each transition to +-4 µV (0.00012 LSB at 4 bits).
TH_LEVELS = 10
TH_PASSES = 3
TH_HALF = 2e-4


def instance_thresholds(design: SarDesign, bits: int, corner: Corner, delvto: dict, centres,
                        spice: SpiceSettings, *, half: float = TH_HALF, cycles: int = TH_LEVELS,
                        passes: int = TH_PASSES) -> np.ndarray:
    """Input (V) of every code transition k = 1 .. 2^bits - 1 of one instance, measured in the whole
    SAR: a staircase of conversions over ``centres[k-1] +- half`` for every k in one transient (each
    staircase after a warm-up conversion at its centre), then ``passes - 1`` finer ones
    (:func:`staircase_search`); a transition outside its staircase moves the next pass there, and one
    the last pass did not bracket is NaN."""
    centres = np.asarray(centres, dtype=float)
    ks = np.arange(1, 2**bits)
    if centres.shape != ks.shape:
        raise ConfigError(f"need {len(ks)} threshold centres for {bits} bits, got {centres.shape}")

    def decide(grid):
        vin = np.concatenate([np.concatenate([[c], row]) for c, row in zip(centres, grid)])
        codes = convert(design, bits, corner, np.clip(vin, 0.0, design.v_ref), delvto=delvto,
                        spice=spice)["codes"].reshape(len(ks), cycles + 1)[:, 1:]
        return codes < ks[:, None]  # below transition k

    th, inside = staircase_search(decide, centres - half, centres + half, cycles, passes, bracketed=True)
    th[~inside] = np.nan  # not pinned: more than a few staircase widths from the model's threshold
    return th


def _item_mc_thresholds(spec: SarSpec, bits: int, corner: Corner, i: int, delvto: dict, centres,
                        spice: SpiceSettings) -> dict:
    th = instance_thresholds(spec.design, bits, corner, delvto, centres, spice)
    return {"corner": corner.name, "bits": bits, "which": "mcth", "i": i, "th": th}


def _item_bench(spec: SarSpec, corner: Corner, which: str, block: int, count: int, spice: SpiceSettings) -> dict:
    idx = list(range(block * BLOCK, min((block + 1) * BLOCK, count)))
    draws = [draw_mismatch(spec.design, item_rng(spec.seed, "sar-mc", which, i)) for i in idx]
    f = flip_points(spec.design, corner, draws, spec.mc_cycles, spice)
    names = [x.name for x in comparator_devices(spec.design)]
    return {"corner": corner.name, "which": which, "idx": idx, "flip": f,
            "dvt": np.array([[dv[n] for n in names] for dv in draws])}


def insar_draws(spec: SarSpec, which: str, n: int) -> list[dict]:
    """The comparator instances measured in the whole SAR (``which``: cal or val), own seed stream."""
    return [draw_mismatch(spec.design, item_rng(spec.seed, "sar-insar", which, i)) for i in range(n)]


def _item_insar(spec: SarSpec, bits: int, corner: Corner, which: str, i: int, delvto: dict, guess: float,
                s_msb: float, spice: SpiceSettings) -> dict:
    sh = insar_shift(spec.design, bits, corner, delvto, guess, INSAR_HALF, INSAR_LEVELS, spice, s_msb=s_msb)
    return {"corner": corner.name, "bits": bits, "which": f"insar-{which}", "i": i, "shift": sh, "guess": guess}


def _item_nominal_flip(spec: SarSpec, corner: Corner, spice: SpiceSettings) -> dict:
    return {"corner": corner.name, "which": "nominal",
            "flip": float(flip_points(spec.design, corner, [{}], 2 * spec.mc_cycles, spice)[0])}


def _item_delay(spec: SarSpec, corner: Corner, ods, tag: str, spice: SpiceSettings) -> dict:
    d = spec.design
    ods = np.asarray(ods, dtype=float)
    levels = np.concatenate([d.v_cm - ods, d.v_cm + ods])
    r = bench_decisions(d, corner, levels[None, :], [{}], spice, t_max=1e-12)
    dl = r["delay"][0]
    # the delay at an overdrive: the slower of its two signs
    return {"corner": corner.name, "tag": tag, "od": ods, "delay": np.fmax(dl[: len(ods)], dl[len(ods):]),
            "e_cycle": float(np.mean(r["energy"][0]))}


# --------------------------------------------------------------------------- the whole calibration


def fit_energy(vin, codes, e_vdd, e_vref, e_vcm, bits: int, d: SarDesign, a: float) -> tuple[float, float, float]:
    """Comparator energy per decision (mean VDD energy / bits) and the scales of the VREF and VCM
    energies over their ideal-capacitor values (least squares through the origin)."""
    from ..models.sar import switching_charge

    q_ref, q_cm = switching_charge(vin, codes, bits, v_ref=d.v_ref, v_cm=d.v_cm, c_unit=d.c_unit, a=a)
    e_ref0, e_cm0 = d.v_ref * q_ref[1:], d.v_cm * q_cm[1:]
    k_ref = float(np.dot(e_ref0, e_vref[1:]) / np.dot(e_ref0, e_ref0))
    k_cm = float(np.dot(e_cm0, e_vcm[1:]) / np.dot(e_cm0, e_cm0)) if np.any(e_cm0) else 1.0
    return float(np.mean(e_vdd[1:]) / bits), k_ref, k_cm


def settle_failures(spec: SarSpec, items: list, results: list) -> list:
    """A bench block whose SPICE run failed (after the relaxed retry) leaves its comparator instances out
    of the offset fit (NaN flip points, their ΔV_T redrawn from their seeds; the failure in the table's
    ``faults``).  Any other failed point (thresholds, energy, nominal flip) stops the calibration."""
    out = []
    for (fn, args), r in zip(items, results):
        if not isinstance(r, Failed):
            out.append(r)
        elif fn is _item_bench:
            _, c, which, block, count, _ = args
            idx = list(range(block * BLOCK, min((block + 1) * BLOCK, count)))
            log.warning("SAR bench block %d at %s failed (%s): its %d instances left out", block, c.name, r.reason,
                        len(idx))
            draws = [draw_mismatch(spec.design, item_rng(spec.seed, "sar-mc", which, i)) for i in idx]
            names = [x.name for x in comparator_devices(spec.design)]
            out.append({"corner": c.name, "which": which, "idx": idx, "flip": np.full(len(idx), math.nan),
                        "dvt": np.array([[dv[n] for n in names] for dv in draws]), "failed": r.reason})
        else:
            raise CalibrationError(f"SAR calibration: the {fn.__name__.lstrip('_').removeprefix('item_')} point at "
                                   f"{args[2].name if fn is not _item_nominal_flip else args[1].name} failed: {r.reason}")
    return out


def calibrate(spec: SarSpec, *, spice: SpiceSettings = SpiceSettings(), n_jobs: int = 1, progress=None,
              spec_path: Path | None = None) -> Table:
    """Run the whole SAR calibration and return the table (not yet written)."""
    from ..models.sar import insar_features, offset_features

    t0 = time.perf_counter()
    d = spec.design
    # the decision delays first (seconds): a comparator that cannot decide in its half cycle stops the
    # calibration before the long runs
    delays = run_parallel(_call, [((_item_delay, (spec, c, spec.overdrive_v, "cal", spice)),) for c in spec.corners],
                          n_jobs=n_jobs)
    for c, r in zip(spec.corners, delays):
        if not np.all(np.isfinite(r["delay"])):
            bad = [f"{od:g} V" for od, x in zip(spec.overdrive_v, r["delay"]) if not np.isfinite(x)]
            raise CalibrationError(f"SAR comparator at corner {c.name}: no decision within the half cycle at "
                                   f"overdrive(s) {', '.join(bad)}; raise t_bit or the smallest overdrive_v")
    items = []
    for c in spec.corners:
        for b in spec.bits:
            items.append((_item_thresholds, (spec, b, c, spice)))
            vin = item_rng(spec.seed, "sar-energy", b).uniform(0, d.v_ref, spec.energy_conversions)
            items.append((_item_sar, (spec, b, c, vin, "energy", None, spice)))
        items += [(_item_bench, (spec, c, "cal", k, spec.mc_instances, spice))
                  for k in range(math.ceil(spec.mc_instances / BLOCK))]
        items.append((_item_nominal_flip, (spec, c, spice)))
    results = settle_failures(spec, items, run_parallel(_call, [(it,) for it in items], n_jobs=n_jobs,
                                                        progress=progress(len(items)) if progress else None,
                                                        failures="record"))
    cn = [c.name for c in spec.corners]
    table = Table(schema="cosim.sar", spec=spec.text, seed=spec.seed)
    table.put("corners/name", np.array(cn), "1")
    table.put("corners/temp_c", np.array([c.temp_c for c in spec.corners]), "degC")
    table.put("corners/vdd", np.array([d.vdd * c.vdd_scale for c in spec.corners]), "V")
    names = [x.name for x in comparator_devices(d)]
    sig = mismatch_sigmas(d)
    table.put("comparator/devices", np.array(names), "1")
    table.put("comparator/sigma_vt", np.array([sig[n] for n in names]), "V")
    f_nom = np.array([next(r["flip"] for r in results if r.get("which") == "nominal" and r["corner"] == c) for c in cn])
    table.put("comparator/f_nominal", f_nom, "V")
    coefs, dvts, flips, resid = [], None, [], []
    for ci, c in enumerate(cn):
        rs = sorted([r for r in results if r.get("which") == "cal" and r["corner"] == c], key=lambda r: r["idx"][0])
        dvt = np.concatenate([r["dvt"] for r in rs])
        f = np.concatenate([r["flip"] for r in rs])
        ok = np.isfinite(f)  # a failed bench block's instances are left out (NaN in mc_flip)
        if ok.sum() < 20:
            raise CalibrationError(f"SAR calibration at {c}: only {ok.sum()} comparator instances measured, 20 needed")
        F = offset_features(dvt[ok], names)
        if ok.sum() <= 1.5 * F.shape[1]:
            F = F[:, : 1 + len(names)]
        # the mismatch-free comparator's flip point is measured (f_nominal): the fit's intercept is that,
        # not a free parameter — a free one put the zero-ΔV_T instance 0.0005-0.0009 LSB off at 4 bits
        sol = np.zeros(offset_features(dvt[:1], names).shape[1])
        sol[0] = f_nom[ci]
        sol[1: F.shape[1]] = np.linalg.lstsq(F[:, 1:], f[ok] - f_nom[ci], rcond=None)[0]
        coefs.append(sol)
        resid.append(float(np.sqrt(np.mean((F @ sol[: F.shape[1]] - f[ok]) ** 2))))
        dvts, flips = dvt, flips + [f]
    table.put("comparator/fit_coef", np.array(coefs), "V")
    # stage 2: instances through the whole SAR at every resolution — the input-referred shift there
    # differs from the bench's (the top plate floats: the latch's mismatch refers to the input through a
    # lower gain), by a linear function of the instance's ΔV_T fitted here per resolution and corner
    # every resolution converts the first insar_count(bits) of one stream of draws
    draws = insar_draws(spec, "cal", max(spec.insar_count(b) for b in spec.bits))
    dvt_ins = np.array([[dv[n] for n in names] for dv in draws])
    th_of = {(r["bits"], r["corner"]): r for r in results if r.get("tag") == "thresholds"}
    ins_items = []
    for ci, c in enumerate(spec.corners):
        for b in spec.bits:
            th = th_of[(b, c.name)]
            guess = -(offset_features(dvt_ins, names) @ coefs[ci] - f_nom[ci]) / th["a"]
            ins_items += [(_item_insar, (spec, b, c, "cal", i, dv, float(guess[i]), float(th["s"][0]), spice))
                          for i, dv in enumerate(draws[: spec.insar_count(b)])]
    ins = run_parallel(_call, [(it,) for it in ins_items], n_jobs=n_jobs,
                       progress=progress(len(ins_items)) if progress else None, failures="record")
    for k, r in enumerate(ins):  # a failed instance is left out of its fit (NaN in insar_shift)
        if isinstance(r, Failed):
            _, (_, b, c, _, i, _, guess, _, _) = ins_items[k]
            log.warning("in-SAR instance %d at %d bits, %s failed (%s): left out of the fit", i, b, c.name, r.reason)
            ins[k] = {"corner": c.name, "bits": b, "which": "insar-cal", "i": i, "shift": math.nan, "guess": guess}
    table.put("insar/dvt", dvt_ins, "V")
    for b in spec.bits:
        shifts, cf, rs = [], [], []
        for c in cn:
            rows = sorted([r for r in ins if r["bits"] == b and r["corner"] == c], key=lambda r: r["i"])
            y = np.array([r["shift"] for r in rows])
            g = np.array([r["guess"] for r in rows])
            ok = np.isfinite(y)
            if ok.sum() < 12:
                raise CalibrationError(f"SAR calibration at {c}, {b} bits: only {ok.sum()} in-SAR instances "
                                       "measured, 12 needed")
            F = insar_features(dvt_ins[: len(y)][ok], names, int(ok.sum()))
            # no intercept: the mismatch-free instance's decisions are the measured s (zero shift)
            sol = np.zeros(F.shape[1])
            sol[1:] = np.linalg.lstsq(F[:, 1:], y[ok] - g[ok], rcond=None)[0]
            shifts.append(y)
            cf.append(sol)
            rs.append(float(np.sqrt(np.mean((F @ sol - (y[ok] - g[ok])) ** 2))))
        table.put(f"b{b}/insar_shift", np.array(shifts), "V")
        table.put(f"b{b}/insar_coef", np.array(cf), "V")
        table.put(f"b{b}/insar_resid_rms", np.array(rs), "V")
    table.put("comparator/fit_resid_rms", np.array(resid), "V")
    table.put("comparator/mc_dvt", dvts, "V")
    table.put("comparator/mc_flip", np.array(flips), "V")
    dl = delays
    table.put("comparator/overdrive_v", np.array(spec.overdrive_v), "V")
    table.put("comparator/delay", np.array([r["delay"] for r in dl]), "s")
    table.put("comparator/e_cycle", np.array([r["e_cycle"] for r in dl]), "J")
    area_cmp = area_estimate(comparator_devices(d), l_min=d.l_min)
    for b in spec.bits:
        g = f"b{b}"
        th = [next(r for r in results if r.get("tag") == "thresholds" and r["bits"] == b and r["corner"] == c)
              for c in cn]
        en = [next(r for r in results if r.get("tag") == "energy" and r["bits"] == b and r["corner"] == c) for c in cn]
        table.put(f"{g}/s", np.array([r["s"] for r in th]), "V")
        table.put(f"{g}/s_bracket", np.array([r["width"] for r in th]), "V")
        table.put(f"{g}/a", np.array([r["a"] for r in th]), "1")
        fits = [fit_energy(e["vin"], e["codes"], e["e_vdd"], e["e_vref"], e["e_vcm"], b, d, t["a"])
                for e, t in zip(en, th)]
        table.put(f"{g}/e_cmp", np.array([x[0] for x in fits]), "J")
        table.put(f"{g}/k_ref", np.array([x[1] for x in fits]), "1")
        table.put(f"{g}/k_cm", np.array([x[2] for x in fits]), "1")
        table.put(f"{g}/energy_vin", en[0]["vin"], "V")
        table.put(f"{g}/energy_spice", np.array([e["e_vdd"] + e["e_vref"] + e["e_vcm"] for e in en]), "J")
        c_arr = d.c_array(b)
        # the reference capacitor matches the array; both count in the area
        table.put(f"{g}/area", area_cmp + 2 * (c_arr + d.c_par) / CAP_DENSITY, "m^2")
        k_b = 1.380649e-23
        table.put(f"{g}/kt_c_noise", np.array([math.sqrt(k_b * (c.temp_c + 273.15) / (c_arr / r["a"])) / r["a"]
                                               for c, r in zip(spec.corners, th)]), "V")
    table.attrs.update(design=d.to_dict(), bits=list(spec.bits), kind="sar-cdac",
                       energy_boundary=__doc__.split("Energy boundary:")[1].strip().replace("\n", " "),
                       area_rule=("transistors: (W + 6F)(L + 6F) per device, F = 32 nm; capacitors (array, "
                                  f"reference capacitor and parasitic) at {CAP_DENSITY * 1e3:g} fF/um^2 "
                                  "(assumed stacked MOM density); no routing factor"),
                       backend=spice.backend)
    stamp_sources(table, spice.backend, template_sources(), spec_path, SPEC_NAME)
    table.attrs["elapsed_s"] = round(time.perf_counter() - t0, 2)
    log.info("SAR calibration done in %.1f s", table.attrs["elapsed_s"])
    return table


def _call(item):
    fn, args = item
    return fn(*args)
