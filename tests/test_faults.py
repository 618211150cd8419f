"""Fault-aware mapping (cosim.mapping.faults) checked against hand-worked cases."""

import numpy as np
import pytest

from cosim.functional.engine import explicit_product, spec_of
from cosim.mapping.faults import HEALTHY, STUCK_OFF, STUCK_ON, assign, column_costs, map_planes
from cosim.system.arch import NONIDEALITIES, load_arch

ALL_OFF = {f"analog.{k}": v for d in NONIDEALITIES.values() for k, v in d.items()}


def test_column_costs_by_hand():
    """Two rows, 1-bit cells.  Logical column (1, 0) on a physical column with row 0 stuck off: one
    mismatch (cost 1) plain; complemented it holds (0, 1), row 0 wants 0 and is stuck at 0: cost 0.
    On a column with row 1 stuck on: plain wants 0 there (cost 1); complemented wants 1 (cost 0)."""
    L = np.array([[1], [0]])
    F = np.array([[STUCK_OFF, HEALTHY], [HEALTHY, STUCK_ON]])
    plain, comp = column_costs(L, F, 1)
    assert plain.tolist() == [[1.0, 1.0]] and comp.tolist() == [[0.0, 0.0]]
    # 2-bit cells: level 2 on a stuck-on cell (level 3) costs (3-2)^2 = 1; complemented (1) costs 4
    plain, comp = column_costs(np.array([[2]]), np.array([[STUCK_ON]]), 3)
    assert plain.tolist() == [[1.0]] and comp.tolist() == [[4.0]]


def test_significant_slices_get_the_clean_columns_and_spares_replace_bad_ones():
    """Four rows; logical columns of significance 2^0 and 2^7, both all ones, stored plainly.  Physical
    column 0 has two stuck-off cells, column 1 one, column 2 (a spare) none: the 2^7 slice goes to
    the spare, the 2^0 slice to column 1 (the cheapest left).  Complemented, all ones become all
    zeros, which stuck-off cells hold correctly: every placement then costs nothing."""
    L = np.ones((4, 2), dtype=int)
    F = np.zeros((4, 3), dtype=np.int8)
    F[[0, 1], 0] = STUCK_OFF
    F[2, 1] = STUCK_OFF
    phys, flip = assign(L, np.array([0.0, 7.0]), F, 1, complement=False)
    assert phys.tolist() == [1, 2] and not flip.any()
    # without the spare the 2^7 slice takes the column with one fault
    phys, _ = assign(L, np.array([0.0, 7.0]), F[:, :2], 1, complement=False)
    assert phys.tolist() == [0, 1]
    phys, flip = assign(L, np.array([0.0, 7.0]), F, 1)
    assert flip[phys != 2].all()  # wherever a stuck cell sits, the column is complemented


def test_no_faults_changes_nothing(rng):
    planes = [(1, s, rng.integers(0, 2, (200, 5))) for s in range(8)]
    out = map_planes(planes, 128, 128, 8, 1, 0.0, 0.0, rng)
    for (_, _, lv), (held, stuck, flips) in zip(planes, out):
        assert np.array_equal(held, lv) and not stuck.any() and not flips.any()


def test_every_cell_stuck_off_by_hand():
    """Every cell stuck at G_off (single-bit: 1-bit cells, |w| bits on a + or − column).  A column plane
    stored plainly reads all zeros; complemented it reads all ones after the digital undo — the mapper
    complements exactly the columns with more ones than zeros, and the product is what those bits give."""
    rng = np.random.default_rng(4)
    U = np.clip(np.rint(rng.standard_normal((6, 40)) * 30), -127, 127)
    S = np.clip(np.rint(rng.standard_normal((40, 9)) * 30), -127, 127)
    sp = spec_of(load_arch("single-bit", {**ALL_OFF, "analog.stuck_off_rate": 1.0, "compute.fault_aware": True}))
    out = explicit_product(U, S, 8, 8, sp, np.random.default_rng(1))
    expect = np.zeros_like(U @ S)
    for side, mag in ((1, np.maximum(S, 0)), (-1, np.maximum(-S, 0))):
        for j in range(7):
            bits = (mag.astype(int) >> j) & 1
            eff = np.where(bits.sum(0) > (1 - bits).sum(0), 1, 0)[None, :] * np.ones_like(bits)
            expect += side * 2**j * (U @ eff)
    assert np.array_equal(out, expect)


