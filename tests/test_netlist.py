"""Netlist rendering: golden file, sizes, parameter round trip, bad input."""

import re
import tomllib

import numpy as np
import pytest

from cosim.errors import ConfigError, UnknownNameError
from cosim.netlist import CrossbarParams, Inputs, Op, Tran, render_crossbar


def _case(n, m=None):
    m = m or n
    G = np.arange(1, n * m + 1, dtype=float).reshape(n, m) * 1e-6
    V = np.linspace(0.1, 0.4, n)
    return G, V


def test_golden_passive_4x4(golden):
    G, V = _case(4)
    text = render_crossbar(CrossbarParams(), G, Op(V))
    assert text == (golden / "passive_4x4.cir").read_text()


@pytest.mark.parametrize("kind", ["passive", "passive_sinh", "1t1r"])
@pytest.mark.parametrize("n", [4, 128])
def test_element_counts(kind, n):
    G, V = _case(n)
    text = render_crossbar(CrossbarParams(kind=kind), G, Op(V))
    lines = text.splitlines()
    count = lambda prefix: sum(1 for l in lines if l.startswith(prefix))
    assert count("VIN") == n and count("VSENSE") == n
    assert count("RR") == n * n and count("RC") == n * n
    cells = count("RX") + count("BX")
    assert cells == n * n
    assert count("M") == (n * n if kind == "1t1r" else 0)
    assert lines[-1] == ".end" and ".op" in lines


def test_full_precision_values():
    G = np.array([[1 / 3 * 1e-4, 1e-5], [2e-5, 3e-5]])
    text = render_crossbar(CrossbarParams(r_row=0.1 + 0.2), G, Op(np.array([0.1, 0.2])))
    r = float(re.search(r"^RX0_0 \S+ \S+ (\S+)$", text, re.M).group(1))
    assert r == 1.0 / G[0, 0]
    assert f" {repr(0.1 + 0.2)}" in text


def test_inputs_and_tran_cards():
    G, V = _case(3)
    t = render_crossbar(CrossbarParams(), G, Inputs(np.stack([V, V * 2])))
    assert ".dc VIDX 0 1 1" in t and "pwl(V(idx)" in t
    t = render_crossbar(CrossbarParams(), G, Tran(V, t_stop=1e-10))
    assert ".tran" in t and "CR0_0" in t and "PULSE" in t


def test_params_round_trip_through_toml():
    import tomli_w

    p = CrossbarParams(kind="1t1r", r_row=1.47, r_col=4.4)
    text = tomli_w.dumps(p.to_dict())
    assert CrossbarParams.from_dict(tomllib.loads(text)) == p
    assert tomli_w.dumps(CrossbarParams.from_dict(tomllib.loads(text)).to_dict()) == text


def test_bad_params():
    with pytest.raises(UnknownNameError, match="passive_sinh"):
        CrossbarParams(kind="nope")
    with pytest.raises(ConfigError, match="r_row"):
        CrossbarParams(r_row=-1)
    with pytest.raises(ConfigError, match="unknown crossbar parameter"):
        CrossbarParams.from_dict({"r_wire": 1})
    G, V = _case(3)
    with pytest.raises(ConfigError):
        render_crossbar(CrossbarParams(), -G, Op(V))
    with pytest.raises(ConfigError):
        render_crossbar(CrossbarParams(), G, Op(V[:2]))
