"""Per-event energies and per-unit areas: cited constants and the calibrated crossbar read.

Constants live in ``architectures/components.toml``, each with its source; every figure the system
simulator uses is returned as a :class:`Cost` that carries where it came from and whether it is a
cited constant standing in for a circuit not yet calibrated (ADCs, nonlinear units), a calibrated
figure, or an unvalidated one.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache

import numpy as np

from ..errors import CalibrationError, ConfigError
from ..resources import data_dir


@dataclass(frozen=True)
class Cost:
    """One per-event energy (J) or per-unit figure, with its provenance."""

    value: float
    source: str
    status: str = "cited"
    """``calibrated`` (from calibration/), ``cited`` (a constant standing in until a circuit's table
    lands), ``derived`` (arithmetic on cited figures) or ``unvalidated`` (outside a model's range)."""
    note: str = ""


@cache
def components() -> dict[str, dict]:
    path = data_dir("architectures") / "components.toml"
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"component constants {path}: {exc}") from None


def const(name: str, key: str) -> Cost:
    c = components()
    if name not in c or key not in c[name]:
        raise ConfigError(f"components.toml: entry {name!r} has no {key!r}")
    e = c[name]
    return Cost(float(e[key]), f"{name}: {e['src']}", "derived" if "how" in e else "cited", e.get("how", ""))


#: Table file of each calibrated ADC kind (cosim.models.adc.ADC_KINDS).
ADC_TABLES = {"flash-current": "calibration/adc.h5", "sar-cdac": "calibration/adc_sar.h5"}


@cache
def calibrated_adc(bits: int, kind: str = "flash-current"):
    """The SPICE-calibrated ADC model of ``kind`` (nominal corner) for ``bits`` — one object per
    resolution and kind, so that its energy per conversion is computed once; outside the calibrated
    resolutions a ConfigError that says which rules still cover it."""
    from ..errors import ModelRangeError
    from ..models.adc import load

    try:
        return load(kind, bits, "nominal")
    except ModelRangeError as exc:
        raise ConfigError(f"adc_energy_rule = calibrated: {exc}; the cited rules (walden, table, best-fom) cover "
                          "other resolutions") from None


@cache
def adc_energy(bits: int, rule: str, kind: str = "flash-current") -> Cost:
    """Energy per conversion of a ``bits``-bit ADC (J), by the preset's rule: ``calibrated`` (the
    SPICE-calibrated ADC of ``kind``) or one of the cited stand-ins."""
    if rule == "calibrated":
        m = calibrated_adc(bits, kind)
        boundary = ("SA output copy, mux line, comparators, references from VDD (not the bias generators)"
                    if kind == "flash-current" else
                    "comparator (VDD), capacitor-DAC switching (VREF), top-plate reset (VCM); not the SAR logic, "
                    "switch drivers, clock or input driver")
        return Cost(m.energy_per_conversion(), f"SPICE-calibrated {kind} ADC ({ADC_TABLES[kind]}), "
                    f"mean over uniform inputs at {1 / m.period / 1e6:.0f} MS/s, nominal corner", "calibrated",
                    "boundary: " + boundary)
    if rule == "walden":
        fom = const("adc_walden", "fom_j_per_step")
        return Cost(fom.value * 2**bits, f"Walden FoM {fom.value * 1e15:.2f} fJ/step x 2^{bits} ({fom.source})",
                    "cited", "labelled alternative to the calibrated ADCs")
    if rule == "best-fom":
        fom = const("adc_best_fom", "fom_j_per_step")
        return Cost(fom.value * 2**bits, f"best FoM {fom.value * 1e15:.1f} fJ/step x 2^{bits} ({fom.source})",
                    "cited", "labelled alternative to the calibrated ADCs")
    if rule == "table":
        t = components()["adc_table"]
        b = list(t["bits"])
        note = "labelled alternative to the calibrated ADCs"
        if bits < b[0]:
            note += f"; {bits}-bit below the table, clamped to {b[0]} bits"
        if bits > b[-1]:
            raise ConfigError(f"ADC table covers {b[0]}..{b[-1]} bits; {bits} is outside it")
        e = t["energy_j"][b.index(max(bits, b[0]))]
        return Cost(float(e), f"adc_table: {t['src']}", "cited", note)
    raise ConfigError(f"unknown ADC energy rule {rule!r}; valid: best-fom, calibrated, table, walden")


def adc_area(bits: int, rule: str = "walden", kind: str = "flash-current") -> Cost:
    """Area of one ADC (without the per-column sense amplifiers of the calibrated flash design)."""
    if rule == "calibrated":
        m = calibrated_adc(bits, kind)
        if kind == "flash-current":
            return Cost(m.area - m.area_sa, "device areas of the calibrated flash + mux switch (layout rule in "
                        "calibration/adc.h5)", "calibrated")
        return Cost(m.area, "comparator device areas + capacitors (layout rule in calibration/adc_sar.h5)",
                    "calibrated")
    a = const("adc_8b", "area_m2")
    return Cost(a.value * 2.0 ** (bits - 8), f"1200 um^2 x 2^({bits}-8) (adc_8b: {components()['adc_8b']['src']})",
                "derived", "area scales as 2^bits (stated rule)")


