"""Nonlinear-unit calibration: the subthreshold exponential and the softmax normaliser in ngspice, per corner.

Work items (joblib, one ngspice run each):

* ``exp``   — the exponential unit's DC transfer over gate (1 mV steps) x source level (10 mV
  steps): the channel current (source terminal) and the drain's leakage to the body (drain minus
  source current); and the tail sink's current against its drain (= source) level, with its
  sensitivity to a threshold shift (a probe copy at DELVTO = 1 mV).
* ``dc``    — random score vectors through the normaliser (one ``.op`` with every vector as its own
  instance): the output currents and the source level, stored as calibration evidence (the model
  itself is built from the unit sweeps alone and checked against these and held-out vectors).
* ``step``  — a 128-input normaliser whose inputs step from one vector to another: the settling
  time to ``settle_tol`` of I_tail and the supply energy while it settles.

Energy boundary: VDD (the reference current) and the readout node (the tail current through the
branches).  Outside (counted by the behavioral model from other calibrated tables): the score DAC
and the output ADC.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import SpiceSettings
from ..errors import CalibrationError, ConfigError
from ..netlist.adc import Corner
from ..netlist.nonlinear import TAIL_PROBE_DVT, Mismatch, NlDesign, render_exp, render_wta, render_softmax, softmax_area, template_sources
from ..parallel import Failed, item_rng, run_parallel
from ..spice import get_backend
from ..store import Table
from . import read_corners, read_sweep_spec, stamp_sources

log = logging.getLogger(__name__)

SPEC_NAME = "nonlinear.toml"
#: Gate volts per logit of the calibration vectors (about n·kT/q at 27 °C; the model's own gain comes
#: from the calibrated slope).
CAL_GAIN = 0.04
STEP_N = 128


@dataclass(frozen=True)
class NlSpec:
    text: str
    seed: int
    design: NlDesign
    corners: tuple[Corner, ...]
    sizes: tuple[int, ...]
    vectors: int
    score_sigma: float
    settle_tol: float
    t_stop: float
    val_sizes: tuple[int, ...]
    val_vectors: int
    val_lengths: tuple[int, ...]
    val_random_vectors: int


def load_spec(path: str | Path | None = None, *, quick: bool = False) -> NlSpec:
    path, text, d = read_sweep_spec(path, SPEC_NAME)
    try:
        sw, va = d["sweep"], d.get("validate", {})
        q = d.get("quick", {}) if quick else {}
        spec = NlSpec(
            text=text, seed=int(d["seed"]), design=NlDesign.from_dict(d.get("design", {})),
            corners=read_corners(sw, q, path), sizes=tuple(int(x) for x in q.get("sizes", sw["sizes"])),
            vectors=int(q.get("vectors", sw["vectors"])), score_sigma=float(sw["score_sigma"]),
            settle_tol=float(sw["settle_tol"]), t_stop=float(sw["t_stop"]),
            val_sizes=tuple(int(x) for x in q.get("sizes", va.get("sizes", sw["sizes"]))),
            val_vectors=int(q.get("vectors", va.get("vectors", 6))),
            val_lengths=tuple(int(x) for x in va.get("lengths", [64, 128, 1024])),
            val_random_vectors=int(va.get("random_vectors", 200)))
    except KeyError as exc:
        raise ConfigError(f"sweep spec {path}: missing key {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"sweep spec {path}: {exc}") from None
    if any(n < 2 for n in spec.sizes + spec.val_sizes) or spec.vectors < 1:
        raise ConfigError(f"sweep spec {path}: sizes must be >= 2 and vectors >= 1")
    return spec


def score_vectors(rng: np.random.Generator, n_vec: int, n: int, sigma: float) -> np.ndarray:
    """Random score vectors (logits) drawn like attention scores: Gaussian with a few outliers."""
    x = rng.normal(0.0, sigma, (n_vec, n))
    hot = rng.random((n_vec, n)) < 0.02
    x[hot] += rng.uniform(2 * sigma, 4 * sigma, hot.sum())
    return x


def cal_gates(d: NlDesign, x: np.ndarray, gain: float = CAL_GAIN) -> np.ndarray:
    x = np.atleast_2d(x)
    v = d.v_top + gain * (x - x.max(axis=-1, keepdims=True))
    return np.where(v < d.v_top - d.v_range, 0.0, v)


def exp_sweep(d: NlDesign, corner: Corner, spice: SpiceSettings, window=None, step=None) -> dict:
    """The exponential unit over (source level, gate): channel current and drain leakage (A), each
    (sources, gates); the tail sink's current at each source level (A)."""
    res = get_backend(spice.backend).run(render_exp(d, corner, window, step), timeout=spice.timeout)
    n_s = int(round((d.s_hi - d.s_lo) / d.source_step)) + 1
    v = res["v(v-sweep)"]
    n_v = len(v) // n_s
    if n_v * n_s != len(v):
        raise ConfigError(f"exponential sweep at {corner.name}: {len(v)} points is not {n_s} source levels")
    # both positive: the drain current flows in, the channel current out of the source into VSRC
    i_d, i_s = res["i(vo)"].reshape(n_s, n_v), res["i(vsrc)"].reshape(n_s, n_v)
    return {"corner": corner.name, "v": v[:n_v], "s": d.s_lo + d.source_step * np.arange(n_s), "i_ch": i_s,
            "i_leak": i_d - i_s, "tail": res["i(vtm)"].reshape(n_s, n_v)[:, 0],
            "tail_sens": np.log(res["i(vtm)"] / res["i(vtm2)"]).reshape(n_s, n_v)[:, 0] / TAIL_PROBE_DVT}


