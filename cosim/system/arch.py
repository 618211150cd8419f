"""Crossbar accelerator architectures as named preset files (``architectures/NAME.toml``).

A preset is nested frozen dataclasses, one documented field each.  Every figure in a preset file
names its source in the file's ``[sources]`` table (key: the field's dotted path) or is one of its
written-down ``assumptions``; :func:`load_arch` refuses a preset with an unsourced number.
Any field can be overridden by dotted path (``compute.adc_bits=4``) — that is how ``cosim sweep``
and ``cosim run --set`` work — and a round trip file → object → file is lossless
(:meth:`Arch.to_dict`).
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from ..errors import ConfigError, UnknownNameError
from ..resources import data_dir


@dataclass(frozen=True)
class DataFormat:
    weight_bits: int = 8
    """Signed integer weight width."""
    act_bits: int = 8
    """Signed integer activation width (and the width of the streamed attention operands)."""


@dataclass(frozen=True)
class Compute:
    """The computation crossbars and their periphery."""

    rows: int = 128
    cols: int = 128
    cell_bits: int = 2
    """Bits stored per cell of a computation crossbar."""
    sign: Literal["differential", "offset"] = "differential"
    """Signed stored values: a positive and a negative column per slice, or one offset column."""
    dac_bits: int = 1
    """Input bits applied per read (the streamed operand goes in bit-serially)."""
    dac_energy_rule: Literal["cited", "calibrated"] = "cited"
    """Row-driver energy per input pulse: ``calibrated`` — the SPICE-calibrated 1-bit driver
    (calibration/adc.h5) driving this row's cells for one read cycle (1-bit DACs only); ``cited`` —
    ISAAC's DAC figure (4 mW per 1024 DACs at 1.2 GHz) x 2^(bits-1)."""
    input_sign: Literal["two_pass", "offset", "twos"] = "two_pass"
    """Signed streamed values: ``two_pass`` drives the positive values' magnitudes, then the negative
    ones' (2·(bits − 1) bit cycles), subtracting digitally; ``offset`` drives ``u + 2^(bits−1)``
    (bits cycles) and removes the offset digitally — cheaper, but every row is driven with about
    half of full scale, so analog errors scale with the offset, not with the value; ``twos`` drives
    the two's complement bits (bits cycles), the sign bit's cycle weighted −2^(bits−1) by the
    shift-and-add (see :mod:`cosim.system.streaming`)."""
    zero_skip: bool = False
    """Input-aware row grouping: per bit cycle the controller groups only the rows whose input digit is
    non-zero into conversions of ``rows_per_conversion`` rows, so a conversion still sums at most that
    many driven rows while the number of conversions falls with the bit-level sparsity (the
    controller's row scan is costed).  False: every group of ``rows_per_conversion`` rows is read and
    converted every cycle, driven or not."""
    spare_cols: int = 0
    """Spare columns per array (area and sense circuits costed) that the fault-aware mapping may use."""
    fault_aware: bool = False
    """Stored columns placed around the known stuck cells (post-fabrication test): per array, a
    minimum-cost assignment of the logical columns (bit slices, weighted by significance) to the
    physical ones and the spares, each stored complemented where that disagrees less with its stuck
    cells (:mod:`cosim.mapping.faults`).  Weights are mapped when programmed (a column table per
    array); written operands at every write (the fault map kept in the memory crossbars, read per
    write).  False: stored where the layout puts them, faults and all."""
    activity: Literal["uniform", "measured"] = "uniform"
    """Bit-plane activity of the operands: ``uniform`` — random data (every encoded bit 1 with
    probability ``input_activity``, stored cells at ``cell_density``); ``measured`` — per product and
    bit position from ``activity_profile`` (a multi-bit DAC digit drives its row when any of its bits
    is 1, bits taken as independent)."""
    activity_profile: str = "all-minilm-l6-v2"
    """Activity profile (``workloads/activity/NAME.json``, ``cosim activity``) used when ``activity = measured``."""
    adc_bits: int = 8
    cols_per_adc: int = 128
    """Columns sharing one ADC (time-multiplexed through sample-and-holds)."""
    rows_per_conversion: int = 128
    """Rows driven together in one read, i.e. summed into one conversion."""
    adc_range: Literal["full", "clip"] = "full"
    """How the ADC's codes map onto the column current: ``full`` spans every possible sum of the
    active rows (lossy when that needs more codes than the ADC has); ``clip`` gives one code per unit
    product (exact up to 2^bits − 1 units, larger sums saturate)."""
    adc_encoding_bits: int = 0
    """ADC bits an encoding saves (ISAAC's weight-flipping encoding saves 1)."""
    adc_energy_rule: Literal["walden", "table", "best-fom", "calibrated"] = "walden"
    """ADC energy per conversion: ``calibrated`` — the SPICE-calibrated current-mode sense amplifier +
    flash (calibration/adc.h5; 1-3 bits; it also sets the conversion period, the ADC area and the
    per-column sense-amplifier energy, and keeps the rows driven for the whole column scan, there
    being no sample-and-hold) — or a cited stand-in: the Kull 8-bit ADC's figure of merit × 2^bits,
    the Accelergy table (4–10 bits; clamped to 4 bits below), or the best published figure of merit."""
    adc_kind: Literal["flash-current", "sar-cdac"] = "flash-current"
    """Which calibrated ADC ``adc_energy_rule = calibrated`` uses: ``flash-current`` — the seed design's
    current-mode SA + 128:1 mux + flash (calibration/adc.h5, 1-3 bits, SA per column, no
    sample-and-hold); ``sar-cdac`` — the charge-redistribution SAR (calibration/adc_sar.h5, 4 and 8
    bits; the columns keep their cited sample-and-holds)."""
    adc_rate_hz: float = 1.2e9
    """Conversions per second of one ADC (ignored with adc_energy_rule = calibrated: the model's period)."""
    stationary: Literal["weights", "activations"] = "weights"
    """Which operand of a weight matmul sits in the crossbar cells: the weights (programmed once,
    every weight of the model mapped) or the activations (written per use into a shared pool of
    arrays; the weights stream in bit-serially from the memory crossbars)."""
    attention: Literal["crossbar", "digital"] = "crossbar"
    """Q·Kᵀ and scores·V: K and V written into crossbars per use, or computed by digital MAC units."""
    tiles: int = 0
    """Tiles of computation crossbars; 0 = sized to the workload: weight-stationary, as many as the mapping
    needs; activation-stationary, ``pool_copies`` times the arrays of the workload's largest written
    operand (so every product runs in one pass)."""
    pool_copies: int = 1
    """With ``tiles = 0`` on activation-stationary designs: copies of the largest written operand the pool holds."""
    arrays_per_ima: int = 8
    imas_per_tile: int = 12
    tiles_per_chip: int = 168
    pipeline: bool = True
    """Tokens stream through the layers' dedicated arrays (weight-stationary) — else op by op."""
    crossbar_kind: str = "1t1r"
    """Calibrated array kind in ``calibration/crossbar.h5`` (passive, passive_sinh, 1t1r)."""
    r_row_ohm: float = 1.0
    r_col_ohm: float = 1.0
    t_read_s: float = 100e-9
    """Crossbar read period (input pulse) — the array's share of a read cycle."""
    input_activity: float = 0.5
    """``activity = uniform``: probability that an encoded input bit is 1 (a magnitude bit of one sign in
    ``two_pass``: half that)."""
    cell_density: float = 0.5
    """``activity = uniform``: probability that a stored bit is 1, i.e. the mean normalised level of a
    cell (``sign = differential``: half that on each side)."""
    read_energy: Literal["calibrated", "isaac"] = "calibrated"
    """Crossbar read energy: from the calibrated behavioral model (``calibration/crossbar.h5``), or
    ISAAC's published 0.3 mW per crossbar over its read period (for reconstructing ISAAC)."""