@pytest.mark.parametrize("arch", ["large-small", "multi-bit", "single-bit"])
def test_mapping_reduces_the_stuck_at_error(arch):
    """At MNSIM's rates (9 % off, 1 % on) the mapped product is closer to exact than the unmapped one,
    and 32 spares per array bring it closer still."""
    rng = np.random.default_rng(0)
    U = np.clip(np.rint(rng.standard_normal((32, 300)) * 30), -127, 127)
    S = np.clip(np.rint(rng.standard_normal((300, 32)) * 30), -127, 127)
    y = U @ S
    stuck = {**ALL_OFF, "analog.stuck_off_rate": 0.09, "analog.stuck_on_rate": 0.01}

    def err(**kw):
        sp = spec_of(load_arch(arch, {**stuck, **{f"compute.{k}": v for k, v in kw.items()}}))
        return np.linalg.norm(explicit_product(U, S, 8, 8, sp, np.random.default_rng(1)) - y) / np.linalg.norm(y)

    unmapped = err(fault_aware=False, spare_cols=0)
    mapped, spared = err(fault_aware=True, spare_cols=0), err(fault_aware=True, spare_cols=32)
    assert spared < mapped < 0.6 * unmapped


def test_faults_sweep_points_and_the_spares_line():
    """The sweep keeps the preset's stuck-at rates (not the no-stuck sweep base), turns every other
    non-ideality off, and the report names the fewest spares that meet both targets."""
    from cosim.functional.accuracy import FAULT_SPARES, NO_STUCK, sweep_points
    from cosim.functional.report import spares_needed

    pts = sweep_points("faults", "multi-bit", dict(NO_STUCK))
    assert [p[1]["compute.spare_cols"] for p in pts] == [0] + list(FAULT_SPARES)
    assert all(p[1]["analog.stuck_off_rate"] == 0.09 and p[1]["analog.stuck_on_rate"] == 0.01 for p in pts)
    assert all(p[1]["analog.prog_sigma"] == 0.0 and p[1]["analog.adc_noise_lsb"] == 0.0 for p in pts)
    assert pts[0][1]["compute.fault_aware"] is False and all(p[1]["compute.fault_aware"] for p in pts[1:])
    rows = [{"row": label, "overrides": ov, "cosine_mean": c, "spearman": s}
            for (label, ov), (c, s) in zip(pts, [(0.01, 0.0), (0.93, 0.88), (0.95, 0.91), (0.96, 0.94), (0.991, 0.97),
                                               (0.992, 0.985), (0.995, 0.99)])]
    assert "64 per array" in spares_needed(rows)  # 32 spares meet the cosine but not the Spearman target
    assert "more than 32 per array" in spares_needed(rows[:5])


def test_greedy_per_write_mapping_by_hand():
    """Per write, slices in order of falling significance take the free column of least cost.  Two
    rows, both slices hold (1, 0).  Column 0 has both rows stuck on: plain (1, 0) disagrees in row 1,
    complemented (0, 1) in row 0 — cost 1 either way; column 1 is clean (cost 0); column 2 has row 0
    stuck off and row 1 stuck on: plain disagrees in both rows, complemented in none (cost 0).  The
    2^7 slice takes the first column of cost 0, clean column 1, plainly; the 2^0 slice then column 2,
    complemented."""
    from cosim.mapping.faults import assign_greedy

    L = np.array([[1, 1], [0, 0]])
    F = np.array([[STUCK_ON, HEALTHY, STUCK_OFF], [STUCK_ON, HEALTHY, STUCK_ON]], dtype=np.int8)
    phys, flip = assign_greedy(L, np.array([7.0, 0.0]), F, 1)
    assert phys.tolist() == [1, 2] and flip.tolist() == [False, True]
