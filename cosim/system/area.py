"""The chip's component inventory: area (m²) and peak power (W) by component, all chips together.

Peak power is every unit busy at once: each array reading ``rows_per_conversion`` driven rows of
cells at half level per read cycle (those rows' drivers on), every ADC converting at its rate, every
static unit at its cited power.
"""

from __future__ import annotations

import math
from collections import defaultdict

from .arch import Arch
from .costs import adc_area, adc_energy, adc_period, analog_softmax_unit, calibrated_adc, components, dfu_lane_area, element_energy
from .capacity import get_cell
from .plan import Plan, column_table_bits, fault_map_bits, no_sample_hold
from .prices import Prices


def chip_inventory(arch: Arch, plan: Plan, pr: Prices) -> tuple[dict[str, float], dict[str, float]]:
    """Area (m²) and peak power (W) by component for the whole accelerator (all chips)."""
    c, comp = arch.compute, components()
    area: dict[str, float] = defaultdict(float)
    power: dict[str, float] = defaultdict(float)
    arrays = plan.arrays
    imas = plan.tiles * c.imas_per_tile
    rpc = min(c.rows_per_conversion, c.rows)
    spare = (c.cols + c.spare_cols) / c.cols  # spare columns: cells and column circuits
    scale = c.rows * (c.cols + c.spare_cols) / 16384
    xb = comp["crossbar_128x128"]
    area["crossbar_arrays"] += arrays * xb["area_m2"] * scale
    power["crossbar_arrays"] += arrays * pr.read(rpc, 0.5) / plan.t_cycle_s
    n_adc = arrays * math.ceil(c.cols / c.cols_per_adc)
    area["adc"] += n_adc * adc_area(c.adc_bits, c.adc_energy_rule, c.adc_kind).value
    power["adc"] += n_adc * adc_energy(c.adc_bits, c.adc_energy_rule, c.adc_kind).value / adc_period(c)
    n_dac = arrays * c.rows
    if c.dac_energy_rule == "calibrated":
        from ..models.adc import load_dac

        area["dac"] += n_dac * load_dac("nominal").area
    else:
        area["dac"] += n_dac * comp["dac_1b"]["area_m2"] * 2 ** (c.dac_bits - 1)
    power["dac"] += arrays * rpc * pr.dac(0.5) / plan.t_cycle_s  # the drivers of the rows being read
    if no_sample_hold(c):
        m = calibrated_adc(c.adc_bits)
        area["sense_amp"] += arrays * c.cols * spare * m.area_sa
        power["sense_amp"] += arrays * c.cols * m.i_bias * m.vdd
    else:
        area["sample_hold"] += arrays * c.cols * spare * comp["sample_hold"]["area_m2"]
        power["sample_hold"] += arrays * c.cols * comp["sample_hold"]["power_w"]
    if c.fault_aware:  # column tables in SRAM; the writer's fault map in SRAM unless the memory crossbars hold it
        sram_bit = get_cell("sram_100f2").cell_area_f2 * arch.node_m**2
        area["fault_map"] += arrays * column_table_bits(arch) * sram_bit
        if not arch.memory.enabled:
            area["fault_map"] += fault_map_bits(arch, arrays - plan.weight_arrays) * sram_bit
    if c.zero_skip:  # a row-mask scan per array: one bit of an 8-bit adder per row (stated rule)
        area["row_select"] += arrays * c.rows * comp["add8"]["area_m2"] / 8
        power["row_select"] += arrays * c.rows * pr.costs["row_select"].value / plan.t_cycle_s
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
