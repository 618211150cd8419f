"""The system-level simulator: a workload mapped onto a crossbar architecture → energy, area, latency.

:func:`simulate` runs its jobs in order — the plan (:mod:`~cosim.system.plan`: mapping, chip size,
read cycle), the per-event prices (:mod:`~cosim.system.prices`: cited constants and calibrated
models, each with its source), the event counts (:mod:`~cosim.system.events`), the schedule
(:mod:`~cosim.system.schedule`), the area and peak power (:mod:`~cosim.system.area`) and the
endurance — and gathers them in a :class:`Result`.  Energy is Σ events × per-event energies; every
per-event figure is listed in the result with its provenance.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ConfigError
from ..workloads import Workload
from .arch import Arch
from .area import chip_inventory
from .costs import const
from .events import count_events
from .plan import Plan, plan_chip
from .prices import prices
from .schedule import latency as schedule_latency


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
    activity: dict[str, dict] = field(default_factory=dict)
    """Per product: the streamed operand's activity per bit cycle and the stored cells' mean level used."""

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
            "notes": self.notes, "assumptions": self.assumptions, "activity": self.activity,
        }



def lifetime(arch: Arch, plan: Plan, latency_s: float, compute_written: float, memory_written: float,
             costs: dict) -> tuple[dict[str, float], list[str]]:
    """Seconds until the written cells reach their endurance, running the workload back to back at the
    preset's duty (compute cells wear-levelled over the pool; each KV cell written once per run)."""
    c = arch.compute
    out: dict[str, float] = {}
    notes: list[str] = []
    rate = arch.reliability.duty / latency_s if latency_s > 0 else 0.0
    per_cell = compute_written / (max(plan.arrays, 1) * c.rows * c.cols)
    for label, ref in (("", arch.reliability.endurance), ("_low", arch.reliability.endurance_low)):
        costs[f"endurance{label}"] = const(ref, "cycles")
        cycles = costs[f"endurance{label}"].value
        if compute_written:
            out[f"compute_s{label}"] = cycles / (per_cell * rate)
        if memory_written:
            out[f"memory_kv_s{label}"] = cycles / rate
    if compute_written:
        notes.append(f"compute-crossbar cells written per run: {compute_written:.3g} ({per_cell:.3g} per cell, "
                     "wear-levelled)")
    return out, notes


def simulate(w: Workload, arch: Arch, *, table: str | None = None) -> Result:
    """Energy, area and latency of workload ``w`` on architecture ``arch``."""
    if arch.digital.lanes_per_tile < 1:
        raise ConfigError(f"{arch.name}: digital.lanes_per_tile = 0 leaves no unit to run softmax, norms and GELU")
    plan = plan_chip(arch, w)
    pr = prices(arch, plan, table)
    counted = count_events(arch, w, plan, pr)
    latency_s, by_layer, by_phase = schedule_latency(arch, w, counted.sched)
    area, power = chip_inventory(arch, plan, pr)
    costs = dict(pr.costs)
    life, notes = lifetime(arch, plan, latency_s, counted.compute_cells_written, counted.memory_cells_written, costs)
    for k, v in costs.items():
        if v.status == "cited" and "stand-in" in v.note:
            notes.append(f"{k}: cited constant standing in until its calibration lands ({v.source})")
    c = arch.compute
    notes.append(f"streaming: {c.input_sign}" + (", zero skipping" if c.zero_skip else "") + f"; activity "
                 + (f"measured ({c.activity_profile})" if c.activity == "measured" else
                    f"uniform (input bits {c.input_activity:g}, stored bits {c.cell_density:g})"))
    energy = dict(sorted(counted.tally.energy.items(), key=lambda kv: -kv[1]))
    statuses = {k: {"value": v.value, "source": v.source, "status": v.status, "note": v.note} for k, v in costs.items()}
    return Result(
        model=w.shape.name, arch=arch.name, seq_len=w.seq_len, batch=w.batch, decode_tokens=w.decode_tokens,
        macs=w.macs, energy_j=sum(energy.values()), area_m2=sum(area.values()), latency_s=latency_s,
        breakdown=energy, area_breakdown=dict(sorted(area.items(), key=lambda kv: -kv[1])), latency_by_layer=by_layer,
        latency_by_phase=by_phase, events=dict(counted.tally.events), costs=statuses,
        plan=plan.__dict__ | {"power_peak_by_component_w": dict(sorted(power.items(), key=lambda kv: -kv[1]))},
        power_peak_w=sum(power.values()), lifetime=life, unvalidated=list(pr.unvalidated), notes=notes,
        assumptions=list(arch.assumptions), activity=counted.tally.activity)