def adc_period(c) -> float:
    """Seconds per conversion: the calibrated ADC's period, or 1 / ``compute.adc_rate_hz``."""
    return calibrated_adc(c.adc_bits, c.adc_kind).period if c.adc_energy_rule == "calibrated" else 1.0 / c.adc_rate_hz


# ---------------------------------------------------------------- digital function unit (R5 arithmetic)

#: Primitive operations per element of each elementwise / nonlinear op (Horowitz R5 energies).
#: softmax: max compare, subtract, exp by a 16-bit LUT in 8 KB SRAM, 32-bit accumulate, normalise
#: by a 32-bit multiply with the reciprocal; layernorm: sum, square, sum of squares, subtract the
#: mean, scale, gain, bias; rmsnorm: square, sum of squares, scale, gain; gelu / silu: 16-bit LUT;
#: mul: an 8-bit multiply; add: a 32-bit add; rotary: two 32-bit multiplies and an add;
#: embedding: one byte read from the memory holding the table.
ELEMENT_OPS: dict[str, dict[str, float]] = {
    "softmax": {"add8": 2, "lut16": 1, "add32": 1, "mul32": 1},
    "layernorm": {"add32": 4, "mul32": 3},
    "rmsnorm": {"add32": 1, "mul32": 3},
    "gelu": {"lut16": 1},
    "silu": {"lut16": 1},
    "mul": {"mul8": 1},
    "add": {"add32": 1},
    "rotary": {"mul32": 2, "add32": 1},
}


def primitive_energy(name: str) -> float:
    if name == "lut16":
        return 2 * const("sram_8kb_read", "energy_j_per_byte").value
    return const(name, "energy_j").value


def element_energy(kind: str) -> Cost:
    ops = ELEMENT_OPS.get(kind)
    if ops is None:
        raise ConfigError(f"no digital cost for element kind {kind!r}; valid: {', '.join(sorted(ELEMENT_OPS))}")
    e = sum(n * primitive_energy(op) for op, n in ops.items())
    recipe = " + ".join(f"{n:g} {op}" for op, n in ops.items())
    return Cost(e, f"{recipe} per element (R5, 45 nm unscaled)", "cited",
                "digital function unit (the calibrated alternative for softmax: digital.softmax = analog)"
                if kind == "softmax" else "")


def softmax_conversions() -> tuple[float, float, float, float]:
    """(score-DAC energy, ADC energy per conversion, ADC period, ADC area) of the analog softmax's
    conversions: the calibrated 8-bit SAR (its mean energy over uniform inputs) and, as the score DAC,
    the same 256 fF capacitor array charged from ground to V_ref (C·V²/2, an upper bound per code)."""
    sar = calibrated_adc(8, "sar-cdac")
    return sar.c_unit * 2**8 * sar.v_ref**2 / 2, sar.energy_per_conversion(), sar.period, sar.area


def analog_softmax_row(n: int, dg, table=None, *, longest: int | None = None) -> tuple[float, float]:
    """Energy (J) and delay (s) of one softmax row of ``n`` scores on an analog unit configured by the
    preset's ``digital`` section (corner, DAC gain mode, ADCs per unit), conversions and the digital
    max (INT8 compares, R5) included; ``longest``: the longest row the unit must take (default n);
    ``table``: the nonlinear calibration (default: shipped)."""
    from ..models.nonlinear import load_softmax

    if max(n, longest or 0) > dg.softmax_inputs:
        raise ConfigError(f"analog softmax: rows of {max(n, longest or 0)} scores exceed digital.softmax_inputs = "
                          f"{dg.softmax_inputs}")
    sm = load_softmax(dg.softmax_corner, table, gain_mode=dg.softmax_gain)
    e_dac, e_adc, t_adc, _ = softmax_conversions()
    add8 = const("add8", "energy_j").value
    # a trimmed unit adds each branch's stored offset code to its score before the DAC: one INT8 add per input
    trim = n * add8 if dg.softmax_mismatch == "trimmed" else 0.0
    return (sm.energy(n, dac_j=e_dac, adc_j=e_adc, max_j=add8, n_adc=dg.softmax_adcs, t_adc=t_adc) + trim,
            sm.delay(n, n_adc=dg.softmax_adcs, t_adc=t_adc))


def analog_softmax_unit(dg, table=None) -> tuple[float, float]:
    """Area (m²) and static power (W) of one analog softmax unit with its ADCs (and, trimmed, its
    8-bit offset codes in SRAM cells at 100F², the memory-cell preset, and one INT8 adder)."""
    from ..models.nonlinear import load_softmax
    from .capacity import get_cell

    sm = load_softmax(dg.softmax_corner, table, gain_mode=dg.softmax_gain)
    *_, a_adc = softmax_conversions()
    a = sm.area(dg.softmax_inputs) + dg.softmax_adcs * a_adc
    if dg.softmax_mismatch == "trimmed":
        a += dg.softmax_inputs * 8 * get_cell("sram_100f2").cell_area_f2 * (32e-9) ** 2 + components()["add8"]["area_m2"]
    return a, sm.power(dg.softmax_inputs)


