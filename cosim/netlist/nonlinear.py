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
WTA_TEMPLATE = "nl_wta.cir.j2"
NMOS_LIB = "models/ptm32_hp_nmos.lib"
PMOS_LIB = "models/ptm32_hp_pmos.lib"
#: Threshold shift (V) of the probe copy of the tail sink in the exponential sweep.
TAIL_PROBE_DVT = 1e-3


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
    avt_n: float = 1.15e-9
    """nMOS Pelgrom coefficient A_VT, V·m (1.15 mV·µm, as for the ADC: the 1 mV·µm per nm of oxide rule of
    Pelgrom, Tuinhout & Vertregt, IEDM 1998, at the card's toxe = 1.15 nm)."""
    v_cas: float = 0.7
    """Gate of the cascodes between the branches and the winner-take-all cells (phase-1 max search), V."""
    i_wta: float = 20e-9
    """Common current of the winner-take-all, A (2 nA left the common node too slow to follow a step of
    the inputs: ~0.3 mV/ns on the current sources' gates)."""
    wta_boost: float = 10.0
    """Tail current of the max search over the softmax's (the reference scaled up in phase 1): the
    order of the branch currents is all the max search needs (weak inversion is not), and the WTA
    nodes slew with that current."""
    w_cas: float = 1e-6
    l_cas: float = 100e-9
    w_wta1: float = 1e-6
    l_wta1: float = 100e-9
    """WTA current source MA (pMOS, gate = common node), m (4 µm x 300 nm matched better but loaded the
    common node with 0.6 pF at 16 inputs)."""
    w_wta2: float = 4e-6
    l_wta2: float = 100e-9
    """WTA competitor MB (pMOS follower onto the common node), m."""
    w_inv_n: float = 0.2e-6
    w_inv_p: float = 0.4e-6
    l_min: float = 32e-9
    """Winner-flag inverters, m."""
    avt_p: float = 1.2e-9
    """pMOS Pelgrom coefficient, V·m (the same rule at the pMOS toxe = 1.2 nm)."""
    gate_margin: float = 0.03
    """The exponential unit's sweep reaches this far above v_top, V: a branch whose threshold is shifted
    down by mismatch (up to ~10 σ) sees an effective gate above v_top."""

    def __post_init__(self):
        if self.avt_n < 0 or self.gate_margin <= 0:
            raise ConfigError("nonlinear design: avt_n must be >= 0 and gate_margin > 0")
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
        return (0.0, self.v_top + self.gate_margin)

    def sigma_branch(self) -> float:
        """σ(ΔV_T) of one exponential branch, V (Pelgrom: A_VT / sqrt(W·L))."""
        return self.avt_n / (self.w_exp * self.l_exp) ** 0.5

    def sigma_tail(self) -> float:
        """σ(ΔV_T) of one tail device (MT or MTR, m_tail in parallel), V."""
        return self.avt_n / (self.w_tail * self.l_tail * self.m_tail) ** 0.5


# The max search (phase 1: netlists/nl_wta.cir.j2) is a measured prototype, not a shipped unit: the
# softmax's max stays a digital INT8 compare (benchmarks/wta.py prints why: energy, delay and flag errors
# side by side with the digital max).


@dataclass(frozen=True)
class Mismatch:
    """Threshold shifts (V) of Monte Carlo normaliser instances: ``branch[k, i]`` of instance k's branch i,
    ``mt[k]`` / ``mtr[k]`` of its tail sink and tail reference diode."""

    branch: np.ndarray
    mt: np.ndarray
    mtr: np.ndarray
    cas: np.ndarray | None = None
    ma: np.ndarray | None = None
    mb: np.ndarray | None = None
    """The max search's cascodes and WTA devices (draw_mismatch(..., wta=True))."""

    @property
    def tail(self) -> np.ndarray:
        """ΔV_T(MT) − ΔV_T(MTR): the tail mirror's offset, V."""
        return self.mt - self.mtr