@dataclass(frozen=True)
class Memory:
    """Dense RRAM crossbars used as memory (the seed's "large" crossbars)."""

    enabled: bool = False
    rows: int = 1024
    cols: int = 65536
    cell_bits: int = 4
    cell_area_f2: float = 4.0
    cols_per_sense: int = 8
    """Columns multiplexed onto one sense circuit."""
    t_sense_s: float = 10e-9
    """One sensing step (a row read of one multiplexed column set)."""
    sense_energy_rule: Literal["walden", "table", "best-fom", "calibrated"] = "walden"
    """Energy of one ``cell_bits``-bit sense, as ``compute.adc_energy_rule`` (the calibrated flash
    covers 1-3 bits; the 4-bit memory sense stays on a cited rule until a 4-bit sense is calibrated)."""
    holds_kv: bool = True
    """K and V live in the memory crossbars (written every token)."""


@dataclass(frozen=True)
class Digital:
    lanes_per_tile: int = 2
    """Digital function-unit lanes (softmax, norms, GELU, adds), one element per lane per clock."""
    attention_macs_per_tile: int = 64
    """Digital INT8 MAC units per tile (used when ``compute.attention = "digital"``)."""
    softmax: Literal["digital", "analog"] = "digital"
    """Softmax on the digital lanes, or on analog softmax units (calibration/nonlinear.h5, with the
    score DACs and the calibrated 8-bit SAR ADCs that read them out)."""
    softmax_units_per_tile: int = 1
    """Analog softmax units per tile (``softmax = "analog"``); each converts one row at a time."""
    softmax_inputs: int = 128
    """Inputs of one analog softmax unit: the longest score row it takes."""
    softmax_adcs: int = 8
    """Output ADCs (8-bit SAR) per analog softmax unit."""
    softmax_corner: str = "nominal"
    """Corner of the analog softmax (a corner of calibration/nonlinear.h5)."""
    softmax_gain: Literal["fixed", "ptat"] = "fixed"
    """Score-DAC gain of the analog softmax: fixed at the nominal slope, or PTAT."""
    softmax_mismatch: Literal["raw", "trimmed", "none"] = "raw"
    """Branch mismatch of the analog softmax (Pelgrom σ(ΔV_T) per branch, one Monte Carlo instance per
    layer's unit): ``raw`` as fabricated; ``trimmed`` with a per-branch offset code added at the score
    DAC's input (measured once; residual within half a DAC step; costs an INT8 add per input and the
    codes' storage); ``none`` an ideal, matched unit (for comparison only)."""


