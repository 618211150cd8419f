"""The system-level simulator: a workload mapped onto a crossbar architecture → energy, area, latency.

Energy is events × per-event energies (crossbar reads, ADC conversions, DAC drives, sample-and-holds,
shift-and-adds, cell writes, memory reads and writes, buffer traffic, on-chip and chip-to-chip data
movement, digital function-unit operations); every per-event figure is a :class:`~cosim.system.costs.Cost`
from ``calibration/`` or a cited constant, listed in the result.  Area is the chip's component
inventory (arrays, ADCs, DACs, sample-and-holds, shift-and-adds, registers, buffers, routers, digital
lanes, memory crossbars and their sense circuits, chip I/O).  Latency comes from a schedule:

* weight-stationary (``compute.stationary = weights``): every weight has its own arrays; all tiles of a
  product work in parallel and, with ``compute.pipeline``, tokens stream through the layers' arrays
  (ISAAC's pipeline), broken at each attention, which needs every K and V of the sequence.  A segment
  of operations between barriers takes Σ stage times + the slowest operation's remaining busy time.
* activation-stationary (``stationary = activations``): a shared pool of arrays runs one operation after
  another; each writes its stored operand (replicated over the idle arrays of the pool, every copy
  written), then streams the other operand bit by bit, overlapped with the weight stream from the
  memory crossbars.
* decode steps run one after another (each token depends on the last).

A product ``Y[m×n] = X[m×k]·W[k×n]`` with a stored operand of ``k × s`` values and ``v`` streamed vectors:
each stored value spans ``slices × sides`` cells; the ``k`` rows split over row tiles and groups of
``rows_per_conversion`` rows; each streamed vector goes in ``ceil(bits / dac_bits)`` bit cycles; every
read of a row group converts every used column once.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from ..errors import ConfigError
from ..workloads import Workload
from ..workloads.ops import Op
from .arch import Arch
from .costs import (Cost, ReadCost, adc_area, adc_energy, adc_period, calibrated_adc, components, const, crossbar_read,
                    analog_softmax_row, analog_softmax_unit, dfu_lane_area, element_energy)


@dataclass
class Plan:
    """Static facts of one architecture for one workload: the mapping and the chip."""

    tiles: int
    chips: int
    arrays: int
    weight_arrays: int
    attention_arrays: int
    memory_arrays: int
    t_cycle_s: float
    cells_per_value: int
    lossless_adc: bool
    adc_levels_needed: int
    adc_levels: int


@dataclass
class Result:
    model: str
    arch: str
    seq_len: int
    batch: int
    decode_tokens: int
    macs: int
    energy_j: float
    area_m2: float
    latency_s: float
    breakdown: dict[str, float]
    area_breakdown: dict[str, float]
    latency_by_layer: dict[str, float]
    latency_by_phase: dict[str, float]
    events: dict[str, float]
    costs: dict[str, dict]
    plan: dict
    power_peak_w: float
    lifetime: dict[str, float]
    unvalidated: list[str]
    notes: list[str] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)

    @property
    def adp_m2s(self) -> float:
        return self.area_m2 * self.latency_s

    def summary(self) -> dict:
        return {
            "model": self.model, "arch": self.arch, "kind": "simulation", "seq_len": self.seq_len,
            "batch": self.batch, "decode_tokens": self.decode_tokens, "macs": self.macs,
            "energy_j": self.energy_j, "area_m2": self.area_m2, "latency_s": self.latency_s,
            "adp_m2s": self.adp_m2s, "power_peak_w": self.power_peak_w, "breakdown": self.breakdown,
            "area_breakdown": self.area_breakdown, "latency_by_layer": self.latency_by_layer,
            "latency_by_phase": self.latency_by_phase, "events": self.events, "plan": self.plan,
            "lifetime": self.lifetime, "costs": self.costs, "unvalidated": self.unvalidated,
            "notes": self.notes, "assumptions": self.assumptions,
        }


# ---------------------------------------------------------------- mapping helpers


def cells_per_value(arch: Arch, bits: int) -> tuple[int, int]:
    """(slices, sides) of one stored ``bits``-bit signed value."""
    from ..mapping.tiling import tile_matrix

    c = arch.compute
    t = tile_matrix("value", 1, 1, rows=c.rows, cols=c.cols, weight_bits=bits, cell_bits=c.cell_bits, sign=c.sign)
    return t.slices, t.sides


def _groups(k: int, rows: int, rpc: int) -> tuple[int, int]:
    """(row groups over all row tiles, row groups of the fullest tile)."""
    full, rem = divmod(k, rows)
    total = full * math.ceil(rows / rpc) + (math.ceil(rem / rpc) if rem else 0)
    return total, math.ceil(min(k, rows) / rpc)


@dataclass
class Product:
    """One matrix product as the crossbars see it (per step; ``inst`` parallel instances)."""

    k: int
    s: float
    """Stored operand width (values per row)."""
    v: float
    """Streamed vectors per instance per step."""
    inst: float
    steps: int
    stream_bits: int
    stored_bits: int
    written: bool
    new_rows: float = 0.0
    """If > 0: per step only this many new rows of the stored operand are written (resident KV)."""
    new_cols: float = 0.0
    """If > 0: per step only this many new stored columns (values) are written (resident Kᵀ)."""
    from_memory: bool = False
    """The streamed operand (the weights) comes from the memory crossbars."""


def stream_cycles(c, bits: int) -> int:
    """Bit cycles to stream one signed ``bits``-bit vector (``compute.input_sign``)."""
    if c.input_sign == "two_pass":
        return 2 * math.ceil((bits - 1) / c.dac_bits)
    return math.ceil(bits / c.dac_bits)


def product_of(arch: Arch, op: Op) -> Product:
    """How ``op`` (a matmul) maps: which operand is stored, how many vectors stream."""
    steps = op.count if op.phase == "decode" else 1
    wb, ab = arch.data.weight_bits, arch.data.act_bits
    if op.kind == "matmul_w":
        m = op.m  # rows per step
        if arch.compute.stationary == "weights":
            return Product(op.k, op.n, m, 1, steps, ab, wb, written=False)
        return Product(op.k, m, op.n, 1, steps, wb, ab, written=True, from_memory=True)
    # attention: per (sequence, head) instance; decode ops carry the longest context, macs the exact sum
    inst = op.count // steps
    ctx_avg = op.macs / (op.count * op.m * (op.k if op.name.endswith("qk") else op.n))
    if op.name.endswith("qk"):  # stored Kᵀ: d rows × ctx values; stream q_len queries
        p = Product(op.k, ctx_avg, op.m, inst, steps, ab, ab, written=True)
        if op.phase == "decode":
            p.new_cols = 1
    else:  # scores·V: stored V: ctx rows × d values; stream q_len score rows
        p = Product(max(1, round(ctx_avg)), op.n, op.m, inst, steps, ab, ab, written=True)
        if op.phase == "decode":
            p.new_rows = 1
    return p


# ---------------------------------------------------------------- the simulator


class _Acc:
    def __init__(self):
        self.energy: dict[str, float] = defaultdict(float)
        self.events: dict[str, float] = defaultdict(float)

    def add(self, what: str, n: float, e: float, category: str | None = None):
        self.events[what] += n
        self.energy[category or what] += n * e


def _dac_cost(arch: Arch, t_pulse: float) -> Cost:
    """The calibrated row driver driving one row of ``cols`` cells (on with probability
    ``cell_density`` at the analog section's g_on, else g_on / on_off_ratio) for ``t_pulse``."""
    from ..errors import ModelRangeError
    from ..models.adc import load_dac

    c, an = arch.compute, arch.analog
    if c.dac_bits != 1:
        raise ConfigError("dac_energy_rule = calibrated covers 1-bit DACs only; use cited for wider ones")
    drv = load_dac("nominal")
    g_total = c.cols * an.g_on_s * (c.cell_density + (1 - c.cell_density) / an.on_off_ratio)
    try:
        e = drv.energy(c.cols, g_total, t_pulse)
    except ModelRangeError as exc:
        raise ConfigError(f"dac_energy_rule = calibrated: {exc}") from None
    return Cost(e, f"SPICE-calibrated 1-bit row driver (calibration/adc.h5): {c.cols} cells, "
                f"{g_total * 1e3:.2f} mS, {t_pulse * 1e9:.0f} ns pulse", "calibrated",
                "boundary: driver supplies minus the crossbar read boundary's share")


def no_sample_hold(c) -> bool:
    """The calibrated current-mode flash senses each column with its own sense amplifier and has no
    sample-and-hold (the rows stay driven while it scans); every other ADC keeps the sample-and-holds."""
    return c.adc_energy_rule == "calibrated" and c.adc_kind == "flash-current"


def row_drive_s(c, t_cycle: float) -> float:
    """How long a read drives its rows: the whole cycle without sample-and-holds (the ADC scans live
    columns), else the read pulse (the sample-and-holds keep the column values)."""
    return t_cycle if no_sample_hold(c) else c.t_read_s


def read_cycle(c) -> float:
    """Seconds per array read: the read pulse, or the ADC's scan of its columns if longer."""
    return max(c.t_read_s, c.cols_per_adc * adc_period(c))


def _read_cost(arch: Arch, rows_active: int, table: str | None) -> tuple[Cost, ReadCost | None]:
    c = arch.compute
    # with the calibrated current-mode ADC there is no sample-and-hold: the rows stay driven while
    # the ADC scans its columns
    t_read = read_cycle(c) if no_sample_hold(c) else c.t_read_s
    if c.read_energy == "isaac":
        x = components()["crossbar_128x128"]
        e = x["power_w"] * x["read_s"] * (c.rows * c.cols / 16384)
        return Cost(e, f"crossbar_128x128: {x['src']} (0.3 mW x 100 ns, scaled by cells)", "cited"), None
    from ..errors import ModelRangeError

    try:
        r = crossbar_read(c.crossbar_kind, c.rows, c.cols, c.cell_bits, rows_active, c.r_row_ohm, c.r_col_ohm,
                          t_read, c.input_activity, c.cell_density, table)
    except ModelRangeError as exc:
        raise ConfigError(f"crossbar read of {arch.name} lies outside the calibrated device tables: {exc}") from None
    status = "calibrated" if r.validated else "unvalidated"
    return Cost(r.energy_j, f"calibrated model, {r.table}: {r.pattern}", status, "; ".join(r.reasons)), r


def plan_chip(arch: Arch, w: Workload) -> Plan:
    from ..mapping.tiling import tile_model

    c, s = arch.compute, w.shape
    slices, sides = cells_per_value(arch, arch.data.weight_bits)
    aps = c.arrays_per_ima * c.imas_per_tile
    if c.stationary == "weights":
        t = tile_model(s, rows=c.rows, cols=c.cols, weight_bits=arch.data.weight_bits, cell_bits=c.cell_bits,
                       sign=c.sign)
        weight_arrays = t.arrays
        att = 0
        if c.attention == "crossbar":  # every layer's Kᵀ and V for the whole batch (layers run concurrently)
            ctx = w.seq_len + w.decode_tokens
            a_slices, a_sides = cells_per_value(arch, arch.data.act_bits)
            cpv = a_slices * a_sides
            per_head = (math.ceil(s.d_head / c.rows) * math.ceil(ctx * cpv / c.cols)
                        + math.ceil(ctx / c.rows) * math.ceil(s.d_head * cpv / c.cols))
            att = per_head * s.n_kv_heads * w.batch * s.n_layers
        needed = math.ceil((weight_arrays + att) / aps)
        if c.tiles and c.tiles < needed:
            raise ConfigError(f"{arch.name}: {s.name} needs {needed} tiles ({weight_arrays} weight arrays + {att} "
                              f"attention arrays at {aps} per tile) but compute.tiles fixes {c.tiles}")
        tiles = c.tiles or needed
    else:
        weight_arrays, att, tiles = 0, 0, c.tiles
    chips = math.ceil(tiles / c.tiles_per_chip)
    mem_arrays = 0
    if arch.memory.enabled:
        m = arch.memory
        bits = s.total_params() * arch.data.weight_bits
        if m.holds_kv:
            bits += kv_values(w) * arch.data.act_bits
        mem_arrays = math.ceil(bits / (m.rows * m.cols * m.cell_bits))
    t_cycle = read_cycle(c)
    a_slices, a_sides = cells_per_value(arch, arch.data.act_bits)
    need = c.rows_per_conversion * (2**c.cell_bits - 1) * (2**c.dac_bits - 1) + 1
    have = 2 ** (c.adc_bits + c.adc_encoding_bits)
    lossless = need <= have
    return Plan(tiles, chips, tiles * aps, weight_arrays, att, mem_arrays, t_cycle, slices * sides, lossless, need, have)


def kv_values(w: Workload) -> int:
    """Values of K and V held for the whole run (every layer, position and sequence)."""
    s = w.shape
    return 2 * s.n_layers * s.n_kv_heads * s.d_head * (w.seq_len + w.decode_tokens) * w.batch


def simulate(w: Workload, arch: Arch, *, table: str | None = None) -> Result:
    """Energy, area and latency of workload ``w`` on architecture ``arch``."""
    c, d, mem = arch.compute, arch.data, arch.memory
    plan = plan_chip(arch, w)
    acc = _Acc()
    costs: dict[str, Cost] = {}
    unvalidated: list[str] = []
    notes: list[str] = []

    # ---- per-event costs
    rpc = min(c.rows_per_conversion, c.rows)
    costs["crossbar_read"], _ = _read_cost(arch, rpc, table)
    costs["adc"] = adc_energy(c.adc_bits, c.adc_energy_rule, c.adc_kind)
    if c.dac_energy_rule == "calibrated":
        costs["dac"] = _dac_cost(arch, row_drive_s(c, plan.t_cycle_s))
    else:
        costs["dac"] = Cost(const("dac_1b", "energy_j").value * 2 ** (c.dac_bits - 1),
                            const("dac_1b", "energy_j").source, "derived",
                            "1-bit figure x 2^(bits-1) for wider DACs (stated rule)")
    if no_sample_hold(c):
        m = calibrated_adc(c.adc_bits)
        if c.cols_per_adc != m.n_mux:
            unvalidated.append(f"ADC: calibrated with a {m.n_mux}:1 column mux, used here for {c.cols_per_adc} columns "
                               "(its period, energy and area are the 128-input mux's)")
        costs["sample_hold"] = Cost(m.sa_energy_per_read(plan.t_cycle_s), "calibrated current-mode sense amplifier: "
                                    f"clamp bias {m.i_bias * 1e6:g} uA x {m.vdd:g} V for one read cycle, per column "
                                    "(no sample-and-hold)", "calibrated")
    else:
        costs["sample_hold"] = const("sample_hold", "energy_j")
    costs["shift_add"] = const("shift_add", "energy_j")
    costs["cell_write"] = const("rram_write", "energy_j_per_cell")
    costs["buffer"] = const("sram_32kb_access", "energy_j_per_byte")
    costs["noc"] = const("noc_hop", "energy_j_per_byte")
    costs["chip_link"] = const("chip_link", "energy_j_per_byte")
    costs["digital_mac"] = Cost(const("mul8", "energy_j").value + const("add32", "energy_j").value,
                                "mul8 + add32 per MAC (R5)", "cited")
    if mem.enabled:
        sense = adc_energy(mem.cell_bits, mem.sense_energy_rule)
        cell_rc, _ = _mem_cell_read(arch, table)
        costs["memory_read"] = Cost(sense.value + cell_rc.value, f"one {mem.cell_bits}-bit sense ({sense.source}) + "
                                    f"cell read ({cell_rc.source})", "cited",
                                    "per memory cell read; stand-in until the sense/ADC calibration lands")
        if cell_rc.status == "unvalidated":
            unvalidated.append(f"memory cell read energy: {cell_rc.note}")
        costs["memory_write"] = const("rram_write", "energy_j_per_cell")
    else:
        costs["dram"] = const("dram_access", "energy_j_per_byte")
    if costs["crossbar_read"].status == "unvalidated":
        unvalidated.append(f"crossbar read energy: {costs['crossbar_read'].note}")
    if not plan.lossless_adc:
        unvalidated.append(f"ADC mapping is lossy: {rpc} rows per conversion need {plan.adc_levels_needed} levels, "
                           f"the ADC has {plan.adc_levels} ({c.adc_range} range) — accuracy not yet quantified "
                           f"(functional simulator, issue 4)")
    lanes = arch.digital.lanes_per_tile * plan.tiles
    if lanes < 1:
        raise ConfigError(f"{arch.name}: digital.lanes_per_tile = 0 leaves no unit to run softmax, norms and GELU")
    ab = d.act_bits / 8  # bytes per activation
    mesh_hops = max(1.0, 2 / 3 * math.sqrt(plan.tiles))
    mem_bw_bits = 0.0
    if mem.enabled:
        mem_bw_bits = plan.memory_arrays * (mem.cols / mem.cols_per_sense) * mem.cell_bits / mem.t_sense_s
    pool = plan.arrays
    t_cycle = plan.t_cycle_s
    write_row_s = const("rram_write", "row_latency_s").value
    compute_cells_written = 0.0

    # ---- operations → events and times
    sched: list[tuple[Op, float, float, bool]] = []  # (op, busy_s, stage_s, barrier_before)
    for op in w.ops:
        steps = w.decode_tokens if op.phase == "decode" else 1
        if op.kind in ("matmul_w", "matmul_a"):
            if op.kind == "matmul_a" and c.attention == "digital":
                acc.add("digital_mac", op.macs, costs["digital_mac"].value, "digital_attention")
                busy = op.macs / (arch.digital.attention_macs_per_tile * plan.tiles * arch.clock_hz)
                acc.add("buffer_byte", 2 * op.macs / max(op.k, 1) * ab, costs["buffer"].value, "buffer")
                sched.append((op, busy, busy / max(1, op.m * steps), op.name.endswith("qk")))
                continue
            p = product_of(arch, op)
            busy, stage, written = _product(arch, plan, p, acc, costs, pool, t_cycle, write_row_s, mem_bw_bits)
            compute_cells_written += written
            # activation traffic through the tile buffers and the network
            out_bytes = op.macs / max(op.k, 1) * ab
            in_bytes = out_bytes / max(op.n, 1) * op.k
            acc.add("buffer_byte", in_bytes + out_bytes, costs["buffer"].value, "buffer")
            acc.add("noc_byte_hop", out_bytes * mesh_hops, costs["noc"].value, "noc")
            if plan.chips > 1 and op.name in ("mlp.down_proj", "lm_head"):
                acc.add("chip_link_byte", out_bytes * (plan.chips - 1) / plan.chips, costs["chip_link"].value, "chip_link")
            sched.append((op, busy, stage, op.name.endswith("qk")))
        else:
            kind = op.kind
            if kind == "embedding":
                if mem.enabled:
                    cells = op.elements * d.weight_bits / mem.cell_bits
                    acc.add("memory_cell_read", cells, costs["memory_read"].value, "memory_read")
                else:
                    acc.add("dram_byte", op.elements * d.weight_bits / 8, costs["dram"].value, "dram")
                busy = op.elements / (lanes * arch.clock_hz)
            elif kind == "softmax" and arch.digital.softmax == "analog":
                dg = arch.digital
                rows = op.m * op.count
                e_row, t_row = analog_softmax_row(max(2, round(op.elements / rows)), dg, longest=op.n)
                acc.add("analog_softmax_row", rows, e_row, "analog_softmax")
                busy = rows * t_row / max(1, dg.softmax_units_per_tile * plan.tiles)
            else:
                ec = costs.setdefault(f"digital_{kind}", element_energy(kind))
                cat = {"layernorm": "digital_norm", "rmsnorm": "digital_norm", "softmax": "digital_softmax",
                       "gelu": "digital_activation", "silu": "digital_activation"}.get(kind, "digital_elementwise")
                acc.add(f"{kind}_element", op.elements, ec.value, cat)
                busy = op.elements / (lanes * arch.clock_hz)
            acc.add("buffer_byte", 2 * op.elements * ab, costs["buffer"].value, "buffer")
            vectors = max(1, w.batch * (w.seq_len if op.phase != "decode" else 1)) * steps
            sched.append((op, busy, busy / vectors, False))

    # KV cache writes into the memory crossbars (intermediate data)
    mem_cells_written = 0.0
    if mem.enabled and mem.holds_kv:
        mem_cells_written = kv_values(w) * d.act_bits / mem.cell_bits
        acc.add("memory_cell_write", mem_cells_written, costs["memory_write"].value, "memory_write")

    # ---- schedule → latency
    latency, by_layer, by_phase = _schedule(arch, w, sched)

    # ---- area and peak power
    area, power = chip_inventory(arch, plan)
    area_total = sum(area.values())

    # ---- endurance
    lifetime: dict[str, float] = {}
    rate = arch.reliability.duty / latency if latency > 0 else 0.0
    for label, ref in (("", arch.reliability.endurance), ("_low", arch.reliability.endurance_low)):
        cycles = const(ref, "cycles").value
        costs[f"endurance{label}"] = const(ref, "cycles")
        if compute_cells_written:
            writes_per_cell = compute_cells_written / (max(plan.arrays, 1) * c.rows * c.cols)
            lifetime[f"compute_s{label}"] = cycles / (writes_per_cell * rate)
        if mem_cells_written:
            lifetime[f"memory_kv_s{label}"] = cycles / rate  # each KV cell written once per run
    if compute_cells_written:
        notes.append(f"compute-crossbar cells written per run: {compute_cells_written:.3g} "
                     f"({compute_cells_written / (max(plan.arrays, 1) * c.rows * c.cols):.3g} per cell, wear-levelled)")

    energy = dict(sorted(acc.energy.items(), key=lambda kv: -kv[1]))
    total = sum(energy.values())
    statuses = {k: {"value": v.value, "source": v.source, "status": v.status, "note": v.note} for k, v in costs.items()}
    for k, v in costs.items():
        if v.status == "cited" and "stand-in" in v.note:
            notes.append(f"{k}: cited constant standing in until its calibration lands ({v.source})")
    return Result(
        model=w.shape.name, arch=arch.name, seq_len=w.seq_len, batch=w.batch, decode_tokens=w.decode_tokens,
        macs=w.macs, energy_j=total, area_m2=area_total, latency_s=latency, breakdown=energy,
        area_breakdown=dict(sorted(area.items(), key=lambda kv: -kv[1])), latency_by_layer=by_layer,
        latency_by_phase=by_phase, events=dict(acc.events), costs=statuses, plan=plan.__dict__ | {
            "power_peak_by_component_w": dict(sorted(power.items(), key=lambda kv: -kv[1]))},
        power_peak_w=sum(power.values()), lifetime=lifetime, unvalidated=unvalidated, notes=notes,
        assumptions=list(arch.assumptions))


def _mem_cell_read(arch: Arch, table: str | None) -> tuple[Cost, ReadCost | None]:
    """Energy of reading one memory cell: a one-row read of a calibrated array, per column."""
    from ..errors import ModelRangeError

    c = arch.compute
    try:
        r = crossbar_read("passive", c.rows, c.cols, min(arch.memory.cell_bits, 4), 1, c.r_row_ohm, c.r_col_ohm,
                          arch.memory.t_sense_s, 1.0, c.cell_density, table)
    except ModelRangeError as exc:
        raise ConfigError(f"memory read of {arch.name} lies outside the calibrated device tables: {exc}") from None
    return Cost(r.energy_j / c.cols, f"calibrated model (one driven row / {c.cols} columns, {r.pattern})",
                "calibrated" if r.validated else "unvalidated", "; ".join(r.reasons)), r


def _product(arch: Arch, plan: Plan, p: Product, acc: _Acc, costs: dict[str, Cost], pool: int, t_cycle: float,
             write_row_s: float, mem_bw_bits: float) -> tuple[float, float, float]:
    """Events of one product; returns (busy time, stage time per streamed vector, cells written)."""
    c = arch.compute
    slices, sides = cells_per_value(arch, p.stored_bits)
    cpv = slices * sides
    stored_cols = p.s * cpv
    row_tiles = math.ceil(p.k / c.rows)
    col_tiles = math.ceil(stored_cols / c.cols)
    groups, groups_max = _groups(p.k, c.rows, c.rows_per_conversion)
    bit_cycles = stream_cycles(c, p.stream_bits)
    arrays_one = row_tiles * col_tiles * p.inst
    # copies and passes (activation-stationary pool; weight-stationary arrays are dedicated)
    if c.stationary == "activations":
        if arrays_one >= pool:
            copies, passes = 1.0, math.ceil(arrays_one / pool)
        else:
            copies, passes = float(max(1, min(math.ceil(p.v), pool // max(arrays_one, 1)))), 1
    else:
        copies, passes = 1.0, 1
    per_step_reads = p.inst * p.v * bit_cycles * groups * col_tiles
    per_step_conv = p.inst * p.v * bit_cycles * groups * stored_cols
    n = p.steps
    acc.add("crossbar_read", n * per_step_reads, costs["crossbar_read"].value)
    acc.add("adc_conversion", n * per_step_conv, costs["adc"].value, "adc")
    acc.add("sense_amp" if no_sample_hold(c) else "sample_hold", n * per_step_conv,
            costs["sample_hold"].value)
    acc.add("shift_add", n * per_step_conv, costs["shift_add"].value)
    acc.add("dac_drive", n * p.inst * p.v * bit_cycles * p.k, costs["dac"].value, "dac")
    written = 0.0
    write_s = 0.0
    if p.written:
        if p.new_cols:
            cells, rows_w = p.inst * p.k * p.new_cols * cpv, min(p.k, c.rows)
        elif p.new_rows:
            cells, rows_w = p.inst * p.new_rows * stored_cols, p.new_rows
        else:
            cells, rows_w = p.inst * p.k * stored_cols, min(p.k, c.rows)
        written = n * cells * copies
        acc.add("cell_write", written, costs["cell_write"].value)
        write_s = passes * rows_w * write_row_s
    read_s = passes * math.ceil(p.v / copies) * bit_cycles * groups_max * t_cycle
    mem_s = 0.0
    if p.from_memory:
        bits = p.k * p.v * arch.data.weight_bits  # the whole weight matrix streams from memory once per step
        acc.add("memory_cell_read", n * bits / arch.memory.cell_bits, costs["memory_read"].value, "memory_read")
        mem_s = bits / mem_bw_bits
    step = write_s + max(read_s, mem_s)
    busy = n * step
    stage = bit_cycles * groups_max * t_cycle if c.stationary == "weights" else busy
    return busy, stage, written


def _schedule(arch: Arch, w: Workload, sched) -> tuple[float, dict[str, float], dict[str, float]]:
    """Latency from the per-operation busy and stage times (see the module docstring)."""
    by_layer: dict[str, float] = defaultdict(float)
    by_phase: dict[str, float] = defaultdict(float)
    pipelined = arch.compute.pipeline and arch.compute.stationary == "weights"
    segments: list[list[tuple[Op, float, float]]] = []
    key = None
    for op, busy, stage, barrier in sched:
        k = (op.phase, op.layer)
        if k != key or barrier or not pipelined:
            segments.append([])
            key = k
        segments[-1].append((op, busy, stage))
    total = 0.0
    for seg in segments:
        op0 = seg[0][0]
        steps = w.decode_tokens if op0.phase == "decode" else 1
        if pipelined:
            per_step = [(b / steps, s) for _, b, s in seg]
            t = steps * (sum(s for _, s in per_step) + max(b - s for b, s in per_step))
        else:
            t = sum(b for _, b, _ in seg)
        label = "embed" if op0.layer < 0 else ("head" if op0.layer >= w.shape.n_layers else f"L{op0.layer}")
        by_layer[label] += t
        by_phase[op0.phase] += t
        total += t
    return total, dict(by_layer), dict(by_phase)


def chip_inventory(arch: Arch, plan: Plan) -> tuple[dict[str, float], dict[str, float]]:
    """Area (m²) and peak power (W) by component for the whole accelerator (all chips)."""
    c, comp = arch.compute, components()
    area: dict[str, float] = defaultdict(float)
    power: dict[str, float] = defaultdict(float)
    arrays = plan.arrays
    imas = plan.tiles * c.imas_per_tile
    scale = c.rows * c.cols / 16384
    xb = comp["crossbar_128x128"]
    area["crossbar_arrays"] += arrays * xb["area_m2"] * scale
    if c.read_energy == "isaac":
        power["crossbar_arrays"] += arrays * xb["power_w"] * scale
    else:
        rc, _ = _read_cost(arch, min(c.rows_per_conversion, c.rows), None)
        power["crossbar_arrays"] += arrays * rc.value / plan.t_cycle_s
    n_adc = arrays * math.ceil(c.cols / c.cols_per_adc)
    area["adc"] += n_adc * adc_area(c.adc_bits, c.adc_energy_rule, c.adc_kind).value
    power["adc"] += n_adc * adc_energy(c.adc_bits, c.adc_energy_rule, c.adc_kind).value / adc_period(c)
    n_dac = arrays * c.rows
    if c.dac_energy_rule == "calibrated":
        from ..models.adc import load_dac

        area["dac"] += n_dac * load_dac("nominal").area
        power["dac"] += n_dac * _dac_cost(arch, row_drive_s(c, plan.t_cycle_s)).value / plan.t_cycle_s
    else:
        area["dac"] += n_dac * comp["dac_1b"]["area_m2"] * 2 ** (c.dac_bits - 1)
        power["dac"] += n_dac * comp["dac_1b"]["power_w"] * 2 ** (c.dac_bits - 1)
    if no_sample_hold(c):
        m = calibrated_adc(c.adc_bits)
        area["sense_amp"] += arrays * c.cols * m.area_sa
        power["sense_amp"] += arrays * c.cols * m.i_bias * m.vdd
    else:
        area["sample_hold"] += arrays * c.cols * comp["sample_hold"]["area_m2"]
        power["sample_hold"] += arrays * c.cols * comp["sample_hold"]["power_w"]
    n_sa = imas * c.arrays_per_ima / 2  # ISAAC: 4 shift-and-add units per IMA of 8 crossbars
    area["shift_add"] += n_sa * comp["shift_add"]["area_m2"]
    power["shift_add"] += n_sa * comp["shift_add"]["power_w"]
    for reg in ("input_reg_2kb", "output_reg_256b"):
        area["ima_registers"] += imas * comp[reg]["area_m2"]
        power["ima_registers"] += imas * comp[reg]["power_w"]
    for t in arch.tile_components:
        area[t.name] += plan.tiles * t.count * comp[t.ref].get("area_m2", 0.0)
        power[t.name] += plan.tiles * t.count * comp[t.ref].get("power_w", 0.0)
    lanes = arch.digital.lanes_per_tile * plan.tiles
    if lanes:
        area["digital_unit"] += lanes * dfu_lane_area().value
        power["digital_unit"] += lanes * element_energy("layernorm").value * arch.clock_hz
    if arch.digital.softmax == "analog":
        a_u, p_u = analog_softmax_unit(arch.digital)
        units = arch.digital.softmax_units_per_tile * plan.tiles
        area["analog_softmax"] += units * a_u
        power["analog_softmax"] += units * p_u
    if c.attention == "digital":
        n = arch.digital.attention_macs_per_tile * plan.tiles
        area["digital_attention"] += n * (comp["mul8"]["area_m2"] + comp["add32"]["area_m2"])
        power["digital_attention"] += n * (comp["mul8"]["energy_j"] + comp["add32"]["energy_j"]) * arch.clock_hz
    if arch.memory.enabled and plan.memory_arrays:
        m = arch.memory
        area["memory_crossbars"] += plan.memory_arrays * m.rows * m.cols * m.cell_area_f2 * arch.node_m**2
        n_sense = plan.memory_arrays * m.cols / m.cols_per_sense
        area["memory_sense"] += n_sense * adc_area(m.cell_bits, m.sense_energy_rule).value
        power["memory_sense"] += n_sense * adc_energy(m.cell_bits, m.sense_energy_rule).value / m.t_sense_s
    for t in arch.chip_components:
        area[t.name] += plan.chips * t.count * comp[t.ref].get("area_m2", 0.0)
        power[t.name] += plan.chips * t.count * comp[t.ref].get("power_w", 0.0)
    return dict(area), dict(power)


def fixed_plan(arch: Arch) -> Plan:
    """The plan of a chip whose size the preset fixes (``compute.tiles`` > 0), without a workload —
    for component roll-ups such as the ISAAC reconstruction."""
    c = arch.compute
    if c.tiles < 1:
        raise ConfigError(f"{arch.name}: compute.tiles = 0 sizes the chip from a workload; set compute.tiles")
    aps = c.arrays_per_ima * c.imas_per_tile
    return Plan(c.tiles, math.ceil(c.tiles / c.tiles_per_chip), c.tiles * aps, 0, 0, 0,
                read_cycle(c), 0, True, 0, 0)
