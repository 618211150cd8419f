"""Event counts of a workload on a design: what happens how often, and what it costs.

A product ``Y[m×n] = X[m×k]·W[k×n]`` with a stored operand of ``k × s`` values and ``v`` streamed
vectors (``inst`` independent instances per step, ``steps`` steps):

* each stored value spans ``cpv = slices × sides`` cells of a row: ``s·cpv`` stored columns over
  ``col_tiles = ⌈s·cpv / cols⌉`` arrays; the ``k`` rows over ``⌈k / rows⌉`` row tiles;
* each streamed vector goes in over the encoding's bit cycles (:mod:`cosim.system.streaming`); in
  cycle ``c`` a fraction ``a_c`` of its digits is non-zero and drives its row;
* per cycle, each row tile of ``r`` rows is read in ``g(r, a_c)`` groups: ``⌈r / rpc⌉`` without
  zero skipping, ``E⌈N / rpc⌉`` with ``N ~ Binomial(r, a_c)`` with it (rows independent);
* every group read happens on each of the ``col_tiles`` arrays (one *crossbar read* each, driving
  ``a_c·k / G_c`` rows on average, ``G_c`` the groups of all row tiles) and converts every stored
  column once (one *ADC conversion*, one *sample-and-hold* or sense, one *shift-and-add*);
* every non-zero digit drives its row on each of the ``col_tiles`` arrays: ``a_c·k·col_tiles`` *DAC
  drives* per vector and cycle (each array has its own row drivers);
* zero skipping scans each row's digit once per cycle (``k`` *row selects* per vector and cycle).

Latency per step: ``passes · ⌈v / copies⌉ · (groups of the slowest row tile per vector) · t_cycle``
(:func:`slowest_tile`), plus the stored operand's write (and, with fault-aware mapping, the writer's
column assignment) and, for weights streamed from memory, the memory's time.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from ..workloads import Workload
from ..workloads.ops import Op
from .arch import Arch
from .costs import analog_softmax_row, const
from .plan import Plan, cells_per_value, kv_values, no_sample_hold
from .prices import Prices, element_cost
from .streaming import BitStats, load_profile, n_cycles


@dataclass
class Product:
    """One matrix product as the crossbars see it (per step; ``inst`` parallel instances)."""

    name: str
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
    stream_role: str = "a"
    """Which operand streams: ``a`` (the activation side: layer input, Q, scores) or ``b`` (weights, Kᵀ, V)."""
    new_rows: float = 0.0
    """If > 0: per step only this many new rows of the stored operand are written (resident V)."""
    new_cols: float = 0.0
    """If > 0: per step only this many new stored columns (values) are written (resident Kᵀ)."""
    from_memory: bool = False
    """The streamed operand (the weights) comes from the memory crossbars."""


def product_of(arch: Arch, op: Op) -> Product:
    """How ``op`` (a matmul) maps: which operand is stored, how many vectors stream."""
    steps = op.count if op.phase == "decode" else 1
    wb, ab = arch.data.weight_bits, arch.data.act_bits
    if op.kind == "matmul_w":
        m = op.m  # rows per step
        if arch.compute.stationary == "weights":
            return Product(op.name, op.k, op.n, m, 1, steps, ab, wb, written=False, stream_role="a")
        return Product(op.name, op.k, m, op.n, 1, steps, wb, ab, written=True, stream_role="b", from_memory=True)
    # attention: per (sequence, head) instance; decode ops carry the longest context, macs the exact sum
    inst = op.count // steps
    ctx_avg = op.macs / (op.count * op.m * (op.k if op.name.endswith("qk") else op.n))
    if op.name.endswith("qk"):  # stored Kᵀ: d rows × ctx values; stream q_len queries
        p = Product(op.name, op.k, ctx_avg, op.m, inst, steps, ab, ab, written=True)
        if op.phase == "decode":
            p.new_cols = 1
    else:  # scores·V: stored V: ctx rows × d values; stream q_len score rows
        p = Product(op.name, max(1, round(ctx_avg)), op.n, op.m, inst, steps, ab, ab, written=True)
        if op.phase == "decode":
            p.new_rows = 1
    return p


def operand_stats(arch: Arch, p: Product, stored: bool) -> tuple[BitStats, str]:
    """Bit statistics of the product's stored or streamed operand under the preset's activity rule."""
    c = arch.compute
    role = ("b" if p.stream_role == "a" else "a") if stored else p.stream_role
    if c.activity == "measured":
        return load_profile(c.activity_profile).stats(p.name, role)
    bits = p.stored_bits if stored else p.stream_bits
    q = c.cell_density if stored else c.input_activity
    return BitStats.uniform(bits, q), f"uniform {q:g}"


@cache
def groups(r: int, a: float, rpc: int, skip: bool) -> float:
    """Conversion groups of one row tile of ``r`` rows in one bit cycle of activity ``a``."""
    if not skip:
        return float(math.ceil(r / rpc))
    if a <= 0:
        return 0.0
    if a >= 1:
        return float(math.ceil(r / rpc))
    return float(_binom_pmf(r, a) @ np.ceil(np.arange(r + 1) / rpc))


@dataclass
class Tally:
    """Events and energy of a run, by event and by energy category."""

    energy: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    events: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    activity: dict[str, dict] = field(default_factory=dict)
    """Per product name: the streamed activity per cycle and the stored level used (for the report)."""

    def add(self, event: str, n: float, energy_j: float, category: str | None = None) -> None:
        self.events[event] += n
        self.energy[category or event] += energy_j


def product_events(arch: Arch, plan: Plan, p: Product, tally: Tally, pr: Prices, mem_bw_bits: float,
                   write_row_s: float) -> tuple[float, float, float]:
    """Events of one product into ``tally``; returns (busy time, stage time per streamed vector, cells written)."""
    c = arch.compute
    slices, sides = cells_per_value(arch, p.stored_bits)
    cpv = slices * sides
    stored_cols = p.s * cpv
    col_tiles = math.ceil(stored_cols / c.cols)
    full, rem = divmod(p.k, c.rows)
    tile_rows = [c.rows] * full + ([rem] if rem else [])
    rpc = min(c.rows_per_conversion, c.rows)
    stream, s_label = operand_stats(arch, p, stored=False)
    store, d_label = operand_stats(arch, p, stored=True)
    act = stream.stream(c.input_sign, c.dac_bits)
    assert len(act) == n_cycles(c.input_sign, p.stream_bits, c.dac_bits)
    level = store.density(c.sign, c.cell_bits)
    tally.activity.setdefault(p.name, {"stream": list(act), "stream_source": s_label, "stored_level": level,
                                       "stored_source": d_label})
    g_all = [sum(groups(r, a, rpc, c.zero_skip) for r in tile_rows) for a in act]
    vec = p.steps * p.inst * p.v  # streamed vectors over the whole run
    read_e = sum(g * pr.read(a * p.k / g, level) for g, a in zip(g_all, act) if g > 0)
    tally.add("crossbar_read", vec * col_tiles * sum(g_all), vec * col_tiles * read_e)
    conv = vec * stored_cols * sum(g_all)
    tally.add("adc_conversion", conv, conv * pr.costs["adc"].value, "adc")
    sh = "sense_amp" if no_sample_hold(c) else "sample_hold"
    tally.add(sh, conv, conv * pr.costs["sample_hold"].value)
    tally.add("shift_add", conv, conv * pr.costs["shift_add"].value)
    if c.fault_aware:  # per vector, row tile and complemented column: top·Σu − value (every column, a bound)
        fixes = vec * stored_cols * len(tile_rows)
        tally.add("complement_fix", fixes, fixes * pr.costs["complement_fix"].value)
    drives = vec * col_tiles * p.k * sum(act)
    tally.add("dac_drive", drives, drives * pr.dac(level), "dac")
    if c.zero_skip:  # each array's controller scans its rows' digits once per cycle
        scans = vec * col_tiles * p.k * len(act)
        tally.add("row_select", scans, scans * pr.costs["row_select"].value)
    # copies and passes (activation-stationary pool; weight-stationary arrays are dedicated)
    arrays_one = math.ceil(p.k / c.rows) * col_tiles * p.inst
    if c.stationary == "activations":
        if arrays_one >= plan.arrays:
            copies, passes = 1.0, math.ceil(arrays_one / plan.arrays)
        else:
            copies, passes = float(max(1, min(math.ceil(p.v), plan.arrays // max(arrays_one, 1)))), 1
    else:
        copies, passes = 1.0, 1
    written = 0.0
    write_s = 0.0
    if p.written:
        if p.new_cols:
            cells, rows_w = p.inst * p.k * p.new_cols * cpv, min(p.k, c.rows)
        elif p.new_rows:
            cells, rows_w = p.inst * p.new_rows * stored_cols, p.new_rows
        else:
            cells, rows_w = p.inst * p.k * stored_cols, min(p.k, c.rows)
        written = p.steps * cells * copies
        tally.add("cell_write", written, written * pr.costs["cell_write"].value)
        write_s = passes * rows_w * write_row_s
        if c.fault_aware:
            write_s += passes * _map_written(arch, pr, tally, written, cpv, p, stored_cols, arch.clock_hz)
    t_vec = slowest_tile(tile_rows, act, rpc, c.zero_skip) * plan.t_cycle_s  # one streamed vector
    read_s = passes * math.ceil(p.v / copies) * t_vec
    mem_s = 0.0
    if p.from_memory:
        bits = p.k * p.v * arch.data.weight_bits  # the whole weight matrix streams from memory once per step
        cells = p.steps * bits / arch.memory.cell_bits
        tally.add("memory_cell_read", cells, cells * pr.costs["memory_read"].value, "memory_read")
        mem_s = bits / mem_bw_bits
    busy = p.steps * (write_s + max(read_s, mem_s))
    stage = t_vec if c.stationary == "weights" else busy
    return busy, stage, written


def _map_written(arch: Arch, pr: Prices, tally: Tally, written: float, cpv: int, p: Product, stored_cols: float,
                 clock_hz: float) -> float:
    """Events of the per-write fault-aware mapping of ``written`` cells; returns its time per write (s).

    Each written logical column is compared with every physical column of its array (spares included)
    over its rows — a bit comparison per written cell and physical column — from the array's fault map,
    2 bits per cell of every physical column, read once per write; one (logical, physical) pair per
    clock per array.  Appended rows (a resident V) go into columns already placed: only their own
    cells' map is read."""
    c = arch.compute
    width = c.cols + c.spare_cols
    if p.new_rows:
        map_bits, compares, pairs = 2 * written, 0.0, 0.0
    else:
        map_bits = 2 * written * width / c.cols
        compares = written * width
        pairs = (p.new_cols * cpv if p.new_cols else min(c.cols, stored_cols)) * width  # per array
    if compares:
        tally.add("map_bit_compare", compares, compares * pr.costs["map_compare"].value, "fault_map")
    if arch.memory.enabled:
        m = map_bits / arch.memory.cell_bits
        tally.add("memory_cell_read", m, m * pr.costs["memory_read"].value, "fault_map")
    else:
        b = map_bits / 8
        tally.add("buffer_byte", b, b * pr.costs["buffer"].value, "fault_map")
    return pairs / clock_hz