@dataclass(frozen=True)
class Reliability:
    endurance: str = "endurance_taox"
    """Component entry (``architectures/components.toml``) giving cell endurance in write cycles."""
    endurance_low: str = "endurance_hfox"
    """A second, pessimistic endurance entry, reported beside the first."""
    duty: float = 1.0
    """Fraction of time the accelerator runs this workload back to back (lifetime = endurance / rate)."""


@dataclass(frozen=True)
class Analog:
    """The computation crossbars' read operating point (``g_on_s``, ``on_off_ratio``, ``v_read``: one
    for the crossbar read energy, the row driver and the functional simulation alike) and their
    device and converter non-idealities (the functional simulation's inputs, ``cosim accuracy``).
    Each non-ideality is switched off by setting it to 0 (``ir_drop`` to false)."""

    g_on_s: float = 40e-6
    """Conductance of a cell at its highest level (S)."""
    on_off_ratio: float = 150.0
    """G_on / G_off.  The lowest level is G_off; a reference column cancels the nominal G_off current."""
    v_read: float = 0.5
    """Read voltage across a driven row's cells (V): the row driver's swing."""
    prog_sigma: float = 1.0
    """Conductance programming error after write-verify, as a multiple of Wan et al.'s measured
    σ(G) (Nature 2022, the polynomial of IBM aihwkit's ReRamWan2022NoiseModel at 1 s: 0.35 µS at
    G_off rising to 2.3 µS near 30 % of a 40 µS range, 1.1 µS at G_on; scaled with ``g_on_s``).
    Gaussian, drawn per cell per write."""
    d2d_sigma: float = 0.05
    """Device-to-device variation: Gaussian, σ as a fraction of the cell's own conductance, static per
    device (per write for operands written into a pool whose cell assignment is not modelled)."""
    rtn_amplitude: float = 0.05
    """Random telegraph noise on reads: every cell's conductance is G·(1 ± a), sign drawn per cell per
    read (equiprobable states), a relative to that cell's conductance (G_off cells included)."""
    stuck_off_rate: float = 0.09
    """Fraction of cells stuck at G_off (high-resistance state), whatever is written."""
    stuck_on_rate: float = 0.01
    """Fraction of cells stuck at G_on (low-resistance state)."""
    ir_drop: bool = True
    """Wire IR drop and cell I–V nonlinearity: a gain per cell position from the calibrated crossbar
    model (``compute.crossbar_kind``, ``r_row_ohm``, ``r_col_ohm``) for the array at mean data."""
    ir_compensation: bool = True
    """ADC references trimmed per column to that column's mean gain (a one-time calibration of the
    array), leaving the gain's variation along the column; false: the raw gain."""
    adc_offset_lsb: float = 0.1
    """Static threshold offset of each ADC: Gaussian σ in LSB, drawn per ADC (``adc_offsets = gaussian``)."""
    adc_offsets: Literal["gaussian", "calibrated"] = "gaussian"
    """``calibrated``: every ADC's thresholds come from the SPICE-calibrated Monte Carlo model of the
    compute ADC (calibration/adc.h5: per-device Pelgrom ΔV_T draws → one offset per threshold, with
    the measured spread, e.g. 0.14 / 0.27 / 0.39 LSB for the 2-bit flash); ``adc_offset_lsb`` is then
    not used.  ``gaussian``: one common shift per ADC, σ = ``adc_offset_lsb``."""
    adc_trim_lsb: float = 0.0
    """With ``adc_offsets = calibrated``: a one-time per-ADC trim of each threshold in steps of this
    size (LSB), leaving a residual offset uniform within ± half a step; 0 = untrimmed.  An assumption
    (the trim circuit, e.g. a small DAC on each reference sink, is not simulated)."""
    adc_noise_lsb: float = 0.1
    """Input-referred ADC noise: Gaussian σ in LSB, drawn per conversion (``adc_noise = gaussian``)."""
    adc_noise: Literal["gaussian", "calibrated"] = "gaussian"
    """``calibrated``: the σ is the SPICE-calibrated ADC's input-referred noise (ngspice .noise,
    largest over its thresholds, e.g. 0.012 LSB for the 2-bit flash); ``gaussian``: ``adc_noise_lsb``."""


