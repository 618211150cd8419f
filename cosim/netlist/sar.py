"""Charge-redistribution SAR ADC: the design, the comparator's devices and the netlists.

The circuit (``netlists/adc_sar.cir.j2``): bottom-plate sampling onto a binary-weighted capacitor
array, a StrongARM latch comparator at transistor level (PTM 32 nm HP, the vendored card), ideal
voltage-controlled switches and an XSPICE flip-flop register.  ``netlists/sar_comparator.cir.j2``
holds many comparator instances, each with its own Monte Carlo draw and its own input staircase —
for the offsets and the delay against overdrive.  The device list is built here so that the same
list serves both netlists, the area estimate and the mismatch draw (one ``DELVTO`` per device,
drawn in Python from the Pelgrom coefficient, rendered into SPICE and given to the model alike).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from ..resources import netlists_dir
from .adc import NMOS_LIB, PMOS_LIB, Corner, Device
from .crossbar import _render, fmt, params_from_dict

TEMPLATE = "adc_sar.cir.j2"
BENCH_TEMPLATE = "sar_comparator.cir.j2"

#: Resolutions the SAR template supports.
SAR_BITS = tuple(range(3, 9))


@dataclass(frozen=True)
class SarDesign:
    """Sizes, levels and timing of the SAR ADC (SI units)."""

    vdd: float = 0.9
    """Supply of the comparator, V (the PTM 32 nm HP card's nominal Vdd)."""
    v_ref: float = 0.5
    """Reference, V: the input range is 0 .. v_ref, one LSB v_ref / 2^bits."""
    v_cm: float = 0.7
    """Top-plate reset level and the comparator's reference input, V: the top plate ends every
    conversion within an LSB of it.  At 0.6 V the input pair's low overdrive left the comparator too
    slow at 85 °C (decisions needed 1.4 LSB at 4 bits to resolve before the register latched); at
    0.7 V it decides 30 µV in 67 ps there."""
    c_unit: float = 1e-15
    """Unit capacitor, F (a design choice: kT/C of the 8-bit array, 256 fF, is 0.065 LSB; capacitor
    mismatch is not modelled)."""
    c_par: float = 2e-15
    """Explicit top-plate parasitic (routing, switch junctions), F; the comparator's input adds its own."""
    r_switch: float = 20.0
    """On-resistance of the sampling and bottom-plate switches, ohm."""
    t_sample: float = 300e-12
    """Sampling phase, s (a whole number of bit cycles: the comparator clock runs through it)."""
    t_bit: float = 300e-12
    """One bit cycle, s: the comparator resets in the first half and decides in the second; the
    decision is latched at 90 % of the cycle."""
    t_edge: float = 10e-12
    """Edge time of the phase and clock sources, s."""
    w_in: float = 4e-6
    """Comparator input pair M1/M2, m."""
    l_in: float = 100e-9
    """Input pair length, m (longer than minimum for matching)."""
    w_tail: float = 4e-6
    """Clocked tail device MT, m."""
    w_latch_n: float = 1e-6
    """Cross-coupled nMOS M3/M4, m."""
    w_latch_p: float = 1e-6
    """Cross-coupled pMOS M5/M6, m."""
    w_reset: float = 0.5e-6
    """Reset (precharge) pMOS M7..M10, m."""
    w_buf_n: float = 0.4e-6
    """Output buffer inverters, nMOS width, m."""
    w_buf_p: float = 0.8e-6
    """Output buffer inverters, pMOS width, m."""
    l_min: float = 32e-9
    """Minimum drawn length, m."""
    avt_n: float = 1.15e-9
    """nMOS Pelgrom A_VT, V·m (1 mV·µm per nm of oxide, Pelgrom, Tuinhout & Vertregt, IEDM 1998, at
    the card's toxe = 1.15 nm) — the flash ADC's figure."""
    avt_p: float = 1.2e-9
    """pMOS Pelgrom A_VT, V·m (the same rule at toxe = 1.2 nm)."""
    bench_options: str = "reltol=1e-4 abstol=1e-12 vntol=1e-6 method=gear"
    """ngspice ``.options`` of the comparator bench (``netlists/sar_comparator.cir.j2``).  A flip point
    is where a decision turns; it moves with the integration error, so these are part of what a
    calibration measured."""
    bench_t_max: float = 5e-12
    """Largest transient time step of the comparator bench, s (the delay bench caps it at 1 ps too)."""
    sar_options: str = "reltol=1e-4 abstol=1e-12 vntol=1e-6 method=gear"
    """ngspice ``.options`` of the whole SAR (``netlists/adc_sar.cir.j2``)."""
    sar_t_max: float = 5e-12
    """Largest transient time step of the whole SAR, s."""

    def __post_init__(self):
        for name in ("bench_options", "sar_options"):
            check_options(getattr(self, name), f"sar design: {name}")
        for f in dataclasses.fields(self):
            if f.name.endswith("_options"):
                continue
            v = getattr(self, f.name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ConfigError(f"sar design: {f.name} must be a finite number > 0, got {v!r}")
        if self.v_ref >= self.vdd or self.v_cm >= self.vdd:
            raise ConfigError("sar design: v_ref and v_cm must be below vdd")
        if self.t_edge * 4 >= self.t_bit:
            raise ConfigError("sar design: t_edge must be under a quarter of t_bit")
        n = self.t_sample / self.t_bit
        if abs(n - round(n)) > 1e-9 or round(n) < 1:
            raise ConfigError("sar design: t_sample must be a whole number (>= 1) of bit cycles t_bit")

    def replace(self, **changes) -> "SarDesign":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "SarDesign":
        return params_from_dict(cls, d, "SAR design parameter")

    def t_conv(self, bits: int) -> float:
        """Seconds per conversion: sampling plus one cycle per bit."""
        return self.t_sample + bits * self.t_bit

    def lsb(self, bits: int) -> float:
        return self.v_ref / 2**bits

    def c_array(self, bits: int) -> float:
        """Total array capacitance (binary caps + dummy), F."""
        return self.c_unit * 2**bits


#: The design fields that set the SAR netlists' SPICE numerics (a table records them; a validation
#: reference overrides them).
NUMERICS_FIELDS = ("bench_options", "bench_t_max", "sar_options", "sar_t_max")

#: ``.options`` a SAR design may set, and the integration methods it may choose.
SIM_OPTIONS = ("reltol", "abstol", "vntol", "chgtol", "trtol", "maxord")
SIM_METHODS = ("gear", "trap")


def check_options(text: str, what: str) -> None:
    """``text`` is ``key=value`` pairs of :data:`SIM_OPTIONS` (finite numbers > 0) and ``method``."""
    if not isinstance(text, str) or not text.split():
        raise ConfigError(f"{what}: expected ngspice options such as 'reltol=1e-4 method=gear', got {text!r}")
    for tok in text.split():
        k, eq, v = tok.partition("=")
        if not eq:
            raise ConfigError(f"{what}: {tok!r} is not key=value")
        if k == "method":
            if v not in SIM_METHODS:
                raise ConfigError(f"{what}: method {v!r} unknown; valid: {', '.join(SIM_METHODS)}")
            continue
        if k not in SIM_OPTIONS:
            raise ConfigError(f"{what}: option {k!r} not allowed; valid: {', '.join(SIM_OPTIONS + ('method',))}")
        try:
            x = float(v)
        except ValueError:
            x = float("nan")
        if not (math.isfinite(x) and x > 0):
            raise ConfigError(f"{what}: {k} must be a finite number > 0, got {v!r}")


def check_bits(bits: int) -> None:
    if bits not in SAR_BITS:
        raise ConfigError(f"SAR ADC resolution {bits} bits not supported; valid: {', '.join(map(str, SAR_BITS))}")


def comparator_devices(d: SarDesign) -> list[Device]:
    """The StrongARM latch (inp = vcm, inn = x) and its two output inverters."""
    n, p, lm = "ptm32n", "ptm32p", d.l_min
    return [
        Device("MT", n, "tail", "clk", "0", "0", d.w_tail, lm, role="clocked tail"),
        Device("M1", n, "p", "r", "tail", "0", d.w_in, d.l_in, role="input (reference side)"),
        Device("M2", n, "q", "x", "tail", "0", d.w_in, d.l_in, role="input (top-plate side)"),
        Device("M3", n, "on", "op", "p", "0", d.w_latch_n, lm, role="latch nMOS"),
        Device("M4", n, "op", "on", "q", "0", d.w_latch_n, lm, role="latch nMOS"),
        Device("M5", p, "on", "op", "vdd", "vdd", d.w_latch_p, lm, role="latch pMOS"),
        Device("M6", p, "op", "on", "vdd", "vdd", d.w_latch_p, lm, role="latch pMOS"),
        Device("M7", p, "on", "clk", "vdd", "vdd", d.w_reset, lm, role="reset"),
        Device("M8", p, "op", "clk", "vdd", "vdd", d.w_reset, lm, role="reset"),
        Device("M9", p, "p", "clk", "vdd", "vdd", d.w_reset, lm, role="reset"),
        Device("M10", p, "q", "clk", "vdd", "vdd", d.w_reset, lm, role="reset"),
        Device("MBN", n, "dec", "on", "0", "0", d.w_buf_n, lm, role="output buffer"),
        Device("MBP", p, "dec", "on", "vdd", "vdd", d.w_buf_p, lm, role="output buffer"),
        Device("MCN", n, "decn", "op", "0", "0", d.w_buf_n, lm, role="output buffer (other side)"),
        Device("MCP", p, "decn", "op", "vdd", "vdd", d.w_buf_p, lm, role="output buffer (other side)"),
    ]


def mismatch_sigmas(d: SarDesign) -> dict[str, float]:
    """Pelgrom σ(ΔV_T) = A_VT / sqrt(W·L) of every comparator device (V)."""
    return {x.name: (d.avt_n if x.model == "ptm32n" else d.avt_p) / math.sqrt(x.w * x.l)
            for x in comparator_devices(d)}


def draw_mismatch(d: SarDesign, rng: np.random.Generator) -> dict[str, float]:
    """One Monte Carlo instance: an independent Gaussian ΔV_T per comparator device (V), device order."""
    return {name: float(s * rng.standard_normal()) for name, s in mismatch_sigmas(d).items()}


def _libs() -> dict[str, str]:
    out = {}
    for key, rel in (("nmos_lib", NMOS_LIB), ("pmos_lib", PMOS_LIB)):
        p = netlists_dir() / rel
        if not p.is_file():
            raise ConfigError(f"model card {p} not found")
        out[key] = str(p)
    return out


def template_sources() -> list[str]:
    return [TEMPLATE, BENCH_TEMPLATE, NMOS_LIB, PMOS_LIB]


def _check_delvto(d: SarDesign, delvto: dict) -> None:
    unknown = set(delvto) - {x.name for x in comparator_devices(d)}
    if unknown:
        raise ConfigError(f"mismatch for unknown device(s) {sorted(unknown)}")


def render_sar(d: SarDesign, bits: int, vin, *, corner: Corner | None = None, delvto: dict | None = None,
               t_max: float | None = None) -> str:
    """Netlist of one SAR instance converting the inputs ``vin`` (V), one per conversion period."""
    check_bits(bits)
    corner = corner or Corner("nominal", 27.0, 1.0)
    vin = np.asarray(vin, dtype=float)
    if vin.ndim != 1 or len(vin) < 1 or not np.all(np.isfinite(vin)):
        raise ConfigError("vin must be a non-empty 1-D array of finite voltages")
    delvto = dict(delvto or {})
    _check_delvto(d, delvto)
    T = d.t_conv(bits)
    pts = []
    for i, v in enumerate(vin):  # the input changes during the last edge of the previous conversion
        pts += [(i * T, v), ((i + 1) * T - d.t_edge, v)]
    return _render(TEMPLATE, d=d, bits=bits, t_conv=T, devices=comparator_devices(d), delvto=delvto,
                   vin_pwl=" ".join(f"{fmt(t)} {fmt(v)}" for t, v in pts), corner_temp=corner.temp_c,
                   vdd=d.vdd * corner.vdd_scale, t_step=1e-12, t_stop=T * len(vin),
                   t_max=min(t_max or d.sar_t_max, d.sar_t_max), options=d.sar_options, **_libs())


def render_bench(d: SarDesign, inn, *, corner: Corner | None = None, delvto: list[dict] | None = None,
                 t_max: float | None = None) -> str:
    """Netlist of ``len(inn)`` comparator instances; instance i sees ``inn[i][c]`` (V) at its
    inverting input during clock cycle c (cycle c decides at c·t_bit + t_bit/2)."""
    corner = corner or Corner("nominal", 27.0, 1.0)
    inn = np.atleast_2d(np.asarray(inn, dtype=float))
    n_inst, n_cyc = inn.shape
    delvto = [dict(x) for x in (delvto or [{}] * n_inst)]
    if len(delvto) != n_inst:
        raise ConfigError("one mismatch dict per comparator instance")
    for x in delvto:
        _check_delvto(d, x)
    pwl = []
    for row in inn:  # level c held from the middle of the reset before cycle c's decision
        pts = [(0.0, row[0])]
        for c in range(1, n_cyc):
            t = c * d.t_bit
            pts += [(t, row[c - 1]), (t + d.t_edge, row[c])]
        pwl.append(" ".join(f"{fmt(t)} {fmt(v)}" for t, v in pts))
    shared = {"0", "vcm", "clk"}

    def node(n: str, i: int) -> str:
        if n in shared:
            return n
        if n == "x":
            return f"inn{i}"
        if n == "r":
            return "vcm"
        return f"{n}{i}"

    return _render(BENCH_TEMPLATE, d=d, n_inst=n_inst, devices=comparator_devices(d), delvto=delvto,
                   inn_pwl=pwl, node=node, corner_temp=corner.temp_c, vdd=d.vdd * corner.vdd_scale,
                   t_step=1e-12, t_stop=n_cyc * d.t_bit,
                   t_max=min(t_max or d.bench_t_max, d.bench_t_max), options=d.bench_options, **_libs())
