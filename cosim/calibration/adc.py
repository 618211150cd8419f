"""ADC calibration: the sense amplifier + mux + current-mode flash in ngspice, per corner.

Work items (joblib, one ngspice run each):

* ``trim``  — the design step: reference sinks scaled until the nominal-corner thresholds sit at
  (k - 1/2) LSB (three DC sweeps per resolution, no mismatch).  The trimmed design is then fixed.
* ``dc``    — DC transfer of one instance (nominal or a Monte Carlo draw) at one corner: the
  thresholds (input current where each comparator output crosses VDD/2, interpolated), the static
  supply current and the column clamp voltage against input current.
* ``delay`` — transient step across one comparator's threshold with a given overdrive, rising
  (from zero input) and falling (from full scale): the time from the input edge to the output
  crossing VDD/2.  Also from near starts (``near_start_lsb`` on the other side of the threshold,
  at ``near_overdrive_lsb``): a decision starting close to its threshold is faster, but far less
  than a single pole from the far start predicts — the comparator node starts at its rail either
  way, and only the front end's swing is shorter (measured at 85 °C, 2-bit: 2.6 ns from 0.05 LSB
  at 0.05 LSB overdrive where a single pole predicts 0.8 ns).
* ``noise`` — ngspice ``.noise`` at each comparator's node with the input at its threshold: the
  input-referred rms noise (1 MHz - 100 GHz) and the white input density.
* ``energy`` — transient of random conversions at the conversion period: supply energy, from which
  the transition energy (on the input step up / down, its square and start, the comparator toggles
  and a scale of the static part) is fitted on top of the static supply power.

Energy boundary: every current drawn from VDD by the sense amplifier (clamp bias, output mirror),
the mux line, the flash comparators and their reference branches and inverters.  Outside: the
bias/reference generators (ideal VB, IBIAS, IREF: shared by many ADCs), the column current (the
crossbar's row drivers deliver it), the output register and the thermometer-to-binary encoder, and
clocks (the comparators are continuous-time; there is no clocked latch).  Published ADC figures
(e.g. Kull et al.) include references and clocking.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import SpiceSettings
from . import per_bits, read_corners, read_sweep_spec, stamp_sources
from ..errors import CalibrationError, ConfigError
from ..netlist.adc import (FLASH_BITS, AdcDesign, Corner, DacDesign, DcSweep, Levels, area_estimate, design_for,
                           devices, draw_mismatch,
                           ideal_thresholds, mismatch_sigmas, render_adc, template_sources)
from ..parallel import item_rng, run_parallel
from ..spice import get_backend
from ..store import Table

log = logging.getLogger(__name__)

SPEC_NAME = "adc.toml"


@dataclass(frozen=True)
class AdcSpec:
    text: str
    seed: int
    design: AdcDesign
    bits: tuple[int, ...]
    corners: tuple[Corner, ...]
    dc_step_lsb: float
    mc_instances: int
    period: dict
    """Conversion period per resolution, s: {bits: period}."""
    overdrive_lsb: tuple[float, ...]
    near_start_lsb: tuple[float, ...]
    """Start distances (LSB, on the other side of the threshold) of the near-start delay grid."""
    near_overdrive_lsb: tuple[float, ...]
    energy_conversions: int
    trim_iterations: int
    val_mc_instances: int
    val_inputs: int
    val_overdrive_lsb: tuple[float, ...]
    val_near: tuple[tuple[float, float], ...]
    """Held-out near-start delays: (start distance, overdrive) in LSB."""
    val_conversions: int
    val_instances_tran: int
    dac: "DacDesign"
    dac_sizes: tuple[int, ...]
    dac_densities: tuple[float, ...]
    dac_val_sizes: tuple[int, ...]
    dac_val_densities: tuple[float, ...]
    dac_g_on: float
    dac_on_off: float
    dac_v_lo: float
    dac_r_row: float
    dac_c_row: float
    dac_t_pulse: float
    design_by_bits: dict = None
    """Per-resolution overrides of the design: {bits: {field: value}}."""

    def design_for(self, bits: int) -> AdcDesign:
        """The design of the ``bits``-bit flash (the [design] block with that resolution's overrides)."""
        return design_for(self.design.to_dict(), self.design_by_bits, bits)


def load_spec(path: str | Path | None = None, *, quick: bool = False) -> AdcSpec:
    path, text, d = read_sweep_spec(path, SPEC_NAME)
    try:
        sw, va, dd = d["sweep"], d.get("validate", {}), d["dac"]
        q = d.get("quick", {}) if quick else {}
        corners = read_corners(sw, q, path)
        bits = tuple(int(b) for b in q.get("bits", sw["bits"]))
        spec = AdcSpec(
            text=text, seed=int(d["seed"]), design=AdcDesign.from_dict(d.get("design", {})),
            bits=bits, corners=corners,
            dc_step_lsb=float(sw["dc_step_lsb"]), mc_instances=int(q.get("mc_instances", sw["mc_instances"])),
            period=per_bits(sw["period"], bits, "period"),
            overdrive_lsb=tuple(float(x) for x in q.get("overdrive_lsb", sw["overdrive_lsb"])),
            energy_conversions=int(sw["energy_conversions"]), trim_iterations=int(sw["trim_iterations"]),
            val_mc_instances=int(q.get("mc_instances", va.get("mc_instances", 200))),
            val_inputs=int(va.get("inputs", 2000)),
            near_start_lsb=tuple(float(x) for x in q.get("near_start_lsb", sw["near_start_lsb"])),
            near_overdrive_lsb=tuple(float(x) for x in q.get("near_overdrive_lsb", sw["near_overdrive_lsb"])),
            val_overdrive_lsb=tuple(float(x) for x in va.get("overdrive_lsb", [0.15, 0.3, 0.7, 1.5])),
            val_near=tuple((float(a), float(b)) for a, b in va.get("near_delays", [])),
            val_conversions=int(va.get("conversions", 40)), val_instances_tran=int(va.get("instances_tran", 4)),
            dac=DacDesign.from_dict(dd.get("design", {})), dac_sizes=tuple(int(x) for x in dd["sizes"]),
            dac_densities=tuple(float(x) for x in dd["densities"]),
            dac_val_sizes=tuple(int(x) for x in dd["validate_sizes"]),
            dac_val_densities=tuple(float(x) for x in dd["validate_densities"]),
            dac_g_on=float(dd["g_on"]), dac_on_off=float(dd["on_off_ratio"]), dac_v_lo=float(dd["v_lo"]),
            dac_r_row=float(dd["r_row"]), dac_c_row=float(dd["c_row"]), dac_t_pulse=float(dd["t_pulse"]),
            design_by_bits={int(k): dict(v) for k, v in d.get("design_by_bits", {}).items()},
        )
        for b in spec.bits:
            spec.design_for(b)  # an unknown or bad override field is a ConfigError now
        shared = sorted({f for over in spec.design_by_bits.values() for f in over} & {"vdd", "i_lsb"})
        if shared:
            raise ConfigError(f"sweep spec {path}: design_by_bits may not change {', '.join(shared)} (the corners' "
                              "supply and the crossbar's LSB are the same for every resolution)")
    except KeyError as exc:
        raise ConfigError(f"sweep spec {path} lacks {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"sweep spec {path}: bad value ({exc})") from None
    bad = [b for b in spec.bits if b not in FLASH_BITS]
    if bad:
        raise ConfigError(f"sweep spec {path}: flash resolutions {bad} not supported; valid: {list(FLASH_BITS)}")
    if not spec.corners or spec.corners[0].name != "nominal" or spec.corners[0].temp_c != 27.0 \
            or spec.corners[0].vdd_scale != 1.0:
        raise ConfigError(f"sweep spec {path}: the first corner must be 'nominal' (27 C, vdd_scale 1)")
    if len({c.name for c in spec.corners}) != len(spec.corners):
        raise ConfigError(f"sweep spec {path}: corner names must be unique")
    if not (0 < spec.dc_step_lsb <= 0.05):
        raise ConfigError(f"sweep spec {path}: dc_step_lsb must lie in (0, 0.05]")
    if spec.mc_instances < 20 or spec.val_mc_instances < 20:
        raise ConfigError(f"sweep spec {path}: need at least 20 Monte Carlo instances")
    if not (min(spec.period.values()) > 0 and all(x > 0 for x in spec.overdrive_lsb + spec.val_overdrive_lsb)):
        raise ConfigError(f"sweep spec {path}: period and overdrives must be > 0")
    if len(spec.overdrive_lsb) < 2 or len(spec.near_overdrive_lsb) < 2 or not spec.near_start_lsb:
        raise ConfigError(f"sweep spec {path}: need at least 2 overdrive points, 2 near-start overdrives and a "
                          "near start")
    if any(x <= 0 for x in spec.near_start_lsb + spec.near_overdrive_lsb) or \
            list(spec.near_start_lsb) != sorted(set(spec.near_start_lsb)) or \
            list(spec.near_overdrive_lsb) != sorted(set(spec.near_overdrive_lsb)):
        raise ConfigError(f"sweep spec {path}: near_start_lsb and near_overdrive_lsb must be increasing and > 0")
    return spec


# --------------------------------------------------------------------------- SPICE measurements


def _crossings(x: np.ndarray, v: np.ndarray, level: float) -> np.ndarray:
    """Interpolated x where ``v`` crosses ``level`` upwards."""
    s = v - level
    j = np.nonzero((s[:-1] < 0) & (s[1:] >= 0))[0]
    return x[j] + (x[j + 1] - x[j]) * (-s[j]) / (s[j + 1] - s[j])


def dc_transfer(design: AdcDesign, bits: int, corner: Corner, *, trim=None, delvto=None, step_lsb: float = 0.004,
                spice: SpiceSettings = SpiceSettings(), span: float = 2.0) -> dict:
    """One DC sweep over ``span`` x full scale: thresholds (A; NaN for a comparator that never
    switches in the sweep — a Monte Carlo outlier), supply current and clamp voltage against input."""
    stop = span * 2**bits * design.i_lsb
    res = get_backend(spice.backend).run(
        render_adc(design, bits, DcSweep(stop=stop, step=step_lsb * design.i_lsb), corner=corner, trim=trim,
                   delvto=delvto), timeout=spice.timeout)
    x = res["i(i-sweep)"]
    vdd = design.vdd * corner.vdd_scale
    th = []
    for k in range(1, 2**bits):
        c = _crossings(x, res[f"v(d{k})"], vdd / 2)
        th.append(c[0] if len(c) else np.nan)  # several crossings (non-monotonic): the first is reported
    th = np.array(th)
    if not delvto and np.any(np.isnan(th)):
        raise CalibrationError(f"comparator {int(np.argmax(np.isnan(th))) + 1} of the {bits}-bit flash never switches "
                               f"at corner {corner.name} (input 0..{stop:g} A)")
    full = x <= 2**bits * design.i_lsb * (1 + 1e-9)
    return {"thresholds": th, "i_in": x[full], "i_supply": -res["i(vdd)"][full], "v_clamp": res["v(x)"][full],
            "spice_s": res.elapsed_s}


def _item_dc(spec: AdcSpec, bits: int, corner: Corner, trim, which: str, i: int, spice: SpiceSettings) -> dict:
    design = spec.design_for(bits)
    devs = devices(design, bits, trim)
    dvt = {} if which == "nominal" else draw_mismatch(design, devs, item_rng(spec.seed, "mc", which, bits, i))
    out = dc_transfer(design, bits, corner, trim=trim, delvto=dvt, step_lsb=spec.dc_step_lsb, spice=spice)
    if which != "nominal":  # keep only what the fit needs
        out = {"thresholds": out["thresholds"], "spice_s": out["spice_s"]}
    return {"bits": bits, "corner": corner.name, "which": which, "i": i,
            "dvt": np.array([dvt.get(d.name, 0.0) for d in devs if d.mismatch]), **out}


def step_delay(design: AdcDesign, bits: int, corner: Corner, k: int, threshold: float, overdrive: float,
               direction: str, *, trim=None, delvto=None, t_wait: float | None = None, start: float | None = None,
               spice: SpiceSettings = SpiceSettings()) -> dict:
    """Delay of comparator ``k`` for an input step across ``threshold`` (A) by ``overdrive`` (A):
    ``rise`` steps from ``start`` (A; default zero input), ``fall`` from ``start`` (default full
    scale, 2^bits LSB); the start is held for ``t_wait`` first."""
    if t_wait is None:  # long enough for the slowest decisions (about 8 ns at 0.01 LSB)
        t_wait = 40e-9 if overdrive < 0.04 * design.i_lsb else 12e-9
    if direction == "rise":
        levels = (0.0 if start is None else start, threshold + overdrive)
    elif direction == "fall":
        levels = (2**bits * design.i_lsb if start is None else start, threshold - overdrive)
    else:
        raise ConfigError(f"direction must be rise or fall, not {direction!r}")
    if (levels[0] - threshold) * (levels[1] - threshold) >= 0:
        raise ConfigError("the step must start on the other side of the threshold")
    an = Levels(levels=levels, period=t_wait)
    res = get_backend(spice.backend).run(render_adc(design, bits, an, corner=corner, trim=trim, delvto=delvto),
                                         timeout=spice.timeout)
    t, v = res["time"], res[f"v(d{k})"] - design.vdd * corner.vdd_scale / 2
    m = t > t_wait
    s = np.sign(v[m])
    j = np.nonzero(s[1:] != s[:-1])[0]
    if len(j) == 0:
        return {"delay": np.inf}
    j = j[0]
    tm, vm = t[m], v[m]
    tc = tm[j] + (tm[j + 1] - tm[j]) * (-vm[j]) / (vm[j + 1] - vm[j])
    return {"delay": float(tc - t_wait - an.t_edge / 2)}


def near_start(design: AdcDesign, bits: int, threshold: float, sd_lsb: float, direction: str) -> float:
    """The start (A) ``sd_lsb`` below (rise) or above (fall) ``threshold``, kept within 0 .. full scale."""
    sign = -1.0 if direction == "rise" else 1.0
    return float(np.clip(threshold + sign * sd_lsb * design.i_lsb, 0.0, 2**bits * design.i_lsb))


def _item_delay(spec: AdcSpec, bits: int, corner: Corner, trim, thresholds, k: int, od_lsb: float,
                direction: str, spice: SpiceSettings, sd_lsb: float | None = None) -> dict:
    d = spec.design_for(bits)
    th = float(thresholds[k - 1])
    start = None if sd_lsb is None else near_start(d, bits, th, sd_lsb, direction)
    out = step_delay(d, bits, corner, k, th, od_lsb * d.i_lsb, direction, trim=trim, start=start, spice=spice)
    return {"bits": bits, "corner": corner.name, "k": k, "od": od_lsb, "direction": direction, "sd": sd_lsb, **out}


def conversions(design: AdcDesign, bits: int, corner: Corner, levels: np.ndarray, period: float, *, trim=None,
                delvto=None, noise=None, spice: SpiceSettings = SpiceSettings()) -> dict:
    """Transient of a sequence of conversions: the code sampled at the end of each period (number of
    comparator outputs above VDD/2) and the supply energy of each period (J)."""
    levels = np.asarray(levels, dtype=float)
    an = Levels(levels=tuple(levels), period=period)
    res = get_backend(spice.backend).run(render_adc(design, bits, an, corner=corner, trim=trim, delvto=delvto,
                                                    noise=noise), timeout=spice.timeout)
    t = res["time"]
    vdd = design.vdd * corner.vdd_scale
    p = vdd * -res["i(vdd)"]
    n = len(levels)
    ends = (np.arange(n) + 1) * period - min(period * 0.01, 10e-12)
    bitsv = np.stack([np.interp(ends, t, res[f"v(d{k})"]) > vdd / 2 for k in range(1, 2**bits)], -1)
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (p[1:] + p[:-1]) * np.diff(t))])
    bounds = np.interp(np.arange(n + 1) * period, t, cum)
    return {"codes": bitsv.sum(-1), "thermo": bitsv, "energy": np.diff(bounds)}


