"""Exact and behavioral crossbar solvers (numpy only, no ngspice)."""

import numpy as np
import pytest

from cosim.errors import ConfigError
from cosim.models.crossbar import FixedLinearArray, solve_behavioral, solve_cells, solve_exact


@pytest.mark.parametrize(
    "r, R, n, deficit",
    [  # REFERENCE.md §3, IR-drop sanity figures (exact nodal solve, all cells at R, all inputs on)
        (0.35, 200e3, 64, 0.005), (0.35, 200e3, 128, 0.019), (0.35, 200e3, 256, 0.071),
        (1.0, 100e3, 64, 0.027), (1.0, 100e3, 128, 0.099),
        (1.0, 10e3, 64, 0.215), (1.0, 10e3, 128, 0.508),
    ],
)
def test_exact_solver_reproduces_published_ir_drop_table(r, R, n, deficit):
    G = np.full((n, n), 1.0 / R)
    V = np.full(n, 0.2)
    I = solve_exact(G, V, r, r)
    got = 1.0 - I.mean() / (V @ G).mean()
    # the published figures carry two significant digits
    assert got == pytest.approx(deficit, rel=0.06, abs=0.0006)


def test_exact_solver_against_dense_kirchhoff(rng):
    """Independent check: dense nodal matrix written out element by element, solved by numpy."""
    n, m, rr, rc = 5, 4, 0.7, 1.9
    G = rng.uniform(1e-5, 1e-4, (n, m))
    V = rng.uniform(0, 0.5, n)
    N = 2 * n * m
    Y = np.zeros((N, N)); b = np.zeros(N)
    r_id = lambda i, j: i * m + j
    c_id = lambda i, j: n * m + i * m + j

    def add(a, c, g):
        Y[a, a] += g; Y[c, c] += g; Y[a, c] -= g; Y[c, a] -= g

    for i in range(n):
        Y[r_id(i, 0), r_id(i, 0)] += 1 / rr; b[r_id(i, 0)] += V[i] / rr
        for j in range(m):
            add(r_id(i, j), c_id(i, j), G[i, j])
            if j + 1 < m:
                add(r_id(i, j), r_id(i, j + 1), 1 / rr)
            if i + 1 < n:
                add(c_id(i, j), c_id(i + 1, j), 1 / rc)
    for j in range(m):
        Y[c_id(n - 1, j), c_id(n - 1, j)] += 1 / rc
    x = np.linalg.solve(Y, b)
    I_ref = np.array([x[c_id(n - 1, j)] / rc for j in range(m)])
    np.testing.assert_allclose(solve_exact(G, V, rr, rc), I_ref, rtol=1e-12)


@pytest.mark.parametrize("n, m, rr, rc", [(16, 16, 1.0, 1.0), (64, 64, 1.0, 1.0), (32, 8, 0.35, 4.4), (8, 40, 2.0, 0.5)])
def test_behavioral_matches_exact(rng, n, m, rr, rc):
    G = rng.uniform(1e-6, 1e-4, (n, m))
    V = rng.uniform(0, 0.5, (3, n))
    I_ex = solve_exact(G, V, rr, rc)
    I_b = solve_behavioral(G, V, rr, rc)
    err = np.linalg.norm(I_b - I_ex, axis=-1) / np.linalg.norm(I_ex, axis=-1)
    assert err.max() < 1e-5


def test_ideal_wires_give_ideal_product(rng):
    G = rng.uniform(1e-6, 1e-4, (6, 5)); V = rng.uniform(0, 0.5, 6)
    np.testing.assert_allclose(solve_exact(G, V, 0.0, 0.0), V @ G, rtol=1e-14)
    np.testing.assert_allclose(solve_behavioral(G, V, 0.0, 0.0), V @ G, rtol=1e-9)


@pytest.mark.parametrize("rr, rc", [(0.0, 2.0), (2.0, 0.0)])
def test_one_ideal_side(rng, rr, rc):
    G = rng.uniform(1e-5, 1e-3, (7, 6)); V = rng.uniform(0, 0.5, 7)
    I_ex = solve_exact(G, V, rr, rc)
    # reference: tiny resistance instead of zero through the general path
    I_near = solve_exact(G, V, rr or 1e-9, rc or 1e-9)
    np.testing.assert_allclose(I_ex, I_near, rtol=1e-6)
    np.testing.assert_allclose(solve_behavioral(G, V, rr, rc, tol=1e-10), I_ex, rtol=1e-8)
    assert np.all(I_ex < V @ G)


def test_fixed_array_many_inputs(rng):
    G = rng.uniform(1e-6, 1e-4, (32, 32))
    V = rng.uniform(0, 0.5, (100, 32))
    fixed = FixedLinearArray(G, 1.0, 2.0)
    np.testing.assert_allclose(fixed(V), solve_exact(G, V, 1.0, 2.0), rtol=1e-10)


def test_nonlinear_law_newton_converges(rng):
    """sinh cells: the solution satisfies Kirchhoff (cell law at the solved cell voltages)."""
    from cosim.models.crossbar import wire_drop

    v_read, v0 = 0.5, 0.25
    G = rng.uniform(1e-6, 1e-4, (24, 24)); V = rng.uniform(0, 0.5, 24)

    def law(v, vs):
        k = G * v_read / np.sinh(v_read / v0)
        return k * np.sinh(v / v0), k * np.cosh(v / v0) / v0

    I, info = solve_cells(G, V, 1.0, 1.0, law, tol=1e-10)
    v = V[:, None] - wire_drop(I, 1.0, 1.0)
    np.testing.assert_allclose(I, law(v, None)[0], rtol=1e-8, atol=1e-15)
    assert info.newton <= 10


@pytest.mark.parametrize(
    "G, V, rr, rc, msg",
    [
        (np.array([[1e-5, 0.0]]), np.array([0.1]), 1, 1, "positive"),
        (np.array([[1e-5, -1e-5]]), np.array([0.1]), 1, 1, "positive"),
        (np.ones((3, 2)) * 1e-5, np.ones(2), 1, 1, "rows"),
        (np.ones((3, 2)) * 1e-5, np.ones(3), -1, 1, ">= 0"),
        (np.ones((3, 2)) * 1e-5, np.ones(3), 1, float("nan"), ">= 0"),
        (np.ones(3) * 1e-5, np.ones(3), 1, 1, "2-D"),
    ],
)
def test_bad_inputs_raise_config_error(G, V, rr, rc, msg):
    with pytest.raises(ConfigError, match=msg):
        solve_exact(G, V, rr, rc)
    with pytest.raises(ConfigError, match=msg):
        solve_behavioral(G, V, rr, rc)


def test_non_convergence_is_an_error(rng):
    from cosim.errors import ConvergenceError

    G = rng.uniform(1e-6, 1e-4, (32, 32))
    with pytest.raises(ConvergenceError, match="did not converge"):
        solve_cells(G, rng.uniform(0, 0.5, 32), 1.0, 1.0, maxiter=1, tol=1e-12)
