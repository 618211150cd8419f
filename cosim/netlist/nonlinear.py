"""Nonlinear units of the analog softmax: the subthreshold exponential and the common-source normaliser.

The normaliser (``netlists/nl_softmax.cir.j2``) is N exponential branches — nMOS in weak inversion,
gate = the input voltage — sharing one source node pulled down by a tail current I_tail.  In weak
inversion (EKV), ``I_i = I_spec·exp((V_i − V_T0)/(n·U_T) − V_S/U_T)``, and KCL at the source node
makes ``Σ I_i = I_tail``, so ``I_i / I_tail = exp(V_i/(n·U_T)) / Σ_j exp(V_j/(n·U_T))`` — a softmax of
the inputs at the temperature ``n·U_T = n·kT/q`` per volt.  The exponential unit
(``netlists/nl_exp.cir.j2``) is one branch with its source held at the normaliser's typical level,
swept in DC: its transfer is the calibrated exponential.

Inputs arrive as voltages from a score DAC that maps a score difference Δx = x_i − max(x) (logits) to
``V_i = v_top + gain·Δx``; ``gain = n·U_T`` makes the circuit compute softmax(x) exactly in weak
inversion.  Scores whose ``V_i`` would fall below ``v_top − v_range`` are clipped to it (and counted).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from ..resources import netlists_dir
from .adc import Corner, Device, area_estimate
from .crossbar import _render, fmt, params_from_dict

EXP_TEMPLATE = "nl_exp.cir.j2"
SOFTMAX_TEMPLATE = "nl_softmax.cir.j2"
NMOS_LIB = "models/ptm32_hp_nmos.lib"


@dataclass(frozen=True)
class NlDesign:
    """Sizes and levels of the analog softmax (SI units)."""

    vdd: float = 0.9
    """Supply, V (the PTM 32 nm HP card's nominal Vdd); the reference current is drawn from it."""
    v_drain: float = 0.5
    """Readout node the branch drains are held at, V (the current-mode ADC's input clamp): low enough
    that the drains' gate-induced leakage stays ~10 pA, high enough for V_DS > 4 U_T at every source level."""
    v_top: float = 0.38
    """Gate voltage of the largest score, V."""
    v_range: float = 0.3
    """Input span below v_top that the DAC drives, V; a score lower than that turns its branch off (gate
    at 0 V: its true weight is below exp(−v_range/(n·kT/q)) ≈ 4e-4 of the largest) and is counted."""
    s_lo: float = 0.0
    s_hi: float = 0.36
    """Source levels of the exponential unit's sweep, V: the normaliser's source node sits about 0.3 V
    below the largest input with one winner, and rises to ~0.35 V with 1024 equal inputs; the model
    interpolates between the levels."""
    source_step: float = 0.01
    i_unit: float = 2.5e-9
    """Current of one tail device, A (the reference feeds m_tail·i_unit into m_tail diode devices)."""
    m_tail: int = 40
    """Tail devices: I_tail = m_tail·i_unit = 0.1 µA whatever the number of inputs, so that even a single
    winner stays in weak inversion (below ~0.1·I_spec of a W/L = 20 branch); the drains' leakage
    floor (~0.1 nA) is then 1/1000 of full scale, under half an 8-bit output LSB."""
    w_exp: float = 2e-6
    """Exponential / branch device width, m."""
    l_exp: float = 100e-9
    """Branch device length, m (3× the drawn minimum, for matching and lower DIBL)."""
    w_tail: float = 2e-6
    l_tail: float = 300e-9
    """Tail mirror device (MTR, MT) sizes, m: long for output resistance."""
    sweep_step: float = 1e-3
    """Gate step of the exponential unit's DC sweep, V."""

    def __post_init__(self):
        if not 0 <= self.s_lo < self.s_hi < self.v_top or self.source_step <= 0:
            raise ConfigError("nonlinear design: need 0 <= s_lo < s_hi < v_top and source_step > 0")
        if not 0 < self.v_range < self.v_top < self.v_drain <= self.vdd:
            raise ConfigError("nonlinear design: need 0 < v_range < v_top < v_drain <= vdd")
        if self.i_unit <= 0 or self.sweep_step <= 0:
            raise ConfigError("nonlinear design: i_unit and sweep_step must be positive")

    @classmethod
    def from_dict(cls, d: dict) -> "NlDesign":
        return params_from_dict(cls, d, "nonlinear design field")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def source_window(self) -> tuple[float, float]:
        return (self.s_lo, self.s_hi)

    def sweep_window(self) -> tuple[float, float]:
        """Gate range (V) of the exponential unit's sweep: the normaliser's gates
        see 0 (off) and the DAC's range [v_top − v_range, v_top]."""
        return (0.0, self.v_top + 0.01)


def softmax_devices(d: NlDesign, n: int) -> list[Device]:
    """The devices of one n-input normaliser (for the area estimate)."""
    return [Device("MTR", "ptm32n", "nb", "nb", "0", "0", d.w_tail, d.l_tail, m=d.m_tail, role="tail reference diodes"),
            Device("MT", "ptm32n", "s", "nb", "0", "0", d.w_tail, d.l_tail, m=d.m_tail, role="tail sink"),
            Device("M", "ptm32n", "d", "g", "s", "0", d.w_exp, d.l_exp, m=n, role="exponential branches")]


def softmax_area(d: NlDesign, n: int) -> float:
    """Layout area (m²) of an n-input normaliser by the project's device rule (cosim.netlist.adc)."""
    return area_estimate(softmax_devices(d, n))


def _lib() -> str:
    p = netlists_dir() / NMOS_LIB
    if not p.is_file():
        raise ConfigError(f"model card {p} not found")
    return str(p)


def template_sources() -> list[str]:
    return [EXP_TEMPLATE, SOFTMAX_TEMPLATE, NMOS_LIB]


def render_exp(d: NlDesign, corner: Corner, window: tuple[float, float] | None = None,
               step: float | None = None) -> str:
    """The exponential unit's and the tail sink's DC sweep at one corner (gate x source level)."""
    lo, hi = window or d.sweep_window()
    s_lo, s_hi = d.source_window()
    return _render(EXP_TEMPLATE, d=d, v_lo=lo, v_hi=hi, v_step=step or d.sweep_step, s_lo=s_lo, s_hi=s_hi,
                   s_step=d.source_step, n_tail=d.m_tail, v_drain=d.v_drain * corner.vdd_scale,
                   vdd=d.vdd * corner.vdd_scale, corner_temp=corner.temp_c, nmos_lib=_lib())


def render_softmax(d: NlDesign, gates, corner: Corner, *, step_to=None, t_step: float = 1e-10,
                   t_stop: float = 200e-9, t_max: float = 1e-9, t0: float = 2e-9) -> str:
    """``gates[k][i]`` (V): instance k's input voltages.  Without ``step_to``: an operating point of
    every instance.  With ``step_to`` (same shape): a transient in which the inputs step from ``gates``
    to ``step_to`` at ``t0`` (over 100 ps)."""
    g = np.atleast_2d(np.asarray(gates, dtype=float))
    if g.ndim != 2 or g.shape[1] < 2:
        raise ConfigError("softmax netlist: gates must be (instances, inputs) with >= 2 inputs")
    if np.any(g > d.v_drain) or np.any(g < 0):  # 0 V: a branch turned off
        raise ConfigError(f"softmax netlist: gate voltages must lie in [0, {d.v_drain}] V")
    if step_to is None:
        text = [[f"DC {fmt(v)}" for v in row] for row in g]
    else:
        b = np.asarray(step_to, dtype=float).reshape(g.shape)
        text = [[f"PWL(0 {fmt(v)} {fmt(t0)} {fmt(v)} {fmt(t0 + 1e-10)} {fmt(w)})" for v, w in zip(r, s)]
                for r, s in zip(g, b)]
    return _render(SOFTMAX_TEMPLATE, d=d, n_inst=g.shape[0], n=g.shape[1], gate=text, tran=step_to is not None,
                   v_drain=d.v_drain * corner.vdd_scale, vdd=d.vdd * corner.vdd_scale, corner_temp=corner.temp_c,
                   t_step=t_step, t_stop=t_stop, t_max=t_max, nmos_lib=_lib())
