"""Accuracy reports: JSON, CSV, a Markdown/HTML report and its plots."""

from __future__ import annotations

import json
from pathlib import Path

from ..system.report import write_report, write_rows

MINILM_NOTE = ("MiniLM sentence embeddings do not test the seed paper's BERT-Large GLUE figures: the paper's "
               "noise-robustness claims (5x its nominal noise, 18x with 1-bit cells) are compared here on a "
               "different model and metric.")
TARGETS = {"cosine_mean": 0.99, "spearman": 0.98}


def rows_of(res: dict) -> list[dict]:
    out = []
    for group, rows in [("budget", res["rows"])] + [(f"sweep:{k}", v) for k, v in res["sweeps"].items()]:
        for r in rows:
            out.append({"group": group, "row": r["row"], "cosine_mean": r.get("cosine_mean"),
                        "cosine_min": r.get("cosine_min"), "spearman": r.get("spearman"),
                        "last_layer_error": r["layer_error"][-1] if "layer_error" in r else None,
                        "seconds": r.get("seconds"), "error": r.get("error", ""),
                        "overrides": ";".join(f"{k}={v}" for k, v in r.get("overrides", {}).items())})
    return out


def write_json(res: dict, path: Path) -> None:
    path.write_text(json.dumps(res, indent=2, default=str) + "\n")