#: The non-idealities the accuracy budget switches one at a time: name → fields set to "off".
NONIDEALITIES = {
    "programming": {"prog_sigma": 0.0},
    "d2d": {"d2d_sigma": 0.0},
    "rtn": {"rtn_amplitude": 0.0},
    "stuck": {"stuck_off_rate": 0.0, "stuck_on_rate": 0.0},
    "ir_drop": {"ir_drop": False},  # with or without compensation (analog.ir_compensation)
    "adc_offset": {"adc_offset_lsb": 0.0, "adc_offsets": "gaussian"},
    "adc_noise": {"adc_noise_lsb": 0.0, "adc_noise": "gaussian"},
}


@dataclass(frozen=True)
class Component:
    name: str
    count: float
    """Instances per tile (or per chip)."""
    ref: str
    """Entry in ``architectures/components.toml`` giving power_w and area_m2 (and the source)."""


@dataclass(frozen=True)
class Arch:
    name: str
    description: str
    node_m: float = 32e-9
    clock_hz: float = 1.2e9
    data: DataFormat = DataFormat()
    compute: Compute = Compute()
    memory: Memory = Memory()
    digital: Digital = Digital()
    reliability: Reliability = Reliability()
    analog: Analog = Analog()
    tile_components: tuple[Component, ...] = ()
    chip_components: tuple[Component, ...] = ()
    sources: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    assumptions: tuple[str, ...] = ()
    path: str = field(default="", compare=False)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d.pop("path")
        d["kind"] = "crossbar"
        d["tile_components"] = [dataclasses.asdict(c) for c in self.tile_components]
        d["chip_components"] = [dataclasses.asdict(c) for c in self.chip_components]
        d["assumptions"] = list(self.assumptions)
        return d

    def get(self, dotted: str) -> Any:
        obj: Any = self
        for part in dotted.split("."):
            obj = getattr(obj, part)
        return obj