#: E[max of T standard normals], T = 1..: for the slowest of T row tiles under zero skipping.
@cache
def _max_normal(t: int) -> float:
    if t <= 1:
        return 0.0
    x = np.linspace(-8, 8, 4001)
    phi = np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    cdf = 0.5 * (1 + np.array([math.erf(v / math.sqrt(2)) for v in x]))
    return float(np.sum(x * t * phi * cdf ** (t - 1)) * (x[1] - x[0]))


def slowest_tile(tile_rows: list[int], act, rpc: int, skip: bool) -> float:
    """Conversion groups per streamed vector of the slowest row tile.  Row tiles run their cycles
    independently and meet once per vector; without zero skipping every full tile takes Σ_c ⌈r/rpc⌉,
    with it a tile's count is a sum of independent per-cycle counts — mean μ, variance σ² — and the
    slowest of T full tiles takes μ + σ·E[max of T standard normals]."""
    mean = sum(groups(tile_rows[0], a, rpc, skip) for a in act)
    if not skip or len(tile_rows) < 2:
        return mean
    var = sum(_group_var(tile_rows[0], a, rpc) for a in act)
    full = sum(1 for r in tile_rows if r == tile_rows[0])
    return mean + math.sqrt(var) * _max_normal(full)


@cache
def _group_var(r: int, a: float, rpc: int) -> float:
    """Variance of ⌈N / rpc⌉, N ~ Binomial(r, a)."""
    if a <= 0 or a >= 1:
        return 0.0
    n = np.arange(r + 1)
    g = np.ceil(n / rpc)
    pmf = _binom_pmf(r, a)
    return float(pmf @ (g * g) - (pmf @ g) ** 2)