def draw_mismatch(d: NlDesign, rng: np.random.Generator, n_inst: int, n: int, *, wta: bool = False) -> Mismatch:
    """Independent Gaussian ΔV_T per branch and per tail device (σ from Pelgrom), in a fixed order; with
    ``wta`` also per cascode and WTA device (drawn after the others, so the branch draws are the same)."""
    b = rng.standard_normal((n_inst, n)) * d.sigma_branch()
    t = rng.standard_normal((n_inst, 2)) * d.sigma_tail()
    if not wta:
        return Mismatch(b, t[:, 0], t[:, 1])
    cas = rng.standard_normal((n_inst, n)) * d.avt_n / (d.w_cas * d.l_cas) ** 0.5
    ma = rng.standard_normal((n_inst, n)) * d.avt_p / (d.w_wta1 * d.l_wta1) ** 0.5
    mb = rng.standard_normal((n_inst, n)) * d.avt_p / (d.w_wta2 * d.l_wta2) ** 0.5
    return Mismatch(b, t[:, 0], t[:, 1], cas, ma, mb)


def softmax_devices(d: NlDesign, n: int) -> list[Device]:
    """The devices of one n-input normaliser (for the area estimate)."""
    return [Device("MTR", "ptm32n", "nb", "nb", "0", "0", d.w_tail, d.l_tail, m=d.m_tail, role="tail reference diodes"),
            Device("MT", "ptm32n", "s", "nb", "0", "0", d.w_tail, d.l_tail, m=d.m_tail, role="tail sink"),
            Device("M", "ptm32n", "d", "g", "s", "0", d.w_exp, d.l_exp, m=n, role="exponential branches")]


def softmax_area(d: NlDesign, n: int) -> float:
    """Layout area (m²) of an n-input normaliser by the project's device rule (cosim.netlist.adc)."""
    return area_estimate(softmax_devices(d, n))


def _lib(rel: str = NMOS_LIB) -> str:
    p = netlists_dir() / rel
    if not p.is_file():
        raise ConfigError(f"model card {p} not found")
    return str(p)


def template_sources() -> list[str]:
    return [EXP_TEMPLATE, SOFTMAX_TEMPLATE, WTA_TEMPLATE, NMOS_LIB, PMOS_LIB]


def render_exp(d: NlDesign, corner: Corner, window: tuple[float, float] | None = None,
               step: float | None = None) -> str:
    """The exponential unit's and the tail sink's DC sweep at one corner (gate x source level)."""
    lo, hi = window or d.sweep_window()
    s_lo, s_hi = d.source_window()
    return _render(EXP_TEMPLATE, d=d, v_lo=lo, v_hi=hi, v_step=step or d.sweep_step, s_lo=s_lo, s_hi=s_hi,
                   s_step=d.source_step, n_tail=d.m_tail, dvt_probe=TAIL_PROBE_DVT, v_drain=d.v_drain * corner.vdd_scale,
                   vdd=d.vdd * corner.vdd_scale, corner_temp=corner.temp_c, nmos_lib=_lib())


def wta_devices(d: NlDesign, n: int) -> list[Device]:
    """The max search's own devices for n inputs (cascodes, WTA cells, flag inverters) — the branches and
    tail are the normaliser's."""
    return [Device("MC", "ptm32n", "w", "vcas", "d", "0", d.w_cas, d.l_cas, m=n, role="cascodes"),
            Device("MA", "ptm32p", "w", "c", "vdd", "vdd", d.w_wta1, d.l_wta1, m=n, role="WTA current sources"),
            Device("MB", "ptm32p", "0", "w", "c", "vdd", d.w_wta2, d.l_wta2, m=n, role="WTA competitors"),
            Device("MIP", "ptm32p", "f", "w", "vdd", "vdd", d.w_inv_p, d.l_min, m=n, role="flag inverters"),
            Device("MIN", "ptm32n", "f", "w", "0", "0", d.w_inv_n, d.l_min, m=n, role="flag inverters")]


def wta_area(d: NlDesign, n: int) -> float:
    return area_estimate(wta_devices(d, n))