_SECTIONS = {"data": DataFormat, "compute": Compute, "memory": Memory, "digital": Digital, "reliability": Reliability,
             "analog": Analog}


def arch_names() -> list[str]:
    """Simulated (crossbar) presets; reference platforms are listed by :mod:`cosim.system.reference`."""
    return sorted(p.stem for p in data_dir("architectures").glob("*.toml") if 'kind = "crossbar"' in p.read_text())


def _coerce(cls, name: str, value: Any, where: str):
    """Check and convert one field value to its declared type."""
    f = {f.name: f for f in fields(cls)}.get(name)
    if f is None:
        raise ConfigError(f"{where}: unknown field {name!r}; valid: {', '.join(x.name for x in fields(cls))}")
    t = str(f.type)
    if t.startswith("Literal"):
        allowed = [x.strip().strip("'\"") for x in t[len("Literal["):-1].split(",")]
        if value not in allowed:
            raise ConfigError(f"{where}: {name} must be one of {', '.join(allowed)}, not {value!r}")
        return value
    try:
        if t == "int":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if t == "float":
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if t == "bool":
            if isinstance(value, str):
                if value.lower() not in ("true", "false", "1", "0"):
                    raise ValueError
                return value.lower() in ("true", "1")
            if not isinstance(value, bool):
                raise ValueError
            return value
        if t == "str":
            if not isinstance(value, str):
                raise ValueError
            return value
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {name} = {value!r} is not a valid {t}") from None
    return value


