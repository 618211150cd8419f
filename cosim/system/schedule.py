"""Latency from the per-operation busy and stage times.

* weight-stationary (``compute.stationary = weights``): every weight has its own arrays; all tiles of a
  product work in parallel and, with ``compute.pipeline``, tokens stream through the layers' arrays
  (ISAAC's pipeline), broken at each attention, which needs every K and V of the sequence.  A segment
  of operations between barriers takes Σ stage times + the slowest operation's remaining busy time.
* activation-stationary (``stationary = activations``): a shared pool of arrays runs one operation after
  another; each writes its stored operand (replicated over the idle arrays of the pool, every copy
  written), then streams the other operand bit by bit, overlapped with the weight stream from the
  memory crossbars.
* decode steps run one after another (each token depends on the last).
"""

from __future__ import annotations

from collections import defaultdict

from ..workloads import Workload
from .arch import Arch


def latency(arch: Arch, w: Workload, sched) -> tuple[float, dict[str, float], dict[str, float]]:
    """(total s, by layer, by phase) from ``(op, busy_s, stage_s, barrier_before)`` entries."""
    by_layer: dict[str, float] = defaultdict(float)
    by_phase: dict[str, float] = defaultdict(float)
    pipelined = arch.compute.pipeline and arch.compute.stationary == "weights"
    segments: list[list[tuple]] = []
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
