"""Reference platforms: published figures only, labelled, energy never mixed."""

import pytest

from cosim.errors import UnknownNameError
from cosim.system.reference import reference_platforms, reference_point


def test_a100_bert_large_seq128():
    p = reference_point("a100", "bert-large", 128, 1)
    assert p.latency_s == 1.25e-3 and p.area_m2 == 826e-6
    assert p.energy_tdp_j == pytest.approx(250 * 1.25e-3)
    assert p.adp_m2s == pytest.approx(826e-6 * 1.25e-3)
    assert p.energy_measured_j is None  # MLPerf energy is for seq 384: not silently reused
    assert "reference data, not simulation" in p.notes


def test_a100_seq384_has_both_energies_kept_apart():
    p = reference_point("a100", "bert-large", 384, 1)
    assert p.energy_tdp_j == pytest.approx(250 * 2.81e-3)
    assert p.energy_measured_j == pytest.approx(0.126)
    assert any("wall" in s for s in p.sources)


def test_tpuv4_has_no_invented_latency():
    p = reference_point("tpuv4", "bert-large", 128, 1)
    assert p.latency_s is None and p.adp_m2s is None and p.energy_tdp_j is None
    assert any("no published latency" in n for n in p.notes)


def test_unknown_platform():
    assert reference_platforms() == ["a100", "tpuv4"]
    with pytest.raises(UnknownNameError, match="a100, tpuv4"):
        reference_point("h100", "bert-large", 128, 1)