def input_noise(design: AdcDesign, bits: int, corner: Corner, k: int, i_dc: float, *, trim=None, delvto=None,
                spice: SpiceSettings = SpiceSettings()) -> dict:
    """Input-referred noise of comparator ``k`` at input ``i_dc`` (its threshold): ngspice ``.noise``
    (BSIM4 thermal + flicker of every device) at the comparator node, integrated from 1 MHz (slower
    drifts act as offset over a conversion) to 100 GHz, divided by the node's low-frequency
    transimpedance.  Returns the rms (A) and the white input density at 10 MHz (A²/Hz)."""
    from ..netlist.adc import NoiseAnalysis

    res = get_backend(spice.backend).run(render_adc(design, bits, NoiseAnalysis(i_dc=i_dc, k=k), corner=corner,
                                                    trim=trim, delvto=delvto), timeout=spice.timeout)
    spec_plot = next((p for name, p in res.plots.items() if "onoise_spectrum" in p), None)
    if spec_plot is None:
        raise CalibrationError("ngspice .noise produced no spectrum")
    f, on, inn = spec_plot["frequency"].real, spec_plot["onoise_spectrum"].real, spec_plot["inoise_spectrum"].real
    z0 = on[0] / inn[0]  # transimpedance at the lowest frequency (V/A)
    out_rms = math.sqrt(float(np.trapezoid(on**2, f)))
    return {"rms": out_rms / z0, "psd_10mhz": float(np.interp(np.log(1e7), np.log(f), inn) ** 2), "z0": z0}