@cache
def _binom_pmf(r: int, a: float) -> np.ndarray:
    n = np.arange(r + 1)
    log_pmf = np.array([math.lgamma(r + 1) - math.lgamma(j + 1) - math.lgamma(r - j + 1) for j in n]) \
        + n * math.log(a) + (r - n) * math.log1p(-a)
    return np.exp(log_pmf)


@dataclass
class Counted:
    tally: Tally
    sched: list[tuple[Op, float, float, bool]]
    """(op, busy s, stage s, barrier before) per operation, for the schedule."""
    compute_cells_written: float
    memory_cells_written: float


def count_events(arch: Arch, w: Workload, plan: Plan, pr: Prices) -> Counted:
    """Every event of the workload; the buffer, network and digital traffic beside the products'."""
    c, d, mem = arch.compute, arch.data, arch.memory
    tally = Tally()
    ab = d.act_bits / 8  # bytes per activation
    lanes = arch.digital.lanes_per_tile * plan.tiles
    mesh_hops = max(1.0, 2 / 3 * math.sqrt(plan.tiles))
    mem_bw_bits = plan.memory_arrays * (mem.cols / mem.cols_per_sense) * mem.cell_bits / mem.t_sense_s if mem.enabled else 0.0
    write_row_s = const("rram_write", "row_latency_s").value
    buf, noc = pr.costs["buffer"].value, pr.costs["noc"].value
    sched: list[tuple[Op, float, float, bool]] = []
    written_total = 0.0
    for op in w.ops:
        steps = w.decode_tokens if op.phase == "decode" else 1
        if op.kind in ("matmul_w", "matmul_a"):
            out_bytes = op.macs / max(op.k, 1) * ab  # every output value, once
            if op.kind == "matmul_a" and c.attention == "digital":
                tally.add("digital_mac", op.macs, op.macs * pr.costs["digital_mac"].value, "digital_attention")
                busy = op.macs / (arch.digital.attention_macs_per_tile * plan.tiles * arch.clock_hz)
                # Q (count·m·k) or the scores (macs / n), and K or V (macs / m), then every output
                first = op.count * op.m * op.k if op.name.endswith("qk") else op.macs / op.n
                b = (first + op.macs / op.m) * ab + out_bytes
                tally.add("buffer_byte", b, b * buf, "buffer")
                sched.append((op, busy, busy / max(1, op.m * steps), op.name.endswith("qk")))
                continue
            p = product_of(arch, op)
            busy, stage, written = product_events(arch, plan, p, tally, pr, mem_bw_bits, write_row_s)
            written_total += written
            # buffer traffic: the streamed operand (unless it comes from memory), the written stored operand
            # (each value once, however many copies), every output
            streamed = 0.0 if p.from_memory else p.steps * p.inst * p.v * p.k
            if p.written:
                per_step = p.inst * (p.k * p.new_cols if p.new_cols else p.new_rows * p.s if p.new_rows else p.k * p.s)
                stored = p.steps * per_step
            else:
                stored = 0.0
            in_bytes = (streamed + stored) * ab
            tally.add("buffer_byte", in_bytes + out_bytes, (in_bytes + out_bytes) * buf, "buffer")
            tally.add("noc_byte_hop", out_bytes * mesh_hops, out_bytes * mesh_hops * noc, "noc")
            if plan.chips > 1 and op.name in ("mlp.down_proj", "lm_head"):
                b = out_bytes * (plan.chips - 1) / plan.chips
                tally.add("chip_link_byte", b, b * pr.costs["chip_link"].value, "chip_link")
            sched.append((op, busy, stage, op.name.endswith("qk")))
            continue
        kind = op.kind
        if kind == "embedding":
            if mem.enabled:
                cells = op.elements * d.weight_bits / mem.cell_bits
                tally.add("memory_cell_read", cells, cells * pr.costs["memory_read"].value, "memory_read")
            else:
                b = op.elements * d.weight_bits / 8
                tally.add("dram_byte", b, b * pr.costs["dram"].value, "dram")
            busy = op.elements / (lanes * arch.clock_hz)
        elif kind == "softmax" and arch.digital.softmax == "analog":
            dg = arch.digital
            rows = op.m * op.count
            e_row, t_row = analog_softmax_row(max(2, round(op.elements / rows)), dg, longest=op.n)
            tally.add("analog_softmax_row", rows, rows * e_row, "analog_softmax")
            busy = rows * t_row / max(1, dg.softmax_units_per_tile * plan.tiles)
        else:
            ec = element_cost(pr.costs, kind)
            cat = {"layernorm": "digital_norm", "rmsnorm": "digital_norm", "softmax": "digital_softmax",
                   "gelu": "digital_activation", "silu": "digital_activation"}.get(kind, "digital_elementwise")
            tally.add(f"{kind}_element", op.elements, op.elements * ec.value, cat)
            busy = op.elements / (lanes * arch.clock_hz)
        tally.add("buffer_byte", 2 * op.elements * ab, 2 * op.elements * ab * buf, "buffer")
        vectors = max(1, w.batch * (w.seq_len if op.phase != "decode" else 1)) * steps
        sched.append((op, busy, busy / vectors, False))
    mem_written = 0.0
    if mem.enabled and mem.holds_kv:  # KV cache writes into the memory crossbars (intermediate data)
        mem_written = kv_values(w) * d.act_bits / mem.cell_bits
        tally.add("memory_cell_write", mem_written, mem_written * pr.costs["memory_write"].value, "memory_write")
    return Counted(tally, sched, written_total, mem_written)