def _check(a: Arch, where: str) -> None:
    c, m, d = a.compute, a.memory, a.data
    bad = []
    for name, v in (("data.weight_bits", d.weight_bits), ("data.act_bits", d.act_bits), ("compute.rows", c.rows),
                    ("compute.cols", c.cols), ("compute.cell_bits", c.cell_bits), ("compute.dac_bits", c.dac_bits),
                    ("compute.adc_bits", c.adc_bits), ("compute.cols_per_adc", c.cols_per_adc),
                    ("compute.rows_per_conversion", c.rows_per_conversion), ("compute.arrays_per_ima", c.arrays_per_ima),
                    ("compute.imas_per_tile", c.imas_per_tile), ("compute.tiles_per_chip", c.tiles_per_chip)):
        if v < 1:
            bad.append(f"{name} = {v} must be >= 1")
    # upper limits: beyond them a run would exhaust the machine rather than answer
    for name, v, hi in (("compute.rows", c.rows, 4096), ("compute.cols", c.cols, 4096),
                        ("memory.rows", m.rows, 65536), ("memory.cols", m.cols, 65536),
                        ("data.weight_bits", d.weight_bits, 32), ("data.act_bits", d.act_bits, 32),
                        ("compute.cell_bits", c.cell_bits, 8), ("compute.dac_bits", c.dac_bits, 16),
                        ("compute.adc_bits", c.adc_bits, 16), ("compute.arrays_per_ima", c.arrays_per_ima, 10**6),
                        ("compute.imas_per_tile", c.imas_per_tile, 10**6),
                        ("compute.tiles_per_chip", c.tiles_per_chip, 10**7), ("compute.tiles", c.tiles, 10**9)):
        if v > hi:
            bad.append(f"{name} = {v} exceeds {hi}")
    for name, v in (("node_m", a.node_m), ("clock_hz", a.clock_hz), ("compute.adc_rate_hz", c.adc_rate_hz),
                    ("compute.t_read_s", c.t_read_s), ("compute.r_row_ohm", c.r_row_ohm), ("compute.r_col_ohm", c.r_col_ohm)):
        if not v > 0:
            bad.append(f"{name} = {v} must be > 0")
    if not 0 <= c.spare_cols <= c.cols:
        bad.append(f"compute.spare_cols = {c.spare_cols} must lie in 0..compute.cols")
    if c.tiles < 0:
        bad.append("compute.tiles must be >= 0 (0: as many as the mapping needs)")
    if c.pool_copies < 1:
        bad.append("compute.pool_copies must be >= 1")
    if c.stationary == "activations" and not m.enabled:
        bad.append("compute.stationary = activations streams the weights from memory: memory.enabled must be true")
    if c.rows_per_conversion > c.rows:
        bad.append(f"compute.rows_per_conversion = {c.rows_per_conversion} exceeds compute.rows = {c.rows}")
    if c.cols_per_adc > c.cols:
        bad.append(f"compute.cols_per_adc = {c.cols_per_adc} exceeds compute.cols = {c.cols}")
    if not 0 <= c.adc_encoding_bits < c.adc_bits + 8:
        bad.append("compute.adc_encoding_bits out of range")
    if c.sign == "differential" and d.weight_bits < 2:
        bad.append("differential sign needs weight_bits >= 2")
    if not (0 < c.input_activity <= 1 and 0 < c.cell_density <= 1):
        bad.append("compute.input_activity and compute.cell_density must lie in (0, 1]")
    if m.enabled and min(m.rows, m.cols, m.cell_bits, m.cols_per_sense) < 1:
        bad.append("memory rows, cols, cell_bits and cols_per_sense must be >= 1")
    if m.enabled and not (m.cell_area_f2 > 0 and m.t_sense_s > 0):
        bad.append("memory.cell_area_f2 and memory.t_sense_s must be > 0")
    if a.digital.lanes_per_tile < 0 or a.digital.attention_macs_per_tile < 0:
        bad.append("digital lanes must be >= 0")
    if c.attention == "digital" and a.digital.attention_macs_per_tile < 1:
        bad.append("compute.attention = digital needs digital.attention_macs_per_tile >= 1")
    if not 0 < a.reliability.duty <= 1:
        bad.append("reliability.duty must lie in (0, 1]")
    an = a.analog
    if not (an.g_on_s > 0 and an.on_off_ratio > 1 and an.v_read > 0):
        bad.append("analog.g_on_s and analog.v_read must be > 0 and analog.on_off_ratio > 1")
    for name in ("prog_sigma", "d2d_sigma", "rtn_amplitude", "adc_offset_lsb", "adc_noise_lsb", "adc_trim_lsb"):
        if getattr(an, name) < 0:
            bad.append(f"analog.{name} must be >= 0")
    if not (0 <= an.stuck_off_rate and 0 <= an.stuck_on_rate and an.stuck_off_rate + an.stuck_on_rate <= 1):
        bad.append("analog stuck rates must lie in [0, 1] and sum to at most 1")
    if bad:
        raise ConfigError(f"{where}: impossible configuration: " + "; ".join(bad))


def _numbers(d: dict, prefix: str = "") -> list[str]:
    out = []
    for k, v in d.items():
        if isinstance(v, dict):
            out += _numbers(v, f"{prefix}{k}.")
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out.append(prefix + k)
    return out


