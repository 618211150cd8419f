"""The static plan of one architecture for one workload: the mapping, the chip, the read cycle."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import ConfigError
from ..workloads import Workload
from .arch import Arch
from .costs import adc_period


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


def cells_per_value(arch: Arch, bits: int) -> tuple[int, int]:
    """(slices, sides) of one stored ``bits``-bit signed value."""
    from ..mapping.tiling import tile_matrix

    c = arch.compute
    t = tile_matrix("value", 1, 1, rows=c.rows, cols=c.cols, weight_bits=bits, cell_bits=c.cell_bits, sign=c.sign)
    return t.slices, t.sides


def no_sample_hold(c) -> bool:
    """The calibrated current-mode flash senses each column with its own sense amplifier and has no
    sample-and-hold (the rows stay driven while it scans); every other ADC keeps the sample-and-holds."""
    return c.adc_energy_rule == "calibrated" and c.adc_kind == "flash-current"


def read_cycle(c) -> float:
    """Seconds per array read: the read pulse, or the ADC's scan of its columns if longer."""
    return max(c.t_read_s, c.cols_per_adc * adc_period(c))


def row_drive_s(c) -> float:
    """How long a read drives its rows: the whole read cycle without sample-and-holds (the ADC scans
    live columns), else the read pulse (the sample-and-holds keep the column values)."""
    return read_cycle(c) if no_sample_hold(c) else c.t_read_s


def kv_values(w: Workload) -> int:
    """Values of K and V held for the whole run (every layer, position and sequence)."""
    s = w.shape
    return 2 * s.n_layers * s.n_kv_heads * s.d_head * (w.seq_len + w.decode_tokens) * w.batch


def largest_written(arch: Arch, w: Workload) -> int:
    """Arrays that the workload's largest written operand (one instance set of one product) occupies."""
    from .events import product_of

    c = arch.compute
    most = 1
    for op in w.ops:
        if op.kind == "matmul_w" or (op.kind == "matmul_a" and c.attention == "crossbar"):
            p = product_of(arch, op)
            if p.written:
                slices, sides = cells_per_value(arch, p.stored_bits)
                most = max(most, math.ceil(p.k / c.rows) * math.ceil(p.s * slices * sides / c.cols) * math.ceil(p.inst))
    return most


def fault_map_bits(arch: Arch, written_arrays: int) -> int:
    """Bits of the fault map the writer of per-use operands needs (fault-aware mapping): two per cell
    (healthy, stuck off, stuck on) of every array that takes written operands, spares included."""
    c = arch.compute
    return 2 * written_arrays * c.rows * (c.cols + c.spare_cols) if c.fault_aware else 0


def column_table_bits(arch: Arch) -> int:
    """Bits per array of the fault-aware mapping's column table: a physical column index and a
    complement flag per logical column."""
    c = arch.compute
    return c.cols * (math.ceil(math.log2(c.cols + c.spare_cols)) + 1) if c.fault_aware else 0


def adc_levels(c) -> tuple[int, int]:
    """(levels a conversion of ``rows_per_conversion`` rows needs, levels the ADC has)."""
    need = c.rows_per_conversion * (2**c.cell_bits - 1) * (2**c.dac_bits - 1) + 1
    return need, 2 ** (c.adc_bits + c.adc_encoding_bits)


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
        weight_arrays, att = 0, 0
        tiles = c.tiles or math.ceil(c.pool_copies * largest_written(arch, w) / aps)
    chips = math.ceil(tiles / c.tiles_per_chip)
    mem_arrays = 0
    if arch.memory.enabled:
        m = arch.memory
        bits = s.total_params() * arch.data.weight_bits
        if m.holds_kv:
            bits += kv_values(w) * arch.data.act_bits
        bits += fault_map_bits(arch, tiles * aps - weight_arrays)
        mem_arrays = math.ceil(bits / (m.rows * m.cols * m.cell_bits))
    need, have = adc_levels(c)
    return Plan(tiles, chips, tiles * aps, weight_arrays, att, mem_arrays, read_cycle(c), slices * sides,
                need <= have, need, have)


def fixed_plan(arch: Arch) -> Plan:
    """The plan of a chip whose size the preset fixes (``compute.tiles`` > 0), without a workload —
    for component roll-ups such as the ISAAC reconstruction."""
    c = arch.compute
    if c.tiles < 1:
        raise ConfigError(f"{arch.name}: compute.tiles = 0 sizes the chip from a workload; set compute.tiles")
    aps = c.arrays_per_ima * c.imas_per_tile
    return Plan(c.tiles, math.ceil(c.tiles / c.tiles_per_chip), c.tiles * aps, 0, 0, 0,
                read_cycle(c), 0, True, 0, 0)
