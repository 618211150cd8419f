"""Per-event energies of one design: every figure the event count is multiplied by, with its source.

Fixed figures are :class:`~cosim.system.costs.Cost` entries; the two that depend on the data — the
crossbar read (rows driven, stored-cell level) and the row driver (the row's cell load) — are
functions evaluated per product and bit cycle (:class:`Prices`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ConfigError, ModelRangeError
from .arch import Arch
from .costs import (Cost, ReadEnergy, adc_energy, calibrated_adc, components, const, element_energy, read_energy)
from .plan import Plan, no_sample_hold, row_drive_s


@dataclass
class Prices:
    costs: dict[str, Cost]
    """Per-event figures with provenance (the run's ``costs``)."""
    read: ReadEnergy
    """One computation-crossbar read."""
    dac_fixed_j: float
    dac_per_level_j: float
    """Row-driver energy per drive: ``dac_fixed_j + dac_per_level_j · level`` (level: the stored cells'
    mean normalised level, which sets the row's conductance load)."""
    unvalidated: list[str] = field(default_factory=list)

    def dac(self, level: float) -> float:
        return self.dac_fixed_j + self.dac_per_level_j * level


def _dac(arch: Arch, t_pulse: float) -> tuple[float, float, Cost]:
    """The calibrated 1-bit row driver driving one row of ``cols`` cells for ``t_pulse``: energy at
    cell level 0 and its slope in the level (the load is linear in it)."""
    from ..models.adc import load_dac

    c, an = arch.compute, arch.analog
    if c.dac_bits != 1:
        raise ConfigError("dac_energy_rule = calibrated covers 1-bit DACs only; use cited for wider ones")
    drv = load_dac("nominal")
    if abs(drv.v_read - an.v_read) > 1e-9:
        raise ConfigError(f"dac_energy_rule = calibrated: the row driver is calibrated for a {drv.v_read:g} V swing, "
                          f"the preset reads at analog.v_read = {an.v_read:g} V; recalibrate it or use cited")
    g_off = an.g_on_s / an.on_off_ratio
    try:
        e0 = drv.energy(c.cols, c.cols * g_off, t_pulse)
        e1 = drv.energy(c.cols, c.cols * an.g_on_s, t_pulse)
    except ModelRangeError as exc:
        raise ConfigError(f"dac_energy_rule = calibrated: {exc}") from None
    return e0, e1 - e0, Cost(e0 + 0.5 * (e1 - e0), f"SPICE-calibrated 1-bit row driver (calibration/adc.h5): {c.cols} "
                             f"cells of {g_off * 1e6:.3g}..{an.g_on_s * 1e6:.3g} uS, {t_pulse * 1e9:.4g} ns drive; "
                             f"shown at half level, {e0 * 1e15:.4g} fJ empty row + {(e1 - e0) * 1e15:.4g} fJ x level",
                             "calibrated", "boundary: driver supplies minus the crossbar read boundary's share")


def prices(arch: Arch, plan: Plan, table: str | None = None) -> Prices:
    c, an, mem = arch.compute, arch.analog, arch.memory
    costs: dict[str, Cost] = {}
    unvalidated: list[str] = []
    t_drive = row_drive_s(c)
    if c.read_energy == "isaac":
        x = components()["crossbar_128x128"]
        e = x["power_w"] * x["read_s"] * (c.rows * c.cols / 16384)
        read = ReadEnergy.constant(e, "ISAAC 0.3 mW x 100 ns per read whatever the data")
        costs["crossbar_read"] = Cost(e, f"crossbar_128x128: {x['src']} (0.3 mW x 100 ns, scaled by cells)", "cited")
    else:
        try:
            read = read_energy(c.crossbar_kind, c.rows, c.cols, min(c.rows_per_conversion, c.rows), c.r_row_ohm,
                               c.r_col_ohm, t_drive, an.g_on_s, an.on_off_ratio, an.v_read, table)
        except ModelRangeError as exc:
            raise ConfigError(f"crossbar read of {arch.name} lies outside the calibrated device tables: {exc}") from None
        rpc = min(c.rows_per_conversion, c.rows)
        costs["crossbar_read"] = Cost(read(rpc, 0.5), f"calibrated model, {read.table}: {read.pattern}; shown for "
                                      f"{rpc} rows driven at half level", "calibrated" if read.validated else
                                      "unvalidated", "; ".join(read.reasons))
        if not read.validated:
            unvalidated.append(f"crossbar read energy: {'; '.join(read.reasons)}")
    costs["adc"] = adc_energy(c.adc_bits, c.adc_energy_rule, c.adc_kind)
    if c.dac_energy_rule == "calibrated":
        d0, d1, costs["dac"] = _dac(arch, t_drive)
    else:
        e = const("dac_1b", "energy_j").value * 2 ** (c.dac_bits - 1)
        d0, d1 = e, 0.0
        costs["dac"] = Cost(e, const("dac_1b", "energy_j").source, "derived",
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
    if c.zero_skip:
        add8 = const("add8", "energy_j")
        costs["row_select"] = Cost(add8.value / 8, f"one bit of an 8-bit add per row examined per bit cycle "
                                   f"({add8.source}, /8)", "derived", "zero-skip controller: a row-mask scan "
                                   "(stated rule; not simulated)")
    if c.fault_aware:
        add8 = const("add8", "energy_j")
        costs["complement_fix"] = Cost(add8.value, f"one 8-bit add ({add8.source}): top x (the vector's sum over the "
                                       "row tile) minus a complemented column's result", "derived",
                                       "fault-aware mapping; counted for every column, per vector and row tile (a bound)")
        costs["map_compare"] = Cost(add8.value / 8, f"one bit of an 8-bit add per bit compared ({add8.source}, /8)",
                                    "derived", "fault-aware mapping of a written operand: mismatch counts (stated rule)")
    costs["cell_write"] = const("rram_write", "energy_j_per_cell")
    costs["buffer"] = const("sram_32kb_access", "energy_j_per_byte")
    costs["noc"] = const("noc_hop", "energy_j_per_byte")
    costs["chip_link"] = const("chip_link", "energy_j_per_byte")
    costs["digital_mac"] = Cost(const("mul8", "energy_j").value + const("add32", "energy_j").value,
                                "mul8 + add32 per MAC (R5)", "cited")
    if mem.enabled:
        sense = adc_energy(mem.cell_bits, mem.sense_energy_rule)
        cell = memory_cell_read(arch, table)
        costs["memory_read"] = Cost(sense.value + cell.value, f"one {mem.cell_bits}-bit sense ({sense.source}) + "
                                    f"cell read ({cell.source})", "cited" if cell.status == "calibrated" else cell.status,
                                    "per memory cell read; the sense is a cited stand-in")
        if cell.status == "unvalidated":
            unvalidated.append(f"memory cell read energy: {cell.note}")
        costs["memory_write"] = const("rram_write", "energy_j_per_cell")
    else:
        costs["dram"] = const("dram_access", "energy_j_per_byte")
    if not plan.lossless_adc:
        unvalidated.append(f"ADC mapping is lossy: {min(c.rows_per_conversion, c.rows)} rows per conversion need "
                           f"{plan.adc_levels_needed} levels, the ADC has {plan.adc_levels} ({c.adc_range} range) — "
                           "its accuracy cost is what `cosim accuracy` measures")
    return Prices(costs, read, d0, d1, unvalidated)


#: Columns of the memory-array segment the calibrated model solves for one memory row read.
MEMORY_SEGMENT = (64, 128)


def memory_cell_read(arch: Arch, table: str | None = None) -> Cost:
    """Energy of reading one memory cell: its row driven for every sensing step of its multiplexed
    columns (``cols_per_sense × t_sense_s``: the row stays driven while the sense circuits step
    through them), per column.  Solved on a 64 × 128 segment of the memory array (its undriven rows
    sit at 0 V and draw nothing, so 64 rows stand in for all of them; the segmentation of a 64k-cell
    word line is not modelled) at the preset's read operating point, cells at the mean level."""
    m, c, an = arch.memory, arch.compute, arch.analog
    rows, cols = MEMORY_SEGMENT
    t_row = m.cols_per_sense * m.t_sense_s
    try:
        r = read_energy("passive", rows, cols, 1, c.r_row_ohm, c.r_col_ohm, t_row, an.g_on_s, an.on_off_ratio,
                        an.v_read, table)
    except ModelRangeError as exc:
        raise ConfigError(f"memory read of {arch.name} lies outside the calibrated device tables: {exc}") from None
    return Cost(r(1, c.cell_density) / cols, f"calibrated model, one driven row of a {rows}x{cols} segment for "
                f"{m.cols_per_sense} x {m.t_sense_s * 1e9:g} ns ({r.pattern}), per column",
                "calibrated" if r.validated else "unvalidated", "; ".join(r.reasons))


def element_cost(costs: dict[str, Cost], kind: str) -> Cost:
    return costs.setdefault(f"digital_{kind}", element_energy(kind))