def plot(res: dict, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = 2 + len(res["sweeps"])
    fig, axes = plt.subplots(1, n, figsize=(5.2 * n, 4.4))
    rows = [r for r in res["rows"] if "error" not in r]
    ax = axes[0]
    ax.barh([r["row"] for r in rows][::-1], [r["cosine_mean"] for r in rows][::-1], color="tab:blue")
    ax.axvline(TARGETS["cosine_mean"], color="k", ls="--", lw=1, label="target 0.99")
    ax.set_xlabel("mean cosine to float")
    ax.set_xlim(min(0.0, min(r["cosine_mean"] for r in rows)), 1.0)
    ax.set_title(f"{res['arch']}: accuracy budget")
    ax.legend(loc="lower left", fontsize=8)
    ax = axes[1]
    for r in rows:
        ax.plot(range(len(r["layer_error"])), r["layer_error"], marker=".", label=r["row"])
    ax.set_yscale("symlog", linthresh=1e-3)
    ax.set_xlabel("layer (0 = embeddings)")
    ax.set_ylabel("relative error of hidden states")
    ax.set_title("per-layer error")
    ax.legend(fontsize=6)
    for ax, (name, pts) in zip(axes[2:], res["sweeps"].items()):
        ok = [p for p in pts if "error" not in p]
        ax.plot([p["row"] for p in ok], [p["cosine_mean"] for p in ok], marker="o", label="cosine")
        ax.plot([p["row"] for p in ok], [p["spearman"] for p in ok], marker="s", label="spearman")
        ax.axhline(TARGETS["cosine_mean"], color="k", ls="--", lw=1)
        ax.set_title(f"sweep: {name}")
        ax.tick_params(axis="x", rotation=60, labelsize=7)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


def markdown(res: dict, png: str | None) -> str:
    L = [f"# Accuracy: {res['model']} on {res['arch']}", "",
         f"{res['sentences']} sentences ({min(res['tokens'])}–{max(res['tokens'])} tokens), mode **{res['mode']}**, "
         f"seed {res['seed']}" + (f", overrides {res['overrides']}" if res["overrides"] else "") +
         f"; {res['seconds']:.0f} s.", "",
         "Metrics against the float model (numpy, equal to sentence-transformers' output): mean and minimum cosine "
         "similarity of the sentence embeddings; Spearman correlation of the pairwise-similarity ranking over all "
         "sentence pairs; relative error of the last hidden state.  Targets: cosine >= 0.99, Spearman >= 0.98.", "",
         f"> {MINILM_NOTE}", ""]
    if png:
        L += [f"![accuracy]({png})", ""]
    L += ["## Accuracy budget", "", "| row | cosine mean | cosine min | Spearman | last-layer error | meets targets |",
          "| --- | ---: | ---: | ---: | ---: | --- |"]
    for r in res["rows"]:
        if "error" in r:
            L.append(f"| {r['row']} | error: {r['error']} | | | | |")
            continue
        ok = r["cosine_mean"] >= TARGETS["cosine_mean"] and r["spearman"] >= TARGETS["spearman"]
        L.append(f"| {r['row']} | {r['cosine_mean']:.4f} | {r['cosine_min']:.4f} | {r['spearman']:.4f} | "
                 f"{r['layer_error'][-1]:.3f} | {'yes' if ok else 'no'} |")
    if res.get("validation"):
        L += ["", "## Fast mode against the explicit mode", "",
              "| configuration | sentences | cosine fast | cosine explicit | |difference| | time fast | time explicit |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for v in res["validation"]:
            f, e = v["fast"], v["explicit"]
            L.append(f"| {v['row']} | {len(f['cosine'])} | {f['cosine_mean']:.4f} | {e['cosine_mean']:.4f} | "
                     f"{abs(f['cosine_mean'] - e['cosine_mean']):.4f} | {v['fast_s']:.1f} s | {v['explicit_s']:.1f} s |")
    if res.get("activity"):
        L += ["", "## Bit-plane activity of the products", "",
              f"Measured on these sentences ({res['activity']['source']}): the mean fraction of rows a read cycle "
              "drives when the operand streams in each encoding, and the mean level of 1-bit cells holding it "
              "(offset-binary / differential). Operand a: the layer input, Q or the softmax probabilities; b: the "
              "weights, Kᵀ or V. The system simulator uses the shipped profile measured the same way on sequences "
              "of 128 tokens (`compute.activity = measured`).", "",
              "| product | operand | two-pass | two's complement | offset | level offset | level differential | "
              "two-pass per cycle (LSB first; + pass, then −) |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
        for r in res["activity"]["rows"]:
            L.append(f"| {r['product']} | {r['operand']} | {r['two_pass']:.3f} | {r['twos']:.3f} | {r['offset']:.3f} | "
                     f"{r['level_offset']:.3f} | {r['level_differential']:.3f} | "
                     f"{' '.join(f'{x:.2f}' for x in r['bits_two_pass'])} |")
    for name, pts in res["sweeps"].items():
        L += ["", f"## Sweep: {name}", "", "| point | cosine mean | Spearman | last-layer error |", "| --- | ---: | ---: | ---: |"]
        for p in pts:
            if "error" in p:
                L.append(f"| {p['row']} | error: {p['error']} | | |")
            else:
                L.append(f"| {p['row']} | {p['cosine_mean']:.4f} | {p['spearman']:.4f} | {p['layer_error'][-1]:.3f} |")
        if name == "faults":
            L += ["", spares_needed(pts)]
    return "\n".join(L) + "\n"


def spares_needed(pts: list[dict]) -> str:
    """The fewest spare columns per array whose mapped stuck-at-only run meets the targets."""
    ok = [p for p in pts if "error" not in p and p.get("overrides", {}).get("compute.fault_aware") in (True, "true")
          and p["cosine_mean"] >= TARGETS["cosine_mean"] and p["spearman"] >= TARGETS["spearman"]]
    if not ok:
        most = max((p.get("overrides", {}).get("compute.spare_cols", 0) for p in pts), default=0)
        return f"Spares needed for cosine >= 0.99 and Spearman >= 0.98 with stuck-at faults: more than {most} per array."
    best = min(ok, key=lambda p: int(p["overrides"]["compute.spare_cols"]))
    return (f"Spares needed for cosine >= 0.99 and Spearman >= 0.98 with stuck-at faults: "
            f"{best['overrides']['compute.spare_cols']} per array ({best['cosine_mean']:.4f} / {best['spearman']:.4f}).")


def write_all(res: dict, outs: dict, log=print) -> None:
    if outs.get("json"):
        write_json(res, outs["json"])
        log(f"wrote {outs['json']}")
    if outs.get("csv"):
        write_rows(rows_of(res), outs["csv"])
        log(f"wrote {outs['csv']}")
    if outs.get("report"):
        png = outs["report"].with_suffix(".png")
        plot(res, png)
        write_report(markdown(res, png.name), outs["report"])
        log(f"wrote {outs['report']} and {png}")
