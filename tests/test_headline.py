"""The pinned headline figures (tests/golden/headline.json) recomputed and compared exactly.

A change that moves one must regenerate the file (``scripts/headline.py``) and say why in
CHANGELOG.md; this test is what makes the move visible.
"""

import math

import pytest

from cosim.headline import ACCURACY_KEYS, RUN_KEYS, RUNS, accuracy_rows, load_golden, system_runs

REL = 1e-9


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL, abs_tol=0.0)


def test_golden_shape():
    g = load_golden()
    assert [(r["model"], r["arch"], r["seq_len"], r["batch"], r["decode_tokens"]) for r in g["runs"]] == list(RUNS)
    for r in g["runs"]:
        assert _same(r["adp_m2s"], r["area_m2"] * r["latency_s"])
        assert _same(sum(r["energy_shares"].values()), 1.0)
    assert {r["row"] for r in g["accuracy"]} >= {"int8 digital", "all nominal", "all nominal but stuck-at"}


def test_system_headline_unchanged():
    pinned = {(r["model"], r["arch"], r["seq_len"], r["batch"], r["decode_tokens"]): r for r in load_golden()["runs"]}
    moved = []
    for r in system_runs():
        p = pinned[(r["model"], r["arch"], r["seq_len"], r["batch"], r["decode_tokens"])]
        for k in RUN_KEYS:
            if not _same(p[k], r[k]):
                moved.append(f"{r['model']} {r['arch']} {k}: pinned {p[k]:.9g}, now {r[k]:.9g}")
        if set(p["energy_shares"]) != set(r["energy_shares"]) or not all(
                _same(p["energy_shares"][c], r["energy_shares"][c]) for c in r["energy_shares"]):
            moved.append(f"{r['model']} {r['arch']} energy shares moved")
    assert not moved, "headline figures moved (regenerate with scripts/headline.py, log in CHANGELOG.md):\n" + \
        "\n".join(moved)


@pytest.mark.slow
def test_accuracy_headline_unchanged():
    pinned = {r["row"]: r for r in load_golden()["accuracy"]}
    moved = []
    for r in accuracy_rows(n_jobs=2):
        p = pinned[r["row"]]
        moved += [f"{r['row']} {k}: pinned {p[k]:.9g}, now {r[k]:.9g}" for k in ACCURACY_KEYS if not _same(p[k], r[k])]
    assert not moved, "accuracy headline moved (regenerate with scripts/headline.py, log in CHANGELOG.md):\n" + \
        "\n".join(moved)
