"""Behavioral models of the nonlinear units: the calibrated exponential, the analog softmax built on it,
and exact softmax / LayerNorm / GELU references (the digital function unit's per-element costs are
:func:`cosim.system.costs.element_energy`, Horowitz arithmetic).

Analog softmax of scores x (logits) over the last axis:

1. **max and shift (digital)**: Δx = x − max(x) (INT8 compares; the normaliser itself is insensitive
   to a common shift, but the DAC range is not);
2. **score DAC** (``dac_bits`` over v_range): ``V_i = v_top + gain·Δx``; a score below ``v_top − v_range`` turns its branch off
   (0 V; counted as clipped);
3. **normaliser**: the branch currents ``E(V_i, V_S)`` with E the calibrated exponential unit (gate x
   source level) and V_S the common source level that satisfies KCL, ``Σ E(V_i, V_S) = I_tail(V_S)``
   with the calibrated tail sink; each output also carries its drain's leakage;
4. **readout**: ``p_i = I_i / I_tail`` (nominal I_tail = m_tail·i_unit) quantised by the output ADC
   (``out_bits``).

In weak inversion E(V) ∝ exp(V/(n·U_T)) with U_T = kT/q, so the circuit computes softmax(Δx·gain /
(n·U_T)): the softmax temperature is ``n·kT/(q·gain)``.  A gain fixed at the nominal corner makes
the softmax about 19 % softer at 85 °C; ``gain_mode="ptat"`` scales the DAC gain with absolute
temperature (a PTAT reference, the standard remedy) — both are modelled, neither is fitted away.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from ..errors import ModelRangeError, UnknownNameError
from ..store import Table, read_table

K_B, Q_E = 1.380649e-23, 1.602176634e-19
#: Channel currents below this (A) are outside the exponential unit's calibrated range (the source
#: and drain junction leakages are ~10 pA at the sweep's low end).
I_FLOOR = 1e-10


def thermal_voltage(temp_c: float) -> float:
    return K_B * (temp_c + 273.15) / Q_E


@dataclass
class ExpUnit:
    """The calibrated exponential unit at one corner: channel current against gate voltage and source
    level, bilinear in (source, gate) on ln I of the DC sweep (1 mV x 10 mV), and the tail sink's
    current per input against the source level."""

    corner: str
    temp_c: float
    v: np.ndarray
    s: np.ndarray
    i_ch: np.ndarray
    """(sources, gates), A."""
    i_leak: np.ndarray
    tail: np.ndarray
    """Tail current at each source level, A."""
    tail_sens: np.ndarray | None = None
    """−d ln I_tail / d ΔV_T(MT) at each source level, 1/V (the tail mirror's Monte Carlo sensitivity)."""

    def __post_init__(self):
        self._ln = np.log(np.maximum(self.i_ch, 1e-300))
        self._dv = float(self.v[1] - self.v[0])
        self._ds = float(self.s[1] - self.s[0])

    @property
    def gate_range(self) -> tuple[float, float]:
        return float(self.v[0]), float(self.v[-1])

    @property
    def source_range(self) -> tuple[float, float]:
        return float(self.s[0]), float(self.s[-1])

    def _bilinear(self, tab, v, s):
        fv = np.clip((v - self.v[0]) / self._dv, 0, len(self.v) - 1 - 1e-9)
        fs = np.clip((s - self.s[0]) / self._ds, 0, len(self.s) - 1 - 1e-9)
        iv, js = fv.astype(int), fs.astype(int)
        wv, ws = fv - iv, fs - js
        return ((1 - ws) * ((1 - wv) * tab[js, iv] + wv * tab[js, iv + 1])
                + ws * ((1 - wv) * tab[js + 1, iv] + wv * tab[js + 1, iv + 1]))

    def check(self, v, s) -> None:
        (vlo, vhi), (slo, shi) = self.gate_range, self.source_range
        v, s = np.asarray(v), np.asarray(s)
        if np.any(v < vlo - 1e-12) or np.any(v > vhi + 1e-12):
            raise ModelRangeError(f"exponential unit at {self.corner}: gate outside the calibrated "
                                  f"{vlo:.3f}..{vhi:.3f} V")
        if np.any(s < slo - 1e-12) or np.any(s > shi + 1e-12):
            raise ModelRangeError(f"exponential unit at {self.corner}: source level outside the calibrated "
                                  f"{slo:.3f}..{shi:.3f} V")

    def current(self, v, s) -> np.ndarray:
        """Channel current (A) at gate(s) ``v`` and source level(s) ``s`` (broadcast).  Outside the
        sweep: a ModelRangeError — never extrapolated; below I_FLOOR: 0."""
        v, s = np.broadcast_arrays(np.asarray(v, dtype=float), np.asarray(s, dtype=float))
        self.check(v, s)
        ln = self._bilinear(self._ln, v, s)
        return np.where(ln < math.log(I_FLOOR), 0.0, np.exp(ln))

    def leak(self, v, s) -> np.ndarray:
        v, s = np.broadcast_arrays(np.asarray(v, dtype=float), np.asarray(s, dtype=float))
        return self._bilinear(self.i_leak, v, s)

    def tail_current(self, s, dvt_tail=0.0) -> np.ndarray:
        """Tail current (A) at source level(s) ``s``; ``dvt_tail`` = ΔV_T(MT) − ΔV_T(MTR) (V) of a Monte
        Carlo instance scales it by exp(−sens·ΔV_T) with the calibrated sensitivity."""
        i = np.interp(s, self.s, self.tail)
        if np.any(np.asarray(dvt_tail) != 0):
            if self.tail_sens is None:
                raise ModelRangeError("this nonlinear table has no tail-mismatch sensitivity; regenerate it with "
                                      "'cosim calibrate nonlinear'")
            i = i * np.exp(-np.interp(s, self.s, self.tail_sens) * dvt_tail)
        return i

    def slope(self, s: float | None = None, i_lo: float = 1e-10, i_hi: float = 1e-7) -> float:
        """Fitted n·U_T (V per e-fold) over the weak-inversion currents [i_lo, i_hi] at source level ``s``
        (default: mid-range)."""
        j = int(np.argmin(np.abs(self.s - (np.mean(self.source_range) if s is None else s))))
        m = (self.i_ch[j] >= i_lo) & (self.i_ch[j] <= i_hi)
        return float(1.0 / np.polyfit(self.v[m], self._ln[j, m], 1)[0])

    def slope_factor(self) -> float:
        return self.slope() / thermal_voltage(self.temp_c)

    def decades(self, v_lo: float, v_hi: float) -> float:
        """Decades of channel current between gates v_lo and v_hi at the mid source level."""
        sm = float(np.mean(self.source_range))
        lo, hi = self.current([v_lo, v_hi], sm)
        return float(np.log10(hi / max(lo, I_FLOOR)))


def solve_source(unit: ExpUnit, gates: np.ndarray, iters: int = 50, dvt_tail=0.0) -> np.ndarray:
    """The source level (V) of every vector (rows of ``gates``, the branches' effective gates): KCL at the
    common source, Σ_i E(gates_i, s) = tail(s), by bisection (the left side falls with s, the right
    rises).  ``dvt_tail``: the tail mirror's offset of each row (V; see ExpUnit.tail_current)."""
    g = np.atleast_2d(gates)
    lo = np.full(len(g), unit.source_range[0])
    hi = np.full(len(g), unit.source_range[1])
    dt = np.broadcast_to(np.asarray(dvt_tail, dtype=float), (len(g),))

    def f(s):
        return unit.current(g, s[:, None]).sum(axis=1) - unit.tail_current(s, dt)

    if np.any(f(lo) < 0) or np.any(f(hi) > 0):
        raise ModelRangeError(f"normaliser at {unit.corner}: the source level leaves the calibrated "
                              f"{unit.source_range[0]:.3f}..{unit.source_range[1]:.3f} V")
    for _ in range(iters):
        s = 0.5 * (lo + hi)
        pos = f(s) > 0
        lo, hi = np.where(pos, s, lo), np.where(pos, hi, s)
    return 0.5 * (lo + hi)


@dataclass
class SoftmaxResult:
    p: np.ndarray
    """Output probabilities (quantised when the readout has bits)."""
    currents: np.ndarray
    """Branch output currents, A."""
    clipped: int
    """Inputs clipped at the bottom of the DAC range."""
    total: int


@dataclass
class AnalogSoftmax:
    """The calibrated analog softmax at one corner."""

    unit: ExpUnit
    design: dict
    gain_nominal: float
    """DAC volts per logit at the nominal corner: the nominal exponential's n·U_T."""
    temp_nominal_c: float
    settle_s: float
    power_w: float
    step_n: int
    area_per_input: float
    area_fixed: float
    gain_mode: str = "fixed"
    out_bits: int | None = 8
    dac_bits: int | None = 8
    """Score-DAC resolution over [v_top − v_range, v_top] (None: ideal)."""

    def gain(self) -> float:
        if self.gain_mode == "fixed":
            return self.gain_nominal
        if self.gain_mode == "ptat":
            return self.gain_nominal * (self.unit.temp_c + 273.15) / (self.temp_nominal_c + 273.15)
        raise UnknownNameError("softmax DAC gain mode", self.gain_mode, ["fixed", "ptat"])

    @property
    def temperature(self) -> float:
        """Effective softmax temperature: n·U_T at this corner over the DAC gain (1 = exact)."""
        return self.unit.slope() / self.gain()

    @property
    def dac_step(self) -> float:
        """Score-DAC step, V (the trim resolution)."""
        return self.design["v_range"] / (2**(self.dac_bits or 8) - 1)

    def gates(self, x) -> tuple[np.ndarray, int]:
        x = np.asarray(x, dtype=float)
        d = self.design
        with np.errstate(over="ignore"):  # a score ~1e308 below the maximum is simply off the range
            dx = x - x.max(axis=-1, keepdims=True)
        dx = np.maximum(dx, -2 * d["v_range"] / self.gain())  # anything lower is clipped the same way
        v = d["v_top"] + self.gain() * dx
        low = v < d["v_top"] - d["v_range"]
        if self.dac_bits:
            step = d["v_range"] / (2**self.dac_bits - 1)
            v = d["v_top"] - np.round((d["v_top"] - v) / step) * step
        return np.where(low, 0.0, v), int(np.sum(low))

    def currents(self, gates, dvt=None, dvt_tail=0.0) -> np.ndarray:
        """Output currents (A) of the rows of ``gates`` (V).  A Monte Carlo instance: ``dvt`` the branches'
        threshold shifts (V, broadcast against the gates: a branch sees gate − ΔV_T; a branch turned off
        stays off), ``dvt_tail`` its tail mirror's offset per row (V)."""
        g = np.atleast_2d(gates)
        if dvt is not None:
            g = np.where(g > 0, g - np.asarray(dvt, dtype=float), 0.0)
        s = solve_source(self.unit, g, dvt_tail=dvt_tail)[:, None]
        return self.unit.current(g, s) + self.unit.leak(g, s)

    def __call__(self, x, dvt=None, dvt_tail=0.0) -> SoftmaxResult:
        """Softmax of the last axis of ``x`` (logits); ``dvt`` / ``dvt_tail``: a Monte Carlo instance's
        branch and tail-mirror threshold shifts (see :meth:`currents`; ``dvt`` broadcast over the rows)."""
        x = np.asarray(x, dtype=float)
        shape = x.shape
        if x.ndim == 0 or x.size == 0:
            raise ModelRangeError("analog softmax: scores must be a non-empty array (rows on the last axis)")
        if not np.all(np.isfinite(x)):
            raise ModelRangeError(f"analog softmax: {int(np.sum(~np.isfinite(x)))} score(s) are NaN or infinite")
        g, clipped = self.gates(x.reshape(-1, shape[-1]))
        if dvt is not None:
            dvt = np.asarray(dvt, dtype=float)
            dvt = dvt.reshape(-1, shape[-1]) if dvt.shape == shape else dvt
        i = self.currents(g, dvt, dvt_tail)
        p = i / (self.design["m_tail"] * self.design["i_unit"])
        if self.out_bits:
            q = 2**self.out_bits - 1
            p = np.clip(np.round(p * q), 0, q) / q
        return SoftmaxResult(p.reshape(shape), i.reshape(shape), clipped, x.size)

    # ---- costs (conversions included)
    def energy(self, n: int, *, dac_j: float, adc_j: float, max_j: float, n_adc: int, t_adc: float) -> float:
        """Energy (J) of one softmax of length n: the max search (n INT8 compares of ``max_j`` each), n
        score-DAC conversions, the normaliser's power while it settles and while the outputs are
        converted (``n_adc`` ADCs, ``ceil(n / n_adc)`` conversions each), n ADC conversions."""
        return n * (max_j + dac_j + adc_j) + self.power(n) * self.delay(n, n_adc=n_adc, t_adc=t_adc)

    def power(self, n: int) -> float:
        """Static power (W): the reference and tail currents do not depend on the number of inputs."""
        return self.power_w

    def delay(self, n: int, *, n_adc: int, t_adc: float) -> float:
        """Settling plus the output conversions.  Settling is the calibrated 128-input step scaled by
        n / 128 (the source node's capacitance grows with n, the tail current does not) — a stated
        scaling rule, measured only at 128."""
        return self.settle_s * n / self.step_n + math.ceil(n / n_adc) * t_adc

    def area(self, n: int) -> float:
        return self.area_fixed + n * self.area_per_input


def unit_mismatch(sm: AnalogSoftmax, rng: np.random.Generator, n: int, *, trimmed: bool = False
                  ) -> tuple[np.ndarray, float]:
    """One Monte Carlo instance of an n-input unit: the branches' ΔV_T (V) and the tail mirror's offset
    (V), drawn from the Pelgrom σ of the calibrated design (cosim.netlist.nonlinear.draw_mismatch).
    ``trimmed``: each branch's shift reduced to its residual after a per-branch offset code at the score
    DAC's input (within half a DAC step); the tail mirror is not trimmed."""
    from ..netlist.nonlinear import NlDesign, draw_mismatch

    mm = draw_mismatch(NlDesign.from_dict(sm.design), rng, 1, n)
    dvt = mm.branch[0]
    if trimmed:
        step = sm.dac_step
        dvt = dvt - step * np.round(dvt / step)
    return dvt, float(mm.tail[0])


# --------------------------------------------------------------------------- exact references
# (the digital function unit's costs live with the system simulator: cosim.system.costs.element_energy)


def softmax_exact(x, axis: int = -1) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def layernorm_exact(x, eps: float = 1e-12) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    m = x.mean(-1, keepdims=True)
    return (x - m) / np.sqrt(x.var(-1, keepdims=True) + eps)


def gelu_exact(x) -> np.ndarray:
    from scipy.special import erf

    x = np.asarray(x, dtype=float)
    return 0.5 * x * (1 + erf(x / math.sqrt(2)))


# --------------------------------------------------------------------------- loading


def default_table_path() -> Path:
    from ..resources import calibration_dir

    return calibration_dir() / "nonlinear.h5"


@cache
def _table(path: str) -> Table:
    return read_table(path, "cosim.nonlinear")


def load_exp(corner: str = "nominal", path: str | Path | None = None) -> ExpUnit:
    t = _table(str(Path(path) if path else default_table_path()))
    names = [str(c) for c in t["corners/name"]]
    if corner not in names:
        raise UnknownNameError("nonlinear corner", corner, names)
    k = names.index(corner)
    sens = t["tail/sens"][k] if "tail/sens" in t else None
    return ExpUnit(corner, float(t["corners/temp_c"][k]), t["exp/v"], t["exp/s"], t["exp/i_ch"][k],
                   t["exp/i_leak"][k], t["tail/current"][k], sens)


def load_softmax(corner: str = "nominal", path: str | Path | None = None, *, gain_mode: str = "fixed",
                 out_bits: int | None = 8) -> AnalogSoftmax:
    p = str(Path(path) if path else default_table_path())
    t = _table(p)
    names = [str(c) for c in t["corners/name"]]
    unit = load_exp(corner, p)
    k = names.index(corner)
    nom = load_exp("nominal" if "nominal" in names else names[0], p)
    sm = AnalogSoftmax(unit, dict(t.attrs["design"]), nom.slope(), nom.temp_c,
                       float(t["step/settle"][k]), float(t["step/power"][k]), int(t["step/n"]),
                       float(t["area/per_input"]), float(t["area/fixed"]), gain_mode, out_bits)
    sm.gain()  # an unknown gain mode fails here
    return sm