def normaliser_dc(d: NlDesign, corner: Corner, gates, spice: SpiceSettings, mismatch: Mismatch | None = None) -> dict:
    g = np.atleast_2d(np.asarray(gates, dtype=float))
    res = get_backend(spice.backend).run(render_softmax(d, g, corner, mismatch=mismatch), timeout=spice.timeout)
    k, n = g.shape
    out = np.array([[res[f"i(vo{a}_{i})"][0] for i in range(n)] for a in range(k)])
    return {"gates": g, "out": out, "v_s": np.array([res[f"v(s{a})"][0] for a in range(k)])}


def normaliser_step(d: NlDesign, corner: Corner, g_a, g_b, spice: SpiceSettings, *, tol: float,
                    t_stop: float, t0: float = 2e-9) -> dict:
    """Settling time (s) of every output to ``tol``·I_tail after a step of the inputs, and the energy
    drawn from VDD and the readout node from the step until settled (J)."""
    g_a, g_b = np.atleast_2d(g_a), np.atleast_2d(g_b)
    res = get_backend(spice.backend).run(render_softmax(d, g_a, corner, step_to=g_b, t_stop=t0 + t_stop, t0=t0),
                                         timeout=spice.timeout)
    t = res["time"]
    n = g_a.shape[1]
    out = np.stack([res[f"i(vo0_{i})"] for i in range(n)])
    i_tail = d.m_tail * d.i_unit
    err = np.max(np.abs(out - out[:, -1:]), axis=0) / i_tail
    bad = np.nonzero((err > tol) & (t > t0))[0]
    if not len(bad) or bad[-1] >= len(t) - 2:
        raise ConfigError(f"normaliser at {corner.name} did not settle to {tol:g} of I_tail within {t_stop:g} s; "
                          "raise t_stop")
    t_set = float(t[bad[-1] + 1] - t0)
    p = -res["i(vdd)"] * d.vdd * corner.vdd_scale - res["i(vdr)"] * d.v_drain * corner.vdd_scale
    m = t >= t0
    power = float(np.trapezoid(p[m], t[m]) / (t[m][-1] - t[m][0]))
    return {"settle": t_set, "power": power, "energy_settle": power * t_set}


def _item(fn, args, kwargs=None):
    return fn(*args, **(kwargs or {}))


