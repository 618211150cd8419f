"""Sense amplifier + column mux + current-mode flash ADC: the design, its devices and netlists.

The circuit (``netlists/adc_flash.cir.j2``) is generated from a device list built here, so the
same list serves the netlist, the area estimate and the Monte Carlo mismatch (one ``DELVTO`` per
device, drawn in Python from a Pelgrom coefficient and rendered into SPICE and into the behavioral
model alike).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import ConfigError
from ..resources import netlists_dir
from .crossbar import _render, fmt, params_from_dict

TEMPLATE = "adc_flash.cir.j2"
NMOS_LIB = "models/ptm32_hp_nmos.lib"
PMOS_LIB = "models/ptm32_hp_pmos.lib"

#: Resolutions the flash template supports (a flash needs 2^bits - 1 comparators).
FLASH_BITS = (1, 2, 3)


@dataclass(frozen=True)
class AdcDesign:
    """Sizes and biases of the sense amplifier, the mux and the flash ADC (SI units).

    The analog devices (clamp, mirrors, references) are longer than the 32 nm drawn length so that
    mirrors match (100 nm by default; each mirror group has its own length); digital devices
    (inverters, mux switches) use the minimum length.
    """

    vdd: float = 0.9
    """Supply, V (the PTM 32 nm HP card's nominal Vdd)."""
    i_lsb: float = 20e-6
    """Input current of one LSB, A: one on-cell at g_on = 40 µS (R7, Wan 2022) read at 0.5 V (R3)."""
    v_bias: float = 0.7
    """Gate bias of the clamp's common-gate device M2, V; puts the column node near 0.2 V."""
    i_bias: float = 5e-6
    """Clamp bias current I_b, A (it also flows through M1, so the flash sees I_in + I_b)."""
    i_ref: float = 5e-6
    """Reference current into the reference diode MRD, A."""
    mirror_ratio: float = 0.25
    """Current gain of the SA's output mirror MO / M1 (W ratio)."""
    n_mux: int = 128
    """Columns sharing one ADC through the mux (the seed architecture: 128)."""
    l_analog: float = 100e-9
    """Drawn length of the sense amplifier's analog devices (bias diode, clamp, output mirror), m."""
    l_flash: float = 100e-9
    """Drawn length of the flash input diode MPIN and its copies MPk, m."""
    l_ref: float = 100e-9
    """Drawn length of the reference diode MRD and the reference sinks MRk, m."""
    w_m1: float = 4e-6
    """Clamp sink M1, m."""
    w_m2: float = 1e-6
    """Clamp common-gate device M2, m."""
    w_pl: float = 1e-6
    """Clamp load pMOS MPL (mirror of the bias diode MPB), m."""
    w_pb: float = 1e-6
    """Bias diode MPB, m."""
    w_pin: float = 1e-6
    """Flash input diode MPIN and each copy MPk, m."""
    w_ref: float = 1e-6
    """Reference diode MRD, m; each reference sink MRk is scaled from it by its threshold."""
    w_mux: float = 0.2e-6
    """Each column's mux switch (nMOS, minimum length), m."""
    w_inv_n: float = 0.2e-6
    """Comparator inverters, nMOS width, m."""
    w_inv_p: float = 0.4e-6
    """Comparator inverters, pMOS width, m."""
    l_min: float = 32e-9
    """Minimum drawn length (the card's nominal), m."""
    c_out: float = 1e-15
    """Load on each comparator output (the output register's input), F."""
    avt_n: float = 1.15e-9
    """nMOS Pelgrom coefficient A_VT, V·m (1.15 mV·µm): the 1 mV·µm per nm of oxide rule (Pelgrom,
    Tuinhout & Vertregt, IEDM 1998) at the card's toxe = 1.15 nm."""
    avt_p: float = 1.2e-9
    """pMOS Pelgrom coefficient A_VT, V·m (1.2 mV·µm, the same rule at toxe = 1.2 nm)."""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name == "n_mux":
                if not (isinstance(v, int) and v >= 1):
                    raise ConfigError(f"adc design: n_mux must be an integer >= 1, got {v!r}")
                continue
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ConfigError(f"adc design: {f.name} must be a finite number > 0, got {v!r}")
        if self.v_bias >= self.vdd:
            raise ConfigError("adc design: v_bias must be below vdd")

    def replace(self, **changes) -> "AdcDesign":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "AdcDesign":
        return params_from_dict(cls, d, "ADC design parameter")


def design_for(base: dict, by_bits: dict | None, bits: int) -> AdcDesign:
    """The design of one resolution: ``base`` (a design dict) with that resolution's overrides
    (``by_bits``: {bits or its string: {field: value}}) — e.g. the 3-bit flash's wider clamp sink and input diode."""
    over = dict((by_bits or {}).get(bits, (by_bits or {}).get(str(bits), {})))
    return AdcDesign.from_dict({**base, **over})


@dataclass(frozen=True)
class Device:
    name: str
    model: str  # ptm32n | ptm32p
    d: str
    g: str
    s: str
    b: str
    w: float
    l: float
    m: int = 1
    role: str = ""
    mismatch: bool = True
    """Whether the device gets a Monte Carlo threshold shift (the unselected mux switches, which carry
    no current, do not)."""

    @property
    def area(self) -> float:
        return self.w * self.l * self.m


def ideal_thresholds(d: AdcDesign, bits: int) -> np.ndarray:
    """Input currents (A) of the ideal mid-tread thresholds: (k - 1/2) LSB, k = 1 … 2^bits - 1."""
    return (np.arange(1, 2**bits) - 0.5) * d.i_lsb


def ref_ratios(d: AdcDesign, bits: int) -> np.ndarray:
    """Width of each reference sink MRk relative to MRD, before trim: the current the flash sees at
    the ideal threshold, (I_th + I_b) · mirror_ratio, over I_REF."""
    return (ideal_thresholds(d, bits) + d.i_bias) * d.mirror_ratio / d.i_ref


def devices(d: AdcDesign, bits: int, trim: np.ndarray | None = None) -> list[Device]:
    """The device list of one SA + mux + ``bits``-bit flash; ``trim`` scales each reference sink."""
    if bits not in FLASH_BITS:
        raise ConfigError(f"flash ADC resolution {bits} bits not supported; valid: {', '.join(map(str, FLASH_BITS))}")
    n = 2**bits - 1
    trim = np.ones(n) if trim is None else np.asarray(trim, dtype=float)
    if trim.shape != (n,) or np.any(~np.isfinite(trim)) or np.any(trim <= 0):
        raise ConfigError(f"reference trim must be {n} positive numbers")
    la, lm, lf, lr = d.l_analog, d.l_min, d.l_flash, d.l_ref
    out = [
        Device("MPB", "ptm32p", "pb", "pb", "vdd", "vdd", d.w_pb, la, role="bias diode"),
        Device("M2", "ptm32n", "y", "vb", "x", "0", d.w_m2, la, role="clamp common gate"),
        Device("MPL", "ptm32p", "y", "pb", "vdd", "vdd", d.w_pl, la, role="clamp load"),
        Device("M1", "ptm32n", "x", "y", "0", "0", d.w_m1, la, role="clamp sink"),
        Device("MO", "ptm32n", "o", "y", "0", "0", d.w_m1 * d.mirror_ratio, la, role="SA output mirror"),
        Device("MS", "ptm32n", "a", "vdd", "o", "0", d.w_mux, lm, role="mux switch (selected)"),
    ]
    if d.n_mux > 1:
        out.append(Device("MSOFF", "ptm32n", "a", "0", "off", "0", d.w_mux, lm, m=d.n_mux - 1,
                          role="mux switches (unselected)", mismatch=False))
    out += [
        Device("MPIN", "ptm32p", "a", "a", "vdd", "vdd", d.w_pin, lf, role="flash input diode"),
        Device("MRD", "ptm32n", "rd", "rd", "0", "0", d.w_ref, lr, role="reference diode"),
    ]
    ratios = ref_ratios(d, bits) * trim
    for k in range(1, n + 1):
        out += [
            Device(f"MP{k}", "ptm32p", f"n{k}", "a", "vdd", "vdd", d.w_pin, lf, role=f"comparator {k} input copy"),
            Device(f"MR{k}", "ptm32n", f"n{k}", "rd", "0", "0", d.w_ref * ratios[k - 1], lr, role=f"comparator {k} reference"),
            Device(f"MIN{k}", "ptm32n", f"b{k}", f"n{k}", "0", "0", d.w_inv_n, lm, role=f"comparator {k} inverter 1"),
            Device(f"MIP{k}", "ptm32p", f"b{k}", f"n{k}", "vdd", "vdd", d.w_inv_p, lm, role=f"comparator {k} inverter 1"),
            Device(f"MJN{k}", "ptm32n", f"d{k}", f"b{k}", "0", "0", d.w_inv_n, lm, role=f"comparator {k} inverter 2"),
            Device(f"MJP{k}", "ptm32p", f"d{k}", f"b{k}", "vdd", "vdd", d.w_inv_p, lm, role=f"comparator {k} inverter 2"),
        ]
    return out


def mismatch_sigmas(d: AdcDesign, devs: list[Device]) -> dict[str, float]:
    """Pelgrom σ(ΔV_T) = A_VT / sqrt(W·L·m) for every device that gets a mismatch draw (V)."""
    out = {}
    for dev in devs:
        if dev.mismatch:
            avt = d.avt_n if dev.model == "ptm32n" else d.avt_p
            out[dev.name] = avt / math.sqrt(dev.w * dev.l * dev.m)
    return out


def draw_mismatch(d: AdcDesign, devs: list[Device], rng: np.random.Generator) -> dict[str, float]:
    """One Monte Carlo instance: an independent Gaussian ΔV_T per device (V), in device order."""
    sig = mismatch_sigmas(d, devs)
    return {name: float(s * rng.standard_normal()) for name, s in sig.items()}


# --------------------------------------------------------------------------- analyses


@dataclass(frozen=True)
class Corner:
    """A temperature / supply corner (the model card has no process corners)."""

    name: str
    temp_c: float
    vdd_scale: float = 1.0


@dataclass(frozen=True)
class DcSweep:
    """DC sweep of the input current from 0 to ``stop`` (A) in steps of ``step``."""

    stop: float
    step: float
    kind: Literal["dc"] = "dc"


@dataclass(frozen=True)
class Levels:
    """Transient: the input holds ``levels[i]`` (A) for one ``period`` each, edges ``t_edge``."""

    levels: tuple[float, ...]
    period: float
    t_edge: float = 20e-12
    t_step: float = 2e-12
    t_max: float = 10e-12
    kind: Literal["tran"] = "tran"

    @property
    def t_stop(self) -> float:
        return self.period * len(self.levels)

    @property
    def pwl(self) -> str:
        pts = [(0.0, self.levels[0])]
        for i in range(1, len(self.levels)):
            t = i * self.period
            pts += [(t, self.levels[i - 1]), (t + self.t_edge, self.levels[i])]
        return " ".join(f"{fmt(t)} {fmt(v)}" for t, v in pts)


@dataclass(frozen=True)
class NoiseAnalysis:
    """Small-signal noise at comparator ``k``'s node with the input held at ``i_dc`` (A)."""

    i_dc: float
    k: int
    f_start: float = 1e6
    f_stop: float = 1e11
    points_per_decade: int = 20
    kind: Literal["noise"] = "noise"


@dataclass(frozen=True)
class Noise:
    rms: float
    dt: float


def template_sources() -> list[str]:
    return [TEMPLATE, NMOS_LIB, PMOS_LIB]


def render_adc(d: AdcDesign, bits: int, analysis: DcSweep | Levels | NoiseAnalysis, *, corner: Corner | None = None,
               trim: np.ndarray | None = None, delvto: dict[str, float] | None = None,
               noise: Noise | None = None, reltol: float = 1e-6) -> str:
    """Netlist text of one SA + mux + flash ADC instance under ``analysis``."""
    corner = corner or Corner("nominal", 27.0, 1.0)
    devs = devices(d, bits, trim)
    delvto = dict(delvto or {})
    unknown = set(delvto) - {x.name for x in devs}
    if unknown:
        raise ConfigError(f"mismatch for unknown device(s) {sorted(unknown)}")
    libs = {}
    for key, rel in (("nmos_lib", NMOS_LIB), ("pmos_lib", PMOS_LIB)):
        p = netlists_dir() / rel
        if not p.is_file():
            raise ConfigError(f"model card {p} not found")
        libs[key] = str(p)
    return _render(TEMPLATE, d=d, bits=bits, n_comp=2**bits - 1, n_mux=d.n_mux, devices=devs, delvto=delvto,
                   analysis=analysis, noise=noise, corner_temp=corner.temp_c, vdd=d.vdd * corner.vdd_scale,
                   reltol=reltol, **libs)


#: Per-column devices of the sense amplifier (and its mux switch) in :func:`devices`.
SA_DEVICES = ("M2", "MPL", "M1", "MO", "MS")
CHAIN_TEMPLATE = "adc_chain.cir.j2"


def render_chain(d: AdcDesign, bits: int, G, patterns, *, v_read: float, v_lo: float, r_row: float, r_col: float,
                 period: float, corner: Corner | None = None, trim=None, t_edge: float = 20e-12,
                 reltol: float = 1e-6) -> tuple[str, list[tuple[int, int]]]:
    """Netlist of the whole chain: crossbar ``G[rows, cols]`` (S) with binary input ``patterns[reads,
    rows]``, one SA per column, the mux and the flash.  Each read holds its pattern while the mux
    selects columns 0..cols-1, one per ``period``.  Returns the text and the (read, column) of each
    conversion slot in time order."""
    corner = corner or Corner("nominal", 27.0, 1.0)
    G = np.asarray(G, dtype=float)
    P = np.asarray(patterns, dtype=float)
    n_rows, n_cols = G.shape
    if P.ndim != 2 or P.shape[1] != n_rows:
        raise ConfigError(f"patterns must be [reads, {n_rows}]")
    if n_cols > d.n_mux:
        raise ConfigError(f"{n_cols} columns exceed the mux's {d.n_mux} inputs")
    if np.any(G <= 0) or not np.all(np.isfinite(G)):
        raise ConfigError("G must hold positive finite conductances")
    devs = devices(d.replace(n_mux=max(d.n_mux - n_cols + 1, 1)), bits, trim)
    sa = [x for x in devs if x.name in SA_DEVICES]
    shared = [x for x in devs if x.name not in SA_DEVICES]
    if d.n_mux == n_cols:
        shared = [x for x in shared if x.name != "MSOFF"]
    slot = period * n_cols
    t_stop = slot * len(P)

    def pwl(values):
        pts = [(0.0, values[0])]
        for r in range(1, len(values)):
            t = r * slot
            pts += [(t, values[r - 1]), (t + t_edge, values[r])]
        return " ".join(f"{fmt(t)} {fmt(v)}" for t, v in pts)

    row_pwl = [pwl(v_lo + v_read * P[:, i]) for i in range(n_rows)]
    sel_pwl = []
    vdd = d.vdd * corner.vdd_scale
    for j in range(n_cols):
        pts = [(0.0, vdd if j == 0 else 0.0)]
        for r in range(len(P)):
            on, off = r * slot + j * period, r * slot + (j + 1) * period
            if not (r == 0 and j == 0):
                pts += [(on, 0.0), (on + t_edge, vdd)]
            pts += [(off, vdd), (off + t_edge, 0.0)]
        sel_pwl.append(" ".join(f"{fmt(t)} {fmt(v)}" for t, v in pts))

    def col_node(node: str, j: int) -> str:
        if node in ("x", "y", "o"):
            return f"{node}{j}"
        if node == "vdd" and j >= 0:
            return "vdd"
        return node

    # the selected switch's gate is the column's select line, not VDD
    sa = [x if x.name != "MS" else dataclasses.replace(x, g="SEL") for x in sa]

    def node(n: str, j: int) -> str:
        return f"s{j}" if n == "SEL" else col_node(n, j)

    libs = {k: str(netlists_dir() / rel) for k, rel in (("nmos_lib", NMOS_LIB), ("pmos_lib", PMOS_LIB))}
    text = _render(CHAIN_TEMPLATE, d=d, bits=bits, n_comp=2**bits - 1, n_mux=d.n_mux, n_rows=n_rows, n_cols=n_cols,
                   G=G.tolist(), row_pwl=row_pwl, sel_pwl=sel_pwl, r_row=r_row, r_col=r_col, sa_devices=sa,
                   shared_devices=shared, col_node=node, corner_temp=corner.temp_c, vdd=vdd, reltol=reltol,
                   t_step=2e-12, t_stop=t_stop, t_max=10e-12, **libs)
    slots = [(r, j) for r in range(len(P)) for j in range(n_cols)]
    return text, slots


def area_estimate(devs: list[Device], *, l_min: float = 32e-9) -> float:
    """Layout area (m²) by a stated rule: each device occupies (W + 6F)·(L + 6F)·m with F = 32 nm —
    the gate plus a 3F allowance on every side for diffusion contacts and spacing (a λ-rule-style
    estimate, about 2.5x the gate area for minimum devices; no routing factor)."""
    f = l_min
    return float(sum((x.w + 6 * f) * (x.l + 6 * f) * x.m for x in devs))


# --------------------------------------------------------------------------- 1-bit DAC / row driver


DAC_TEMPLATE = "dac_driver.cir.j2"


@dataclass(frozen=True)
class DacDesign:
    """The 1-bit row driver: a pre-driver on VDD rails and a driver inverter between the row's levels."""

    vdd: float = 0.9
    """Pre-driver supply, V."""
    v_read: float = 0.5
    """Row swing above the column level, V (R3: NeuroSim read voltage)."""
    w_drv_p: float = 40e-6
    """Driver pMOS width, m: 128 on-cells at 40 µS are a 195 Ω load; about 14 Ω on-resistance
    (20 µm gave 28 Ω, a 16 % drop with every cell on)."""
    w_drv_n: float = 20e-6
    """Driver nMOS width, m."""
    w_pre_p: float = 8e-6
    """Pre-driver pMOS width, m."""
    w_pre_n: float = 4e-6
    """Pre-driver nMOS width, m."""
    l_min: float = 32e-9
    """Drawn length, m."""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ConfigError(f"dac design: {f.name} must be a finite number > 0, got {v!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "DacDesign":
        return params_from_dict(cls, d, "DAC design parameter")

    def devices(self) -> list[Device]:
        return [Device("MPP", "ptm32p", "pre", "bit", "vdd", "vdd", self.w_pre_p, self.l_min),
                Device("MPN", "ptm32n", "pre", "bit", "0", "0", self.w_pre_n, self.l_min),
                Device("MDP", "ptm32p", "drv", "pre", "vhi", "vdd", self.w_drv_p, self.l_min),
                Device("MDN", "ptm32n", "drv", "pre", "vlo", "0", self.w_drv_n, self.l_min)]


def render_dac(d: DacDesign, g, *, v_lo: float, r_row: float, c_row: float, t_pulse: float, temp_c: float = 27.0,
               vdd_scale: float = 1.0, t_edge: float = 20e-12, t_delay: float = 50e-12, t_tail: float = 500e-12) -> str:
    """Netlist of the row driver driving cells ``g`` (S) along one row, one input pulse of ``t_pulse``."""
    g = np.asarray(g, dtype=float)
    if g.ndim != 1 or len(g) < 1 or np.any(g <= 0) or not np.all(np.isfinite(g)):
        raise ConfigError("g must be a 1-D array of positive finite conductances")
    libs = {k: str(netlists_dir() / rel) for k, rel in (("nmos_lib", NMOS_LIB), ("pmos_lib", PMOS_LIB))}
    return _render(DAC_TEMPLATE, n=len(g), g=g.tolist(), v_lo=v_lo, v_read=d.v_read, vdd=d.vdd * vdd_scale,
                   temp=temp_c, r_row=r_row, c_row=c_row, t_pulse=t_pulse, t_edge=t_edge, t_delay=t_delay,
                   t_stop=t_delay + t_pulse + t_tail, t_step=1e-12, t_max=5e-12, w_drv_p=d.w_drv_p,
                   w_drv_n=d.w_drv_n, w_pre_p=d.w_pre_p, w_pre_n=d.w_pre_n, l_min=d.l_min, **libs)