def _item_noise(spec: AdcSpec, bits: int, corner: Corner, trim, thresholds, k: int, spice: SpiceSettings) -> dict:
    out = input_noise(spec.design_for(bits), bits, corner, k, float(thresholds[k - 1]), trim=trim, spice=spice)
    return {"bits": bits, "corner": corner.name, "noise_k": k, **out}


def dac_pulse(dac, g, *, v_lo: float, r_row: float, c_row: float, t_pulse: float, corner: Corner,
              spice: SpiceSettings = SpiceSettings()) -> dict:
    """One input pulse through the row driver into a row of cells ``g``: the energy inside the DAC
    boundary (supplies minus the crossbar read boundary's share), the delay to half swing at the far
    end of the row, and the driver's on-resistance at the end of the pulse."""
    from ..netlist.adc import render_dac

    res = get_backend(spice.backend).run(render_dac(dac, g, v_lo=v_lo, r_row=r_row, c_row=c_row, t_pulse=t_pulse,
                                                    temp_c=corner.temp_c, vdd_scale=corner.vdd_scale),
                                         timeout=spice.timeout)
    t = res["time"]
    vdd = dac.vdd * corner.vdd_scale
    e_sup = sum(float(np.trapezoid(-res[f"i({k})"] * v, t)) for k, v in (("vdd", vdd), ("vhi", v_lo + dac.v_read),
                                                                        ("vlo", v_lo)))
    e_xbar = float(np.trapezoid((res["v(r0)"] - v_lo) * res["i(vout)"], t))
    far = res[f"v(r{len(g)})"]
    t_delay = 50e-12
    j = int(np.argmax(far > v_lo + dac.v_read / 2))
    delay = float(t[j - 1] + (t[j] - t[j - 1]) * (v_lo + dac.v_read / 2 - far[j - 1]) / (far[j] - far[j - 1]) - t_delay
                  - 10e-12)  # from the middle of the input edge
    m = (t > t_delay + 0.8 * t_pulse) & (t < t_delay + t_pulse)
    i_end = float(np.mean(res["i(vout)"][m]))
    r_on = float(np.mean(v_lo + dac.v_read - res["v(r0)"][m]) / i_end) if i_end > 0 else math.nan
    return {"e_dac": e_sup - e_xbar, "e_xbar": e_xbar, "delay": delay, "r_on": r_on}