def render_wta(d: NlDesign, gates_a, gates_b, corner: Corner, *, mismatch: Mismatch | None = None,
               t0: float = 1e-6, t_stop: float = 2e-6, t_ramp: float = 2e-9, t_step: float = 1e-10,
               t_max: float = 2e-9) -> str:
    """The phase-1 max search: instance k's normaliser gates hold ``gates_a[k]`` (V) from power-up until
    ``t0``, then step to ``gates_b[k]``; its branches feed the winner-take-all."""
    a = np.atleast_2d(np.asarray(gates_a, dtype=float))
    b = np.asarray(gates_b, dtype=float).reshape(a.shape)
    if a.shape[1] < 2 or np.any(a < 0) or np.any(b < 0) or np.any(a > d.v_drain) or np.any(b > d.v_drain):
        raise ConfigError(f"WTA netlist: gates must be (instances, >= 2 inputs) within [0, {d.v_drain}] V")
    if mismatch is not None and (mismatch.ma is None or np.shape(mismatch.branch) != a.shape):
        raise ConfigError("WTA netlist: the mismatch must be drawn with wta=True for the gates' shape")
    text = [[f"PWL(0 {fmt(v)} {fmt(t0)} {fmt(v)} {fmt(t0 + 1e-10)} {fmt(w)})" for v, w in zip(r, s)]
            for r, s in zip(a, b)]
    return _render(WTA_TEMPLATE, d=d, n_inst=a.shape[0], n=a.shape[1], gate=text, dv=mismatch,
                   vdd=d.vdd * corner.vdd_scale, vdd_scale=corner.vdd_scale, corner_temp=corner.temp_c,
                   t0=t0, t_stop=t_stop, t_ramp=t_ramp, t_step=t_step, t_max=t_max,
                   nmos_lib=_lib(), pmos_lib=_lib(PMOS_LIB))


def render_softmax(d: NlDesign, gates, corner: Corner, *, step_to=None, t_step: float = 1e-10,
                   t_stop: float = 200e-9, t_max: float = 1e-9, t0: float = 2e-9,
                   mismatch: Mismatch | None = None) -> str:
    """``gates[k][i]`` (V): instance k's input voltages.  Without ``step_to``: an operating point of
    every instance.  With ``step_to`` (same shape): a transient in which the inputs step from ``gates``
    to ``step_to`` at ``t0`` (over 100 ps).  ``mismatch``: each instance's threshold shifts."""
    g = np.atleast_2d(np.asarray(gates, dtype=float))
    if g.ndim != 2 or g.shape[1] < 2:
        raise ConfigError("softmax netlist: gates must be (instances, inputs) with >= 2 inputs")
    if np.any(g > d.v_drain) or np.any(g < 0):  # 0 V: a branch turned off
        raise ConfigError(f"softmax netlist: gate voltages must lie in [0, {d.v_drain}] V")
    if mismatch is not None and (np.shape(mismatch.branch) != g.shape or len(mismatch.mt) != g.shape[0]
                                 or len(mismatch.mtr) != g.shape[0]):
        raise ConfigError(f"softmax netlist: mismatch for {np.shape(mismatch.branch)} branches, gates are {g.shape}")
    if step_to is None:
        text = [[f"DC {fmt(v)}" for v in row] for row in g]
    else:
        b = np.asarray(step_to, dtype=float).reshape(g.shape)
        text = [[f"PWL(0 {fmt(v)} {fmt(t0)} {fmt(v)} {fmt(t0 + 1e-10)} {fmt(w)})" for v, w in zip(r, s)]
                for r, s in zip(g, b)]
    return _render(SOFTMAX_TEMPLATE, d=d, n_inst=g.shape[0], n=g.shape[1], gate=text, tran=step_to is not None,
                   dv=mismatch,
                   v_drain=d.v_drain * corner.vdd_scale, vdd=d.vdd * corner.vdd_scale, corner_temp=corner.temp_c,
                   t_step=t_step, t_stop=t_stop, t_max=t_max, nmos_lib=_lib())