def dfu_lane_area() -> Cost:
    """One digital lane: a 32-bit multiplier, two 32-bit adders, an 8-bit adder and an 8 KB LUT
    (SRAM cells at 100F² per bit, the memory-cell preset, at 32 nm)."""
    c = components()
    from .capacity import get_cell

    lut = 8192 * 8 * get_cell("sram_100f2").cell_area_f2 * (32e-9) ** 2
    a = c["mul32"]["area_m2"] + 2 * c["add32"]["area_m2"] + c["add8"]["area_m2"] + lut
    return Cost(a, "mul32 + 2 add32 + add8 (R5) + 8 KB SRAM LUT at 100F^2 (memory_cells.toml)", "derived")


# ---------------------------------------------------------------- the calibrated crossbar read


@dataclass(frozen=True)
class ReadEnergy:
    """Energy of one array read (J) as a function of the rows it drives and the stored cells' mean
    normalised level, from the calibrated behavioral model at the preset's read operating point.

    Evaluated on a small grid (rows driven × level) and interpolated piecewise-linearly (no row
    driven: no energy); the array holds every cell at the mean level (a random pattern of the same
    mean differs only through the second-order change of the IR drop)."""

    rows: tuple[float, ...]
    levels: tuple[float, ...]
    energy: tuple[tuple[float, ...], ...]
    """energy[level][rows] (J)."""
    validated: bool
    reasons: tuple[str, ...]
    table: str
    pattern: str

    @classmethod
    def constant(cls, energy_j: float, source: str) -> "ReadEnergy":
        """The same energy for any read that drives a row, whatever the data (a cited figure)."""
        return cls((1e-12,), (0.0, 1.0), ((energy_j,), (energy_j,)), True, (), "cited", source)

    def __call__(self, n_rows: float, level: float) -> float:
        per_level = [float(np.interp(n_rows, (0.0,) + self.rows, (0.0,) + e)) for e in self.energy]
        return float(np.interp(level, self.levels, per_level))


@cache
def _model(path: str | None):
    from ..models.crossbar_model import CrossbarModel

    return CrossbarModel.load(path)


@cache
def read_energy(kind: str, rows: int, cols: int, max_rows: int, r_row: float, r_col: float, t_drive: float,
                g_on: float, on_off_ratio: float, v_read: float, table: str | None = None) -> ReadEnergy:
    """The :class:`ReadEnergy` of a ``rows × cols`` array of ``kind`` whose reads drive up to
    ``max_rows`` rows at ``v_read`` for ``t_drive`` seconds, cells between g_on / on_off_ratio and
    g_on (the read operating point), from the calibrated model (``calibration/crossbar.h5``).
    The answer carries the model's validity (size, wire resistance, conductance and voltage range)."""
    from ..models.crossbar_model import energy_model
    from ..netlist import KINDS, CrossbarParams

    model = _model(table)
    if kind not in KINDS:
        raise ConfigError(f"unknown crossbar kind {kind!r}; valid: {', '.join(KINDS)}")
    a = model.attrs
    if kind not in a.get("kinds", []):
        raise CalibrationError(f"calibration table {model.path} has no crossbar kind {kind!r} "
                               f"(it holds {', '.join(a.get('kinds', []))}); regenerate with `cosim calibrate crossbar`")
    params = dict(a["params"])
    params.update(kind=kind, r_row=r_row, r_col=r_col)
    p = CrossbarParams(**{k: v for k, v in params.items() if k in CrossbarParams.__dataclass_fields__})
    g_off = g_on / on_off_ratio
    n_grid = tuple(sorted({1, max(1, max_rows // 2), max_rows}))
    levels = (0.0, 0.5, 1.0)
    reasons: set[str] = set()
    energy = []
    for lv in levels:
        G = np.full((rows, cols), g_off + lv * (g_on - g_off))
        row = []
        for n in n_grid:
            V = np.zeros(rows)
            V[np.linspace(0, rows - 1, n).round().astype(int)] = v_read
            e = energy_model(model, G, V, p, t_drive, min(float(a["t_rise"]), t_drive / 10))
            row.append(e.total)
            reasons.update(e.reasons)
        energy.append(tuple(row))
    if kind not in a.get("energy_kinds", []):
        reasons.add(f"no transient energy check for kind {kind!r}")
    pattern = (f"{rows}x{cols} {kind}, G {g_off * 1e6:.3g}..{g_on * 1e6:.3g} uS, up to {max_rows} rows driven at "
               f"{v_read:g} V for {t_drive * 1e9:.4g} ns, r_row {r_row:g} / r_col {r_col:g} ohm")
    return ReadEnergy(n_grid, levels, tuple(energy), not reasons, tuple(sorted(reasons)), str(model.path), pattern)