def dac_case(seed: int, key, n: int, density: float, g_on: float, on_off: float) -> np.ndarray:
    rng = item_rng(seed, "dac", key, n, density)
    return np.where(rng.random(n) < density, g_on, g_on / on_off)


def _item_dac(spec: AdcSpec, corner: Corner, n: int, density: float, key: str, spice: SpiceSettings) -> dict:
    g = dac_case(spec.seed, key, n, density, spec.dac_g_on, spec.dac_on_off)
    out = dac_pulse(spec.dac, g, v_lo=spec.dac_v_lo, r_row=spec.dac_r_row, c_row=spec.dac_c_row,
                    t_pulse=spec.dac_t_pulse, corner=corner, spice=spice)
    return {"dac_corner": corner.name, "n": n, "density": density, "g_total": float(g.sum()), **out}


def _item_energy(spec: AdcSpec, bits: int, corner: Corner, trim, spice: SpiceSettings) -> dict:
    rng = item_rng(spec.seed, "energy", bits, corner.name)
    levels = rng.uniform(0, 2**bits * spec.design_for(bits).i_lsb, spec.energy_conversions)
    out = conversions(spec.design_for(bits), bits, corner, levels, spec.period[bits], trim=trim, spice=spice)
    return {"bits": bits, "corner": corner.name, "levels": levels, **out}


