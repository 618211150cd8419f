"""Running the system simulator: one run, an architecture comparison, a design-space sweep."""

from __future__ import annotations

import itertools
from typing import Any

from ..errors import ConfigError
from .arch import load_arch
from .report import SENSITIVITY, comparison_rows, ratios
from .simulate import Result, simulate


def run(model: str, arch: str, seq_len: int, batch: int = 1, decode_tokens: int | None = None,
        overrides: dict[str, Any] | None = None, table: str | None = None) -> Result:
    from ..workloads import build_workload, load_model

    w = build_workload(load_model(model), seq_len, batch, decode_tokens)
    return simulate(w, load_arch(arch, overrides), table=table)


def compare(model: str, archs: list[str], seq_len: int, batch: int = 1, decode_tokens: int | None = None,
            table: str | None = None, sensitivity: bool = True):
    """Simulated architectures and reference platforms side by side, the paper's ratios beside ours, and
    — for every ratio more than 2x off — the seed design's assumptions tried one at a time."""
    from .arch import arch_names
    from .reference import reference_platforms, reference_point

    from ..workloads import load_model

    refs_known = reference_platforms()
    shape = load_model(model)
    decode = (128 if shape.kind == "decoder" else 0) if decode_tokens is None else decode_tokens
    sims, refs = {}, {}
    for a in archs:
        if a in refs_known:
            refs[a] = reference_point(a, _model_name(model), seq_len, batch, decode)
        elif a in arch_names() or a.endswith(".toml"):
            sims[a] = run(model, a, seq_len, batch, decode_tokens, table=table)
        else:
            from ..errors import UnknownNameError

            raise UnknownNameError("architecture", a, arch_names() + refs_known)
    rows = comparison_rows(sims, refs)
    rat = ratios(rows)
    sens = []
    if sensitivity and "large-small" in sims:
        base = {r.arch: r for r in rows}
        for x in rat:
            if x["off_by"] is None or x["off_by"] <= 2:
                continue
            for field, values, why, both in SENSITIVITY:
                for v in values:
                    try:
                        r = run(model, "large-small", seq_len, batch, decode_tokens, {field: v}, table)
                        num_run = base[x["num"]]
                        if both and x["num"] in sims:
                            num_run = run(model, x["num"], seq_len, batch, decode_tokens, {field: v}, table)
                    except ConfigError as exc:
                        sens.append(dict(x, field=field, value=v, why=f"{why}: {exc}", ours=None, default=x["ours"]))
                        continue
                    num = getattr(num_run, x["metric"])
                    den = getattr(r, x["metric"])
                    ours = None if num is None else (1 - den / num if x["how"] == "reduction" else num / den)
                    sens.append(dict(x, field=field, value=v, why=why, ours=ours, default=x["ours"]))
    return sims, refs, rows, rat, sens


def _model_name(model: str) -> str:
    from pathlib import Path

    return Path(model).stem if model.endswith(".json") else model


def sweep_points(params: dict[str, list]) -> list[dict[str, Any]]:
    """The cartesian product of the swept values, in a stable order."""
    keys = list(params)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(params[k] for k in keys))]


_RUN_KEYS = {"seq_len", "batch", "decode_tokens"}


def _sweep_one(model: str, arch: str, seq_len: int, batch: int, decode_tokens, point: dict, table) -> dict:
    run_kw = {"seq_len": seq_len, "batch": batch, "decode_tokens": decode_tokens}
    over = {}
    for k, v in point.items():
        if k in _RUN_KEYS:
            run_kw[k] = int(v)
        else:
            over[k] = v
    try:
        r = run(model, arch, run_kw["seq_len"], run_kw["batch"], run_kw["decode_tokens"], over, table)
    except ConfigError as exc:
        return dict(point, error=str(exc))
    return dict(point, energy_j=r.energy_j, area_m2=r.area_m2, latency_s=r.latency_s, adp_m2s=r.adp_m2s,
                macs=r.macs, power_peak_w=r.power_peak_w, tiles=r.plan["tiles"], chips=r.plan["chips"],
                lossless_adc=r.plan["lossless_adc"], unvalidated=len(r.unvalidated),
                **{f"energy.{k}": v for k, v in r.breakdown.items()},
                **{f"lifetime.{k}": v for k, v in r.lifetime.items()}, error="")


def sweep(model: str, arch: str, params: dict[str, list], seq_len: int, batch: int = 1,
          decode_tokens: int | None = None, n_jobs: int = 1, progress=None, table: str | None = None) -> list[dict]:
    """One row per design point (in point order); a point whose configuration is impossible records
    its error and the sweep goes on."""
    from ..parallel import run_parallel
    from .arch import field_names

    for k in params:
        if k not in _RUN_KEYS and k not in field_names():
            from ..errors import UnknownNameError

            raise UnknownNameError("sweep parameter", k, sorted(_RUN_KEYS) + field_names())
    load_arch(arch)  # an unknown architecture fails before any work
    points = sweep_points(params)
    items = [(model, arch, seq_len, batch, decode_tokens, p, table) for p in points]
    return run_parallel(_sweep_one, items, n_jobs=n_jobs, progress=progress(len(items)) if progress else None)
