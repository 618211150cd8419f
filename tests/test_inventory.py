"""Reconstruction of a published design from its component list: ISAAC (ISCA 2016, Table I)."""

import pytest

from cosim.errors import ConfigError, UnknownNameError
from cosim.system.inventory import Inventory


def test_isaac_totals_rebuilt_from_components():
    """REFERENCE.md §2 published totals: tile ≈ 0.372 mm², 330 mW; chip ≈ 85.4 mm², 65.8 W."""
    r = Inventory.load("isaac").rollup()
    tile_area, tile_power = r["tile"]
    chip_area, chip_power = r["chip"]
    assert tile_area * 1e6 == pytest.approx(0.372, rel=0.10)
    assert tile_power == pytest.approx(0.330, rel=0.10)
    assert chip_area * 1e6 == pytest.approx(85.4, rel=0.10)
    assert chip_power == pytest.approx(65.8, rel=0.10)
    ima_area, ima_power = r["ima"]
    assert 12 * ima_power == pytest.approx(0.289, rel=0.01)  # Table I IMA total, 12 IMAs


def test_breakdown_sums_to_chip():
    inv = Inventory.load("isaac")
    b = inv.breakdown()
    area, power = inv.rollup()["chip"]
    assert sum(a for a, _ in b.values()) == pytest.approx(area, rel=1e-12)
    assert sum(p for _, p in b.values()) == pytest.approx(power, rel=1e-12)
    # ADCs dominate ISAAC's IMA power: 8 x 2 mW of 24 mW
    assert b["ima/adc_8b"][1] == pytest.approx(168 * 12 * 8 * 2e-3)


def test_bad_inventory(tmp_path):
    with pytest.raises(UnknownNameError, match="isaac"):
        Inventory.load("prime")
    p = tmp_path / "x.toml"
    p.write_text('name = "x"\n[[level]]\nname = "a"\ncount = 1\ncomponent = [{ name = "c", count = 1, power_w = -1, area_m2 = 0, src = "" }]\n')
    with pytest.raises(ConfigError, match="negative"):
        Inventory.load(str(p))