# --------------------------------------------------------------------------- driver


def settle_failures(spec: AdcSpec, items: list, results: list) -> list:
    """A Monte Carlo instance whose SPICE run failed (after the relaxed retry) becomes an outlier of the
    fit — NaN thresholds, as an instance whose comparator never switches, its ΔV_T redrawn from its seed
    — and stays listed (``mc_outliers``; the failure itself in the table's ``faults``).  Any other failed
    point (nominal transfer, delay, energy, noise, row driver) stops the calibration: the model cannot
    be built without it."""
    from ..parallel import Failed

    out = []
    for (fn, args), r in zip(items, results):
        if not isinstance(r, Failed):
            out.append(r)
            continue
        if fn is _item_dc and args[4] == "cal":
            _, b, c, trim, which, i, _ = args
            d = spec.design_for(b)
            devs = devices(d, b, trim)
            dvt = draw_mismatch(d, devs, item_rng(spec.seed, "mc", which, b, i))
            log.warning("%d-bit Monte Carlo instance %d at %s failed (%s): left out of the fit", b, i, c.name, r.reason)
            out.append({"bits": b, "corner": c.name, "which": which, "i": i, "failed": r.reason,
                        "thresholds": np.full(2**b - 1, np.nan),
                        "dvt": np.array([dvt.get(x.name, 0.0) for x in devs if x.mismatch])})
        else:
            what = ", ".join(str(getattr(x, "name", x)) for x in args[1:3])
            raise CalibrationError(f"ADC calibration: the {fn.__name__.lstrip('_')} point ({what}) failed: {r.reason}")
    return out