def _parse(d: dict, where: str, path: str = "") -> Arch:
    d = dict(d)
    if d.pop("kind", None) != "crossbar":
        raise ConfigError(f"{where}: not a crossbar architecture preset (kind = \"crossbar\" missing)")
    sources = d.pop("sources", {})
    assumptions = tuple(d.pop("assumptions", ()))
    if not isinstance(sources, dict) or not all(isinstance(s, str) for s in assumptions):
        raise ConfigError(f"{where}: [sources] must be a table and assumptions a list of strings")
    # every number in the preset cites a source (or an assumption, referenced as "assumption: …")
    unsourced = [k for k in _numbers({s: d.get(s, {}) for s in _SECTIONS}) + _numbers(
        {k: v for k, v in d.items() if k not in _SECTIONS}) if k not in sources]
    if unsourced:
        raise ConfigError(f"{where}: figures without a source in [sources]: {', '.join(unsourced)}")
    kw: dict[str, Any] = {}
    for sec, cls in _SECTIONS.items():
        raw = d.pop(sec, {})
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: [{sec}] must be a table")
        kw[sec] = cls(**{k: _coerce(cls, k, v, f"{where} [{sec}]") for k, v in raw.items()})
    comps = {}
    for level in ("tile_components", "chip_components"):
        try:
            comps[level] = tuple(Component(str(c["name"]), float(c["count"]), str(c["ref"])) for c in d.pop(level, []))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: {level}: each needs name, count, ref ({exc})") from None
    try:
        a = Arch(name=str(d.pop("name")), description=str(d.pop("description", "")),
                 node_m=float(d.pop("node_m", 32e-9)), clock_hz=float(d.pop("clock_hz", 1.2e9)),
                 sources=dict(sources), assumptions=assumptions, path=path, **kw, **comps)
    except KeyError as exc:
        raise ConfigError(f"{where}: missing {exc}") from None
    if d:
        raise ConfigError(f"{where}: unknown keys {', '.join(sorted(d))}")
    from .costs import components

    known = components()
    for c in a.tile_components + a.chip_components:
        if c.ref not in known:
            raise UnknownNameError(f"component (in {where})", c.ref, known)
    for ref in (a.reliability.endurance, a.reliability.endurance_low):
        if ref not in known or "cycles" not in known[ref]:
            raise ConfigError(f"{where}: reliability entry {ref!r} is not an endurance entry of components.toml")
    _check(a, where)
    return a


def load_arch(name_or_path: str, overrides: dict[str, Any] | None = None) -> Arch:
    """A preset by name (``large-small``) or by path to a ``.toml`` file, with dotted overrides."""
    p = Path(name_or_path)
    if p.suffix != ".toml":
        p = data_dir("architectures") / f"{name_or_path}.toml"
        if not p.is_file() or name_or_path not in arch_names():
            from .reference import reference_platforms

            if name_or_path in reference_platforms():
                raise ConfigError(f"{name_or_path} is a reference platform (published figures), not a simulated "
                                  f"architecture; use it in `cosim compare`")
            raise UnknownNameError("architecture", name_or_path, arch_names())
    elif not p.is_file():
        raise ConfigError(f"architecture file {p} not found")
    try:
        d = tomllib.loads(p.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"architecture {p}: {exc}") from None
    a = _parse(d, str(p), str(p))
    return with_overrides(a, overrides or {})


def with_overrides(a: Arch, overrides: dict[str, Any]) -> Arch:
    """A copy of ``a`` with dotted-path fields replaced (values may be strings from a command line)."""
    if not overrides:
        return a
    kw: dict[str, dict] = {}
    top: dict[str, Any] = {}
    for key, value in overrides.items():
        parts = key.split(".")
        if len(parts) == 2 and parts[0] in _SECTIONS:
            cls = _SECTIONS[parts[0]]
            kw.setdefault(parts[0], {})[parts[1]] = _coerce(cls, parts[1], _from_text(value), f"--set {key}")
        elif len(parts) == 1 and parts[0] in ("node_m", "clock_hz"):
            top[parts[0]] = _coerce(Arch, parts[0], _from_text(value), f"--set {key}")
        else:
            valid = [f"{s}.{f.name}" for s, cls in _SECTIONS.items() for f in fields(cls)] + ["node_m", "clock_hz"]
            raise UnknownNameError("architecture field", key, valid)
    new = replace(a, **top, **{s: replace(getattr(a, s), **v) for s, v in kw.items()})
    _check(new, f"architecture {a.name} with overrides")
    return new


def _from_text(v: Any) -> Any:
    """Command-line values arrive as text: numbers become numbers, the rest stays as given."""
    if not isinstance(v, str):
        return v
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return v


def field_names() -> list[str]:
    return [f"{s}.{f.name}" for s, cls in _SECTIONS.items() for f in fields(cls)] + ["node_m", "clock_hz"]
