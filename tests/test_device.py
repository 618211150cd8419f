"""Cell laws built from tables (numpy only)."""

import numpy as np
import pytest

from cosim.errors import ModelRangeError
from cosim.models.device import MemristorIV, TransistorTable, one_t_one_r_law


def test_transistor_table_exact_on_bilinear_data(rng):
    vds, vs = np.linspace(-0.2, 0.6, 81), np.linspace(0, 0.3, 31)
    f = lambda x, s: 1e-4 * x * (1 - s) + 2e-6 * s
    X, S = np.meshgrid(vds, vs)
    t = TransistorTable(vds, vs, f(X, S))
    x, s = rng.uniform(-0.2, 0.6, 500), rng.uniform(0, 0.3, 500)
    I, dI = t(x, s)
    np.testing.assert_allclose(I, f(x, s), rtol=0, atol=1e-15)
    np.testing.assert_allclose(dI, 1e-4 * (1 - s), rtol=1e-9)


def test_series_cell_solves_kirchhoff(rng):
    """1T1R law: the memristor and the transistor carry the same current at the solved node."""
    vds, vs = np.linspace(-0.2, 0.6, 401), np.linspace(0, 0.3, 31)
    X, S = np.meshgrid(vds, vs)
    fet = TransistorTable(vds, vs, 1e-3 * np.tanh(X / 0.3) * (1 - S))  # a smooth monotone stand-in
    G = rng.uniform(1e-6, 1e-4, (5, 5))
    v, s = rng.uniform(0, 0.5, (5, 5)), rng.uniform(0, 0.1, (5, 5))
    I, dI = one_t_one_r_law(G, fet)(v, s)
    x = v - I / G  # transistor v_ds implied by the memristor
    np.testing.assert_allclose(fet(x, s)[0], I, rtol=1e-9)
    h = 1e-6  # derivative by finite difference
    I2, _ = one_t_one_r_law(G, fet)(v + h, s)
    np.testing.assert_allclose(dI, (I2 - I) / h, rtol=1e-3)


def test_out_of_table_refused():
    v = np.linspace(-0.25, 0.75, 1001)
    m = MemristorIV(v, v.copy())
    with pytest.raises(ModelRangeError, match="outside the calibrated table"):
        m.unit(np.array([0.8]))
    vds, vs = np.linspace(0, 0.6, 7), np.linspace(0, 0.3, 4)
    t = TransistorTable(vds, vs, np.ones((4, 7)))
    with pytest.raises(ModelRangeError, match="column-node voltage"):
        t.check(np.array([0.1]), np.array([0.5]))