def trim_references(spec: AdcSpec, bits: int, spice: SpiceSettings) -> tuple[np.ndarray, np.ndarray]:
    """Scale each reference sink so the nominal thresholds land on (k - 1/2) LSB (the flash sees
    (I_in + I_b)·mirror_ratio, proportional to the reference width).  Returns (trim, thresholds)."""
    d = spec.design_for(bits)
    nominal = spec.corners[0]
    target = ideal_thresholds(d, bits)
    trim = np.ones(len(target))
    for _ in range(max(spec.trim_iterations, 1)):
        th = dc_transfer(d, bits, nominal, trim=trim, step_lsb=spec.dc_step_lsb, spice=spice)["thresholds"]
        trim = trim * (target + d.i_bias) / (th + d.i_bias)
    th = dc_transfer(d, bits, nominal, trim=trim, step_lsb=spec.dc_step_lsb, spice=spice)["thresholds"]
    return trim, th


def calibrate(spec: AdcSpec, *, spice: SpiceSettings = SpiceSettings(), n_jobs: int = 1, progress=None,
              spec_path: Path | None = None) -> Table:
    """Run the whole ADC calibration and return the table (not yet written)."""
    from ..models.adc import fit_threshold_model

    t0 = time.perf_counter()
    d = spec.design
    trims = dict(zip(spec.bits, run_parallel(trim_references, [(spec, b, spice) for b in spec.bits], n_jobs=n_jobs)))
    # nominal DC per corner first (the delay items need each corner's thresholds)
    nom_items = [(_item_dc, (spec, b, c, trims[b][0], "nominal", 0, spice)) for b in spec.bits for c in spec.corners]
    nominal = run_parallel(_call, [(it,) for it in nom_items], n_jobs=n_jobs)
    nom = {(r["bits"], r["corner"]): r for r in nominal}
    items = []
    for b in spec.bits:
        for c in spec.corners:
            items += [(_item_dc, (spec, b, c, trims[b][0], "cal", i, spice)) for i in range(spec.mc_instances)]
            th = nom[(b, c.name)]["thresholds"]
            for k in range(1, 2**b):
                for direction in ("rise", "fall"):
                    for od in spec.overdrive_lsb:
                        items.append((_item_delay, (spec, b, c, trims[b][0], th, k, od, direction, spice)))
                    for sd in spec.near_start_lsb:
                        items += [(_item_delay, (spec, b, c, trims[b][0], th, k, od, direction, spice, sd))
                                  for od in spec.near_overdrive_lsb]
            items.append((_item_energy, (spec, b, c, trims[b][0], spice)))
            items += [(_item_noise, (spec, b, c, trims[b][0], th, k, spice)) for k in range(1, 2**b)]
    for c in spec.corners:
        items += [(_item_dac, (spec, c, n, dens, "cal", spice)) for n in spec.dac_sizes for dens in spec.dac_densities]
    results = run_parallel(_call, [(it,) for it in items], n_jobs=n_jobs,
                           progress=progress(len(items)) if progress else None, failures="record")
    results = settle_failures(spec, items, results)

    table = Table(schema="cosim.adc", spec=spec.text, seed=spec.seed)
    # the row driver: energy and delay against the row load, one fit per corner
    from ..models.adc import fit_dac

    dac = [r for r in results if "dac_corner" in r]
    cols = ("n", "density", "g_total", "e_dac", "e_xbar", "delay", "r_on")
    for name, units in zip(cols, ("1", "1", "S", "J", "J", "s", "ohm")):
        table.put(f"dac/{name}", np.array([[r[name] for r in dac if r["dac_corner"] == c] for c in
                                           [x.name for x in spec.corners]]), units)
    e_coef, d_coef = fit_dac(table["dac/n"], table["dac/g_total"], table["dac/e_dac"], table["dac/delay"],
                             spec.dac_t_pulse)
    table.put("dac/energy_coef", e_coef, "J")
    table.put("dac/delay_coef", d_coef, "s")
    table.put("dac/area", area_estimate(spec.dac.devices(), l_min=spec.dac.l_min), "m^2")
    cnames = [c.name for c in spec.corners]
    table.put("corners/name", np.array(cnames), "1")
    table.put("corners/temp_c", np.array([c.temp_c for c in spec.corners]), "degC")
    table.put("corners/vdd", np.array([d.vdd * c.vdd_scale for c in spec.corners]), "V")
    for b in spec.bits:
        g = f"b{b}"
        d = spec.design_for(b)
        devs = devices(d, b, trims[b][0])
        mm = [x for x in devs if x.mismatch]
        n_comp = 2**b - 1
        table.put(f"{g}/trim", trims[b][0], "1")
        table.put(f"{g}/period", spec.period[b], "s")
        table.put(f"{g}/devices", np.array([x.name for x in mm]), "1")
        sig = mismatch_sigmas(d, devs)
        table.put(f"{g}/sigma_vt", np.array([sig[x.name] for x in mm]), "V")
        table.put(f"{g}/area", area_estimate(devs, l_min=d.l_min), "m^2")
        table.put(f"{g}/area_sa", area_estimate([x for x in devs if x.name in ("M1", "M2", "MPL", "MO", "MS")],
                                                l_min=d.l_min), "m^2")
        n0 = nom[(b, "nominal")]
        table.put(f"{g}/i_in", n0["i_in"], "A")
        table.put(f"{g}/thresholds", np.stack([nom[(b, c)]["thresholds"] for c in cnames]), "A")
        table.put(f"{g}/i_supply", np.stack([nom[(b, c)]["i_supply"] for c in cnames]), "A")
        table.put(f"{g}/v_clamp", np.stack([nom[(b, c)]["v_clamp"] for c in cnames]), "V")
        # Monte Carlo: thresholds against the instance's ΔV_T, one fit per corner and comparator
        cal = [r for r in results if r.get("which") == "cal" and r["bits"] == b]
        dvt = np.stack([r["dvt"] for r in sorted(cal, key=lambda r: r["i"]) if r["corner"] == "nominal"])
        table.put(f"{g}/mc_dvt", dvt, "V")
        mc_th = np.zeros((len(cnames), len(dvt), n_comp))
        for r in cal:
            mc_th[cnames.index(r["corner"]), r["i"]] = r["thresholds"]
        table.put(f"{g}/mc_thresholds", mc_th, "A")
        ok = ~np.any(np.isnan(mc_th), axis=(0, 2))  # instances with a comparator that never switched
        table.put(f"{g}/mc_outliers", np.nonzero(~ok)[0], "1")
        coef, feats, resid = fit_threshold_model(dvt[ok], mc_th[:, ok], [x.name for x in mm], n_comp,
                                                 i_bias=d.i_bias, lsb=d.i_lsb)
        table.put(f"{g}/fit_coef", coef, "1")  # of ln((I_th + I_b) / I_lsb)
        table.put(f"{g}/fit_features", feats, "1")
        table.put(f"{g}/fit_resid_rms", resid, "A")
        # delay against overdrive
        ods = np.array(spec.overdrive_lsb)
        sds, nods = list(spec.near_start_lsb), list(spec.near_overdrive_lsb)
        delay = np.full((2, len(cnames), n_comp, len(ods)), np.nan)
        near = np.full((2, len(cnames), n_comp, len(sds), len(nods)), np.nan)
        for r in results:
            if r.get("k") and r["bits"] == b:
                i = (0 if r["direction"] == "rise" else 1, cnames.index(r["corner"]), r["k"] - 1)
                if r["sd"] is None:
                    delay[i + (list(ods).index(r["od"]),)] = r["delay"]
                else:
                    near[i + (sds.index(r["sd"]), nods.index(r["od"]))] = r["delay"]
        if not (np.all(np.isfinite(delay)) and np.all(np.isfinite(near))):
            raise CalibrationError(f"{b}-bit flash: some comparators did not switch within the delay window")
        table.put(f"{g}/overdrive_lsb", ods, "1")
        table.put(f"{g}/delay", delay, "s")
        table.put(f"{g}/near_start_lsb", np.array(sds), "1")
        table.put(f"{g}/near_overdrive_lsb", np.array(nods), "1")
        table.put(f"{g}/delay_near", near, "s")
        # transition energy on top of the static power (fitted on the step features)
        from ..models.adc import fit_transition_energy, static_energy
        from ..models.adc import TRANSITION_FEATURES
        e_tr = np.zeros((len(cnames), len(TRANSITION_FEATURES)))
        for r in results:
            if "thermo" in r and r["bits"] == b:
                static = static_energy(n0["i_in"], nom[(b, r["corner"])]["i_supply"], r["levels"], spec.period[b])
                unit = d.i_lsb * d.vdd * spec.corners[cnames.index(r["corner"])].vdd_scale * spec.period[b]
                e_tr[cnames.index(r["corner"])] = fit_transition_energy(r["levels"], r["thermo"], r["energy"], static,
                                                                        d.i_lsb, unit)
        table.put(f"{g}/e_transition", e_tr, "J")
        noise = np.zeros((len(cnames), n_comp))
        psd = np.zeros((len(cnames), n_comp))
        for r in results:
            if "noise_k" in r and r["bits"] == b:
                noise[cnames.index(r["corner"]), r["noise_k"] - 1] = r["rms"]
                psd[cnames.index(r["corner"]), r["noise_k"] - 1] = r["psd_10mhz"]
        table.put(f"{g}/noise_rms", noise, "A")
        table.put(f"{g}/noise_psd", psd, "A^2/Hz")
    d = spec.design
    table.attrs.update(design=d.to_dict(), design_by_bits={str(b): v for b, v in (spec.design_by_bits or {}).items()},
                       bits=list(spec.bits), period={str(b): p for b, p in spec.period.items()}, dac_design=spec.dac.to_dict(),
                       dac_load=dict(g_on=spec.dac_g_on, on_off_ratio=spec.dac_on_off, v_lo=spec.dac_v_lo,
                                     r_row=spec.dac_r_row, c_row=spec.dac_c_row, t_pulse=spec.dac_t_pulse,
                                     sizes=list(spec.dac_sizes)),
                       energy_boundary=__doc__.split("Energy boundary:")[1].strip().replace("\n", " "),
                       area_rule=("(W + 6F)(L + 6F) per device, F = 32 nm: gate plus 3F on every side for "
                                  "contacts and spacing, no routing factor"),
                       backend=spice.backend)
    stamp_sources(table, spice.backend, template_sources(), spec_path, SPEC_NAME)
    table.attrs["elapsed_s"] = round(time.perf_counter() - t0, 2)
    log.info("ADC calibration done in %.1f s", table.attrs["elapsed_s"])
    return table


def _call(item):
    fn, args = item
    return fn(*args)
