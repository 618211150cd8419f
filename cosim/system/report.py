"""Outputs of system runs: JSON, CSV, Markdown reports with plots; comparison and sweeps.

The seed paper's headline ratios (shared/REFERENCE.md §1) are quoted beside ours; ours are always
computed from the runs, never typed in.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .simulate import Result

#: The seed paper's claims (REFERENCE.md §1): (label, numerator, denominator, metric, paper figure, how shown)
PAPER_RATIOS = [
    ("area vs multi-bit", "multi-bit", "large-small", "area_m2", 6.0, "x"),
    ("area vs single-bit", "single-bit", "large-small", "area_m2", 39.0, "x"),
    ("energy vs multi-bit", "multi-bit", "large-small", "energy_j", 18.0, "x"),
    ("energy vs single-bit", "single-bit", "large-small", "energy_j", 3.0, "x"),
    ("area-delay product vs A100", "a100", "large-small", "adp_m2s", 68.0, ">= x"),
    ("area-delay product vs TPU v4", "tpuv4", "large-small", "adp_m2s", 68.0, ">= x"),
    ("energy reduction vs A100", "a100", "large-small", "energy_j", 0.69, "reduction"),
]
PAPER_SOURCE = "seed paper abstract and review (shared/REFERENCE.md section 1)"

#: Assumptions tried one at a time on the seed design when a ratio is off by more than 2x.
SENSITIVITY = [  # (field, values, why, also applied to the simulated baselines)
    ("compute.rows_per_conversion", [15, 128], "rows summed per 2-bit conversion (lossy above 3)", False),
    ("compute.adc_energy_rule", ["walden"], "the cited ADC stand-in (Walden rule, Kull FoM, 1.2 GS/s, per-column sample-and-hold: rows off after t_read) instead of the calibrated current-mode SA + flash", False),
    ("compute.cols_per_adc", [16], "an ADC per 16 columns instead of 128", False),
    ("compute.tiles", [64], "4x more computation crossbars", False),
    ("compute.cell_bits", [2], "2-bit computation cells", False),
    ("compute.read_energy", ["isaac"], "ISAAC's 30 pJ crossbar read instead of the calibrated model (all designs)", True),
    ("compute.adc_energy_rule", ["table"], "Accelergy ADC table, 4-bit figure for 2 bits (all designs)", True),
    ("compute.t_read_s", [100e-9], "ISAAC's 100 ns read period", False),
]


def duration(seconds: float) -> str:
    """A lifetime in the largest unit that keeps it >= 1 (s, min, h, days, years)."""
    for unit, size in (("years", 3.156e7), ("days", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.3g} s"


def _fmt(x: float | None, unit: str = "") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return f"{x:.4g}{(' ' + unit) if unit else ''}"


# ---------------------------------------------------------------- one run


def print_summary(r: Result, file=None) -> None:
    import sys

    f = file or sys.stdout
    run = f"batch {r.batch} x seq {r.seq_len}" + (f" + {r.decode_tokens} decoded tokens" if r.decode_tokens else "")
    print(f"{r.model} on {r.arch} ({run}): {r.macs / 1e9:,.2f} GMAC", file=f)
    p = r.plan
    print(f"  chip       {p['tiles']} tiles ({p['arrays']} computation crossbars), {p['chips']} chip(s)"
          + (f", {p['memory_arrays']} memory crossbars" if p["memory_arrays"] else ""), file=f)
    print(f"  energy     {r.energy_j:.4g} J", file=f)
    print(f"  area       {r.area_m2 * 1e6:,.2f} mm^2", file=f)
    print(f"  latency    {r.latency_s * 1e3:.4g} ms", file=f)
    print(f"  ADP        {r.adp_m2s * 1e6:.4g} mm^2*s", file=f)
    top = list(r.breakdown.items())[:4]
    print("  energy by  " + ", ".join(f"{k} {v / r.energy_j:.0%}" for k, v in top), file=f)
    topa = list(r.area_breakdown.items())[:4]
    print("  area by    " + ", ".join(f"{k} {v / r.area_m2:.0%}" for k, v in topa), file=f)
    if r.lifetime:
        print("  lifetime   " + ", ".join(f"{k} {duration(v)}" for k, v in r.lifetime.items()), file=f)
    for u in r.unvalidated:
        print(f"  UNVALIDATED {u}", file=f)


def write_json(r: Result | dict, path: Path) -> None:
    d = r.summary() if isinstance(r, Result) else r
    path.write_text(json.dumps(d, indent=2, default=float) + "\n")


def write_csv(rows: list[dict], path: Path) -> None:
    """One row per result; nested dicts flattened as ``breakdown.adc`` etc."""
    flat = [_flatten(r) for r in rows]
    keys: list[str] = []
    for f in flat:
        keys += [k for k in f if k not in keys]
    with path.open("w", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=keys)
        wr.writeheader()
        wr.writerows(flat)


def _flatten(d: dict, prefix: str = "") -> dict:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if k in ("costs", "assumptions", "notes", "unvalidated", "latency_by_layer", "plan", "events", "activity"):
            if k == "unvalidated":
                out[prefix + "unvalidated"] = len(v) if isinstance(v, list) else v
            continue
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[prefix + k] = v
    return out


def result_rows(r: Result) -> list[dict]:
    """CSV rows of one run: one per energy and area component, plus the totals."""
    rows = [{"section": "total", "item": k, "value": v, "unit": u} for k, v, u in (
        ("energy_j", r.energy_j, "J"), ("area_m2", r.area_m2, "m^2"), ("latency_s", r.latency_s, "s"),
        ("adp_m2s", r.adp_m2s, "m^2*s"), ("macs", r.macs, "1"), ("power_peak_w", r.power_peak_w, "W"))]
    rows += [{"section": "energy", "item": k, "value": v, "unit": "J"} for k, v in r.breakdown.items()]
    rows += [{"section": "area", "item": k, "value": v, "unit": "m^2"} for k, v in r.area_breakdown.items()]
    rows += [{"section": "latency", "item": k, "value": v, "unit": "s"} for k, v in r.latency_by_layer.items()]
    rows += [{"section": "events", "item": k, "value": v, "unit": "1"} for k, v in r.events.items()]
    return rows


def write_rows(rows: list[dict], path: Path) -> None:
    with path.open("w", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=list(rows[0]))
        wr.writeheader()
        wr.writerows(rows)


def _bar(ax, items: dict[str, float], scale: float, unit: str, title: str):
    names = list(items)[:12][::-1]
    ax.barh(names, [items[n] * scale for n in names], color="#4477aa")
    ax.set_xlabel(unit)
    ax.set_title(title, fontsize=10)


def plot_run(r: Result, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    _bar(axes[0], r.breakdown, 1e3, "mJ", f"energy {r.energy_j * 1e3:.4g} mJ")
    _bar(axes[1], r.area_breakdown, 1e6, "mm$^2$", f"area {r.area_m2 * 1e6:.4g} mm$^2$")
    layers = {k: v for k, v in r.latency_by_layer.items()}
    axes[2].bar(range(len(layers)), [v * 1e3 for v in layers.values()], color="#66aa55")
    axes[2].set_xticks(range(len(layers)), list(layers), rotation=90, fontsize=6)
    axes[2].set_ylabel("ms")
    axes[2].set_title(f"latency per layer (total {r.latency_s * 1e3:.4g} ms)", fontsize=10)
    fig.suptitle(f"{r.model} on {r.arch}, batch {r.batch} x seq {r.seq_len}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown_run(r: Result, plot: str | None = None, rpc_table: list[dict] | None = None) -> str:
    L = [f"# {r.model} on {r.arch}", "",
         f"batch {r.batch} x seq {r.seq_len}" + (f" + {r.decode_tokens} decoded tokens" if r.decode_tokens else "")
         + f", {r.macs / 1e9:,.3f} GMAC. Simulation (cosim.system), not measurement.", "",
         "| quantity | value |", "| --- | --- |",
         f"| energy | {r.energy_j:.4g} J |", f"| area | {r.area_m2 * 1e6:,.3f} mm² |",
         f"| latency | {r.latency_s * 1e3:.4g} ms |", f"| area-delay product | {r.adp_m2s * 1e6:.4g} mm²·s |",
         f"| peak power (all units busy) | {r.power_peak_w:.4g} W |",
         f"| tiles / computation crossbars / chips | {r.plan['tiles']} / {r.plan['arrays']} / {r.plan['chips']} |",
         f"| memory crossbars | {r.plan['memory_arrays']} |",
         f"| ADC levels needed / available | {r.plan['adc_levels_needed']} / {r.plan['adc_levels']} "
         f"({'exact' if r.plan['lossless_adc'] else 'lossy'}) |", ""]
    if plot:
        L += [f"![breakdowns]({plot})", ""]
    if r.unvalidated:
        L += ["## Unvalidated", ""] + [f"- {u}" for u in r.unvalidated] + [""]
    if rpc_table:
        L += ["## Rows per conversion: what the other choices cost", "",
              "Same run with `compute.rows_per_conversion` changed (ADC range mapping as in the preset). "
              "Accuracy: MiniLM sentence embeddings through the crossbar models with ideal devices, so the column "
              "isolates the ADC mapping's loss — mean cosine to float / Spearman of the pair ranking over the 64 "
              "shipped sentences (`cosim run --accuracy`; `cosim accuracy` adds the device non-idealities).",
              "", "| rows per conversion | ADC mapping | latency (ms) | energy (J) | accuracy |",
              "| --- | --- | --- | --- | --- |"]
        L += [f"| {x['rpc']} | {x['mapping']} | {x['latency_s'] * 1e3:.4g} | {x['energy_j']:.4g} | "
              f"{x['accuracy'] if x.get('accuracy') else ('no ADC loss' if x['mapping'] == 'exact' else 'run with --accuracy')} |"
              for x in rpc_table]
        L += [""]
    L += ["## Energy by component", "", "| component | J | share |", "| --- | --- | --- |"]
    L += [f"| {k} | {v:.4g} | {v / r.energy_j:.1%} |" for k, v in r.breakdown.items()]
    L += ["", "## Area by component", "", "| component | mm² | share |", "| --- | --- | --- |"]
    L += [f"| {k} | {v * 1e6:.4g} | {v / r.area_m2:.1%} |" for k, v in r.area_breakdown.items()]
    if r.activity:
        L += ["", "## Bit-plane activity used", "",
              "Per product: the fraction of rows each read cycle of the streamed operand drives (in streaming "
              "order) and the mean level of the cells holding the stored one — from the preset's activity rule "
              "(`compute.activity`).", "",
              "| product | streamed: mean | per cycle | stored level | source |", "| --- | ---: | --- | ---: | --- |"]
        for name, a in r.activity.items():
            st = a["stream"]
            L.append(f"| {name} | {sum(st) / len(st):.3f} | {' '.join(f'{x:.2f}' for x in st)} | "
                     f"{a['stored_level']:.3f} | {a['stream_source']} |")
    L += ["", "## Events", "", "| event | count |", "| --- | --- |"]
    L += [f"| {k} | {v:.4g} |" for k, v in r.events.items()]
    L += ["", "## Per-event figures and where they come from", "", "| figure | value | status | source |",
          "| --- | --- | --- | --- |"]
    L += [f"| {k} | {c['value']:.4g} | {c['status']} | {c['source']}{(' — ' + c['note']) if c['note'] else ''} |"
          for k, c in r.costs.items()]
    if r.lifetime:
        L += ["", "## Endurance", "", "| cells | lifetime |", "| --- | --- |"]
        L += [f"| {k} | {duration(v)} |" for k, v in r.lifetime.items()]
        L += ["", "`_low`: at the pessimistic endurance figure; duty as the preset states."]
    if r.notes:
        L += ["", "## Notes", ""] + [f"- {n}" for n in r.notes]
    L += ["", "## Assumptions of the preset", ""] + [f"- {a}" for a in r.assumptions]
    return "\n".join(L) + "\n"


# ---------------------------------------------------------------- comparison


@dataclass
class Row:
    arch: str
    kind: str
    energy_j: float | None
    area_m2: float | None
    latency_s: float | None
    adp_m2s: float | None
    note: str = ""


def comparison_rows(results: dict[str, Result], refs: dict) -> list[Row]:
    rows = [Row(a, "simulation", r.energy_j, r.area_m2, r.latency_s, r.adp_m2s,
                f"{len(r.unvalidated)} unvalidated figure(s)" if r.unvalidated else "") for a, r in results.items()]
    for name, p in refs.items():
        note = "reference data, not simulation; energy = board power x latency"
        if p.energy_measured_j is not None:
            note += f"; measured energy {p.energy_measured_j:.4g} J (own boundary)"
        note += "; " + "; ".join(p.notes[1:]) if len(p.notes) > 1 else ""
        rows.append(Row(name, "reference", p.energy_tdp_j, p.area_m2, p.latency_s, p.adp_m2s, note))
    return rows


def ratios(rows: list[Row]) -> list[dict]:
    by = {r.arch: r for r in rows}
    out = []
    for label, num, den, metric, paper, how in PAPER_RATIOS:
        ours = None
        if num in by and den in by:
            a, b = getattr(by[num], metric), getattr(by[den], metric)
            if a is not None and b is not None and b > 0:
                ours = 1 - b / a if how == "reduction" else a / b
        if ours is None:
            off = None
        elif how == "reduction":
            off = (1 - ours) / (1 - paper) if ours < 1 else math.inf
            off = max(off, 1 / off) if off and math.isfinite(off) else math.inf
        else:
            off = max(ours / paper, paper / ours) if ours > 0 else math.inf
        out.append({"label": label, "num": num, "den": den, "metric": metric, "paper": paper, "how": how,
                    "ours": ours, "off_by": off})
    return out


def fmt_ratio(x: float | None, how: str) -> str:
    if x is None:
        return "n/a"
    return f"{x:.0%}" if how == "reduction" else f"{x:.3g}x"


def plot_compare(rows: list[Row], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(16, 4))
    for ax, (metric, scale, unit) in zip(axes, (("energy_j", 1e3, "energy (mJ)"), ("area_m2", 1e6, "area (mm$^2$)"),
                                               ("latency_s", 1e3, "latency (ms)"), ("adp_m2s", 1e6, "ADP (mm$^2$ s)"))):
        names = [r.arch for r in rows if getattr(r, metric) is not None]
        vals = [getattr(r, metric) * scale for r in rows if getattr(r, metric) is not None]
        colors = ["#4477aa" if r.kind == "simulation" else "#bbbbbb" for r in rows if getattr(r, metric) is not None]
        ax.bar(names, vals, color=colors)
        ax.set_yscale("log")
        ax.set_title(unit, fontsize=10)
        ax.tick_params(axis="x", rotation=45)
    fig.suptitle("simulated (blue) vs reference data (grey)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown_compare(model: str, seq_len: int, batch: int, rows: list[Row], rat: list[dict],
                     sens: list[dict], plot: str | None, results: dict[str, Result]) -> str:
    L = [f"# Architecture comparison: {model}, batch {batch} x seq {seq_len}", "",
         "| architecture | kind | energy (J) | area (mm²) | latency (ms) | ADP (mm²·s) | note |",
         "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        L.append(f"| {r.arch} | {r.kind} | {_fmt(r.energy_j)} | {_fmt(r.area_m2 and r.area_m2 * 1e6)} | "
                 f"{_fmt(r.latency_s and r.latency_s * 1e3)} | {_fmt(r.adp_m2s and r.adp_m2s * 1e6)} | {r.note} |")
    if plot:
        L += ["", f"![comparison]({plot})"]
    L += ["", f"## The seed paper's headline ratios beside ours ({PAPER_SOURCE})", "",
          "| claim | paper | ours (computed) | off by |", "| --- | --- | --- | --- |"]
    for x in rat:
        paper = f"{x['paper']:.0%}" if x["how"] == "reduction" else (("≥ " if x["how"].startswith(">=") else "")
                                                                     + f"{x['paper']:g}x")
        off = "n/a" if x["off_by"] is None else f"{x['off_by']:.3g}x"
        L.append(f"| {x['label']} | {paper} | {fmt_ratio(x['ours'], x['how'])} | {off} |")
    L += ["", "Ratios are ours = numerator / large-small (energy reduction: 1 − ours/theirs). A100 energy is "
          "board power × published latency; its measured energy per sample is for another sequence length and "
          "is not mixed in. TPU v4 has no published BERT-Large latency on file: its ratios are n/a."]
    if sens:
        L += ["", "## Sensitivity: which assumptions drive the gaps (ratios off by more than 2x)", "",
              "One assumption of `large-small` changed at a time; the ratio recomputed.", "",
              "| claim | paper | default | change | ratio with the change |", "| --- | --- | --- | --- | --- |"]
        for s in sens:
            L.append(f"| {s['label']} | {fmt_ratio(s['paper'], s['how'])} | {fmt_ratio(s['default'], s['how'])} | "
                     f"`{s['field']} = {s['value']}` ({s['why']}) | {fmt_ratio(s['ours'], s['how'])} |")
    for a, r in results.items():
        if r.unvalidated:
            L += ["", f"Unvalidated in {a}: " + "; ".join(r.unvalidated)]
    return "\n".join(L) + "\n"


def check_format(path: str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in (".md", ".html"):
        raise ConfigError(f"report {path}: use .md or .html")
    return suffix


def write_report(text: str, path: Path) -> None:
    """Markdown as is, or HTML (the Markdown tables rendered by a tiny converter, images inline)."""
    if path.suffix.lower() == ".md":
        path.write_text(text)
        return
    import html

    out, in_table = ["<!doctype html><meta charset='utf-8'><style>body{font-family:sans-serif;max-width:70em}"
                     "td,th{border:1px solid #ccc;padding:2px 6px}table{border-collapse:collapse}</style>"], False
    for line in text.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if all(set(c) <= set("- ") for c in cells):
                continue
            if not in_table:
                out.append("<table>")
                in_table = True
            out.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
            continue
        if in_table:
            out.append("</table>")
            in_table = False
        if line.startswith("#"):
            n = len(line) - len(line.lstrip("#"))
            out.append(f"<h{n}>{html.escape(line[n:].strip())}</h{n}>")
        elif line.startswith("![") and "](" in line:
            out.append(f"<img src='{html.escape(line.split('](')[1].rstrip(')'))}' style='max-width:100%'>")
        elif line.startswith("- "):
            out.append(f"<li>{html.escape(line[2:])}</li>")
        elif line.strip():
            out.append(f"<p>{html.escape(line)}</p>")
    if in_table:
        out.append("</table>")
    path.write_text("\n".join(out) + "\n")


def plot_sweep(rows: list[dict], keys: list[str], path: Path) -> None:
    """Energy, latency, area and ADP against each swept field (other fields: every value, one line each)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = (("energy_j", 1e3, "energy (mJ)"), ("latency_s", 1e3, "latency (ms)"), ("area_m2", 1e6, "area (mm$^2$)"),
               ("adp_m2s", 1e6, "ADP (mm$^2$ s)"))
    fig, axes = plt.subplots(len(keys), 4, figsize=(16, 3.6 * len(keys)), squeeze=False)
    for i, k in enumerate(keys):
        others = [o for o in keys if o != k]
        groups: dict[tuple, list[dict]] = {}
        for r in rows:
            groups.setdefault(tuple(r[o] for o in others), []).append(r)
        for j, (m, scale, label) in enumerate(metrics):
            ax = axes[i][j]
            for g, rs in list(groups.items())[:8]:
                xs = [r[k] for r in rs]
                numeric = all(_isnum(x) for x in xs)
                xv = [float(x) for x in xs] if numeric else list(range(len(xs)))
                ax.plot(xv, [r[m] * scale for r in rs], "o-", label=", ".join(f"{o}={v}" for o, v in zip(others, g)))
                if not numeric:
                    ax.set_xticks(xv, [str(x) for x in xs])
            ax.set_xlabel(k)
            ax.set_ylabel(label)
            ax.set_yscale("log")
            if others and j == 0 and len(groups) > 1:
                ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _isnum(x) -> bool:
    try:
        float(x)
        return True
    except (TypeError, ValueError):
        return False
