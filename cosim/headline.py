"""The project's headline figures, pinned in ``tests/golden/headline.json``.

BERT-Large (seq 128, batch 1) on every simulated preset, GPT-3 175B (prefill 1920 + decode 128) on
large-small and multi-bit, and MiniLM's accuracy budget on large-small.  ``tests/test_headline.py``
recomputes them and compares exactly (relative 1e-9); ``scripts/headline.py`` regenerates the file.
A change that moves one shows in the diff of that file and gets a ``CHANGELOG.md`` entry (before →
after, and why).

Shape (other tools read it)::

    {"runs": [{"model", "arch", "seq_len", "batch", "decode_tokens", "energy_j", "area_m2",
               "latency_s", "adp_m2s", "power_peak_w", "energy_shares": {category: fraction}}, ...],
     "accuracy": [{"model", "arch", "mode", "seed", "row", "cosine_mean", "cosine_min", "spearman"}, ...]}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: (model, arch, seq_len, batch, decode_tokens) of every pinned system run.
RUNS: tuple[tuple[str, str, int, int, int], ...] = (
    ("bert-large", "large-small", 128, 1, 0),
    ("bert-large", "multi-bit", 128, 1, 0),
    ("bert-large", "single-bit", 128, 1, 0),
    ("gpt3-175b", "large-small", 1920, 1, 128),
    ("gpt3-175b", "multi-bit", 1920, 1, 128),
)
#: The accuracy budget pinned: (checkpoint, arch, mode, seed).
ACCURACY = ("minilm", "large-small", "fast", 0)

RUN_KEYS = ("energy_j", "area_m2", "latency_s", "adp_m2s", "power_peak_w")
ACCURACY_KEYS = ("cosine_mean", "cosine_min", "spearman")


def golden_path() -> Path:
    return Path(__file__).resolve().parent.parent / "tests" / "golden" / "headline.json"


def system_runs() -> list[dict[str, Any]]:
    """Every pinned system run, recomputed on the shipped presets and tables."""
    from .system.runs import run

    out = []
    for model, arch, seq, batch, dec in RUNS:
        r = run(model, arch, seq, batch, dec)
        out.append({"model": model, "arch": arch, "seq_len": seq, "batch": batch, "decode_tokens": dec,
                    **{k: float(getattr(r, k)) for k in RUN_KEYS},
                    "energy_shares": {k: v / r.energy_j for k, v in r.breakdown.items()}})
    return out


def accuracy_rows(n_jobs: int = 2, log=None) -> list[dict[str, Any]]:
    """MiniLM's accuracy budget on large-small (the shipped 64 evaluation sentences)."""
    from .functional.accuracy import evaluate

    ck, arch, mode, seed = ACCURACY
    res = evaluate(ck, arch, mode=mode, seed=seed, validate=0, n_jobs=n_jobs, log=log or (lambda s: None))
    return [{"model": ck, "arch": arch, "mode": mode, "seed": seed, "row": r["row"],
             **{k: float(r[k]) for k in ACCURACY_KEYS}} for r in res["rows"]]


def load_golden(path: Path | None = None) -> dict[str, Any]:
    return json.loads((path or golden_path()).read_text())


def write_golden(data: dict[str, Any], path: Path | None = None) -> Path:
    p = path or golden_path()
    p.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
    return p


def differences(old: dict[str, Any], new: dict[str, Any], rel: float = 1e-9) -> list[str]:
    """Lines naming every pinned figure that moved by more than ``rel`` (before → after)."""
    import math

    def key(r, fields):
        return tuple(r[f] for f in fields)

    out = []
    for section, ident, keys in (("runs", ("model", "arch", "seq_len", "batch", "decode_tokens"), RUN_KEYS),
                                 ("accuracy", ("model", "arch", "mode", "seed", "row"), ACCURACY_KEYS)):
        if section not in new:
            continue
        before = {key(r, ident): r for r in old.get(section, [])}
        for r in new[section]:
            k = key(r, ident)
            b = before.get(k)
            label = " ".join(str(x) for x in k)
            if b is None:
                out.append(f"{section}: {label}: new")
                continue
            for f in keys:
                if not math.isclose(b[f], r[f], rel_tol=rel, abs_tol=0.0):
                    out.append(f"{section}: {label}: {f} {b[f]:.6g} -> {r[f]:.6g} ({r[f] / b[f] if b[f] else float('inf'):.3g}x)")
    return out