def calibrate(spec: NlSpec, *, spice: SpiceSettings = SpiceSettings(), n_jobs: int = 1, progress=None,
              spec_path: Path | None = None) -> Table:
    t0 = time.perf_counter()
    d = spec.design
    items, keys = [], []
    for c in spec.corners:
        items.append((exp_sweep, (d, c, spice)))
        keys.append(("exp", c.name, None))
        for n in spec.sizes:
            x = score_vectors(item_rng(spec.seed, "nl-cal", n), spec.vectors, n, spec.score_sigma)
            items.append((normaliser_dc, (d, c, cal_gates(d, x), spice)))
            keys.append(("dc", c.name, n))
        xs = score_vectors(item_rng(spec.seed, "nl-step"), 2, STEP_N, spec.score_sigma)
        g = cal_gates(d, xs)
        items.append((normaliser_step, (d, c, g[0], g[1], spice), {"tol": spec.settle_tol, "t_stop": spec.t_stop}))
        keys.append(("step", c.name, STEP_N))
    # every point runs even when one fails (the finished ones journaled for --resume); each point is needed
    # for the model, so any failure then stops the calibration, naming all of them
    res = run_parallel(_item, items, n_jobs=n_jobs, progress=progress(len(items)) if progress else None,
                       failures="record")
    bad = [f"{k[0]}{'' if k[2] is None else f' n={k[2]}'} at {k[1]}: {r.reason}" for k, r in zip(keys, res)
           if isinstance(r, Failed)]
    if bad:
        raise CalibrationError(f"nonlinear calibration: {len(bad)} point(s) failed — " + "; ".join(bad))
    by = dict(zip(keys, res))
    cn = [c.name for c in spec.corners]
    table = Table(schema="cosim.nonlinear", spec=spec.text, seed=spec.seed)
    table.put("corners/name", np.array(cn), "1")
    table.put("corners/temp_c", np.array([c.temp_c for c in spec.corners]), "degC")
    table.put("corners/vdd", np.array([d.vdd * c.vdd_scale for c in spec.corners]), "V")
    table.put("exp/v", by[("exp", cn[0], None)]["v"], "V")
    table.put("exp/s", by[("exp", cn[0], None)]["s"], "V")
    table.put("exp/i_ch", np.array([by[("exp", c, None)]["i_ch"] for c in cn]), "A")
    table.put("exp/i_leak", np.array([by[("exp", c, None)]["i_leak"] for c in cn]), "A")
    table.put("tail/current", np.array([by[("exp", c, None)]["tail"] for c in cn]), "A")
    table.put("tail/sens", np.array([by[("exp", c, None)]["tail_sens"] for c in cn]), "1/V")
    for n in spec.sizes:
        table.put(f"dc{n}/gates", np.array([by[("dc", c, n)]["gates"] for c in cn]), "V")
        table.put(f"dc{n}/out", np.array([by[("dc", c, n)]["out"] for c in cn]), "A")
        table.put(f"dc{n}/v_s", np.array([by[("dc", c, n)]["v_s"] for c in cn]), "V")
    table.put("step/settle", np.array([by[("step", c, STEP_N)]["settle"] for c in cn]), "s")
    table.put("step/power", np.array([by[("step", c, STEP_N)]["power"] for c in cn]), "W")
    table.put("step/n", np.array(STEP_N), "1")
    table.put("area/per_input", np.array(softmax_area(d, 2) - softmax_area(d, 1)), "m^2")
    table.put("area/fixed", np.array(2 * softmax_area(d, 1) - softmax_area(d, 2)), "m^2")
    table.attrs.update(design=d.to_dict(), sizes=list(spec.sizes), backend=spice.backend,
                       energy_boundary=__doc__.split("Energy boundary:")[1].strip().replace("\n", " "),
                       area_rule="transistors: (W + 6F)(L + 6F) per device, F = 32 nm; no routing factor")
    stamp_sources(table, spice.backend, template_sources(), spec_path, SPEC_NAME)
    table.attrs["elapsed_s"] = round(time.perf_counter() - t0, 2)
    return table


# --------------------------------------------------------------------------- the max search (phase 1)


def wta_codes(rng: np.random.Generator, n_vec: int, n: int, gaps) -> np.ndarray:
    """INT8 score vectors for the max search: spread like attention scores (σ 40 codes), the largest at
    a random level and position, the second ``gaps[k]`` codes below it (cycling through ``gaps``)."""
    c = np.clip(np.round(rng.normal(0, 40, (n_vec, n))), -128, 127).astype(int)
    for k in range(n_vec):
        top = int(rng.integers(60, 128))
        j = rng.permutation(n)[:2]
        c[k] = np.minimum(c[k], top - int(max(gaps)) - 1)
        c[k, j[0]], c[k, j[1]] = top, top - int(gaps[k % len(gaps)])
    return c


def wta_gates(d: NlDesign, codes) -> np.ndarray:
    """Phase 1: one DAC step per INT8 code over [v_top − v_range, v_top], no max subtracted."""
    return d.v_top - (127 - np.asarray(codes, dtype=float)) * d.v_range / 255


def wta_run(d: NlDesign, corner: Corner, codes_a, codes_b, spice: SpiceSettings, mismatch: Mismatch | None = None,
            *, t_read: float, t0: float = 300e-9) -> dict:
    """Instances hold ``codes_a`` from power-up to ``t0`` and then step to ``codes_b``: the winner flags at
    ``t0`` (vector A) and ``t_read`` after the step (vector B), the time from the step to each B flag's
    last change, and the supply energy over the read window."""
    a, b = np.atleast_2d(codes_a), np.atleast_2d(codes_b)
    res = get_backend(spice.backend).run(
        render_wta(d, wta_gates(d, a), wta_gates(d, b), corner, mismatch=mismatch, t0=t0, t_stop=t0 + t_read),
        timeout=spice.timeout)
    t = res["time"]
    k_n, n = a.shape
    half = d.vdd * corner.vdd_scale / 2
    ja = max(int(np.searchsorted(t, t0)) - 1, 0)
    fa, fb, settle = np.zeros((k_n, n), bool), np.zeros((k_n, n), bool), np.zeros(k_n)
    after = t > t0
    for k in range(k_n):
        F = np.array([res[f"v(f{k}_{i})"] for i in range(n)]) > half
        fa[k], fb[k] = F[:, ja], F[:, -1]
        ch = np.nonzero(np.any(F[:, 1:] != F[:, :-1], axis=0) & after[1:])[0]
        settle[k] = t[ch[-1] + 1] - t0 if len(ch) else 0.0
    p = -res["i(vdd)"] * d.vdd * corner.vdd_scale
    energy = float(np.trapezoid(p[after], t[after])) / k_n
    return {"corner": corner.name, "codes_a": a, "codes_b": b, "flags_a": fa, "flags_b": fb, "settle": settle,
            "energy": energy, "t_read": t_read}
