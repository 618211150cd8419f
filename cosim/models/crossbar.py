"""Crossbar array solvers: an exact sparse nodal solver and a fast behavioral solver.

Array convention (every function here, the netlist templates and the validation share it):

* ``G[rows, cols]`` — cell conductances in siemens.  For a nonlinear cell this is the
  *chord* conductance at the read voltage ``v_read``: ``I(v_read) = G · v_read``.
  For a 1T1R cell it is the memristor's conductance alone; the access transistor adds in series.
* ``V[rows]`` — row input voltages in volts (a batch ``V[batch, rows]`` is accepted too).
* Row ``i`` is driven at its column-0 end through one row segment: driver → r_row → node (i, 0)
  → r_row → node (i, 1) … → node (i, cols-1), open at the far end.
* Column ``j`` is sensed at its last-row end: node (0, j) → r_col → node (1, j) … → node
  (rows-1, j) → r_col → virtual ground at 0 V.  The returned column current is the current
  flowing into that virtual ground, in amperes.
* Cell (i, j) connects row node (i, j) to column node (i, j).

Both solvers work on the same physics; the exact one assembles the full nodal matrix of the
``2·rows·cols`` wire nodes and factors it (scipy SuperLU), the behavioral one works in the
``rows·cols`` cell currents, where the wire network is a product of cumulative sums, and solves
the symmetric positive-definite system ``(diag(1/g) + A) I = V`` with preconditioned conjugate
gradients (and Newton steps around it for nonlinear cells).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..errors import ConfigError, ConvergenceError

#: A cell law: given cell voltages v (and column-node voltages vs), return (I, dI/dv).
CellLaw = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


# --------------------------------------------------------------------------- input checks


def check_inputs(G, V, r_row: float, r_col: float) -> tuple[np.ndarray, np.ndarray]:
    """Validate shapes, signs and finiteness; return float64 arrays.  Raises ConfigError."""
    G = np.asarray(G, dtype=float)
    V = np.asarray(V, dtype=float)
    if G.ndim != 2 or min(G.shape) < 1:
        raise ConfigError(f"G must be a 2-D array [rows, cols], got shape {G.shape}")
    if V.ndim not in (1, 2) or V.shape[-1] != G.shape[0]:
        raise ConfigError(f"V has shape {V.shape} but G has {G.shape[0]} rows; they must match")
    if not (np.all(np.isfinite(G)) and np.all(np.isfinite(V))):
        raise ConfigError("G and V must be finite numbers")
    if np.any(G <= 0):
        raise ConfigError(f"conductances must be positive (smallest is {G.min():g} S)")
    for name, r in (("row", r_row), ("column", r_col)):
        if not np.isfinite(r) or r < 0:
            raise ConfigError(f"{name} segment resistance must be >= 0 ohm, got {r}")
    return G, V


# --------------------------------------------------------------------------- exact solver


def _nodal_matrix(G: np.ndarray, r_row: float, r_col: float) -> tuple[sp.csc_matrix, np.ndarray]:
    """Nodal conductance matrix over row nodes (first R·C) and column nodes (next R·C)."""
    R, C = G.shape
    n = R * C
    rid = np.arange(n).reshape(R, C)
    cid = n + rid
    rows, cols, vals = [], [], []

    def branch(a, b, g):  # conductance g between node arrays a and b
        rows.extend([a, b, a, b]); cols.extend([a, b, b, a]); vals.extend([g, g, -g, -g])

    def to_ground(a, g):
        rows.append(a); cols.append(a); vals.append(g)

    branch(rid.ravel(), cid.ravel(), G.ravel())
    if r_row > 0:
        g = np.full(R * (C - 1), 1.0 / r_row)
        branch(rid[:, :-1].ravel(), rid[:, 1:].ravel(), g)
        to_ground(rid[:, 0], np.full(R, 1.0 / r_row))  # driver side, Norton form
    if r_col > 0:
        g = np.full((R - 1) * C, 1.0 / r_col)
        branch(cid[:-1, :].ravel(), cid[1:, :].ravel(), g)
        to_ground(cid[-1, :], np.full(C, 1.0 / r_col))  # sense side (virtual ground)
    A = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(2 * n, 2 * n))
    return A, rid


def solve_exact(G, V, r_row: float, r_col: float | None = None) -> np.ndarray:
    """Column currents (A) of a linear passive crossbar by an exact sparse nodal solve.

    ``G[rows, cols]`` in S, ``V[rows]`` (or ``V[batch, rows]``) in V, ``r_row``/``r_col`` in ohms
    per segment (``r_col`` defaults to ``r_row``).  A zero resistance is an ideal wire.
    See the module docstring for the driving/sensing convention.
    """
    r_col = r_row if r_col is None else r_col
    G, V = check_inputs(G, V, r_row, r_col)
    R, C = G.shape
    batch = V.reshape(-1, R)
    if r_row == 0 or r_col == 0:
        return _solve_exact_ideal_side(G, batch, r_row, r_col).reshape(V.shape[:-1] + (C,))
    A, rid = _nodal_matrix(G, r_row, r_col)
    n = R * C
    rhs = np.zeros((2 * n, batch.shape[0]))
    rhs[rid[:, 0], :] = batch.T / r_row  # Norton equivalent of the row driver
    x = spla.splu(A).solve(rhs)
    I = x[n + (R - 1) * C : n + R * C, :].T / r_col
    return I.reshape(V.shape[:-1] + (C,))


def _solve_exact_ideal_side(G, batch, r_row, r_col):
    """One side ideal: eliminate it (rows at V exactly, or columns at 0 V exactly)."""
    R, C = G.shape
    if r_row == 0 and r_col == 0:
        return batch @ G
    if r_row == 0:  # each column independent: tridiagonal ladder of column nodes
        out = np.empty((batch.shape[0], C))
        for j in range(C):
            g = G[:, j]
            main = g + 2.0 / r_col
            main[0] = g[0] + 1.0 / r_col
            off = np.full(R - 1, -1.0 / r_col)
            M = sp.diags([off, main, off], [-1, 0, 1], format="csc")
            vc = spla.spsolve(M, (batch * g).T).reshape(R, -1)
            out[:, j] = vc[-1] / r_col
        return out
    # r_col == 0: columns at 0 V; each row a ladder
    out = np.zeros((batch.shape[0], C))
    for i in range(R):
        g = G[i, :]
        main = g + 2.0 / r_row
        main[-1] = g[-1] + 1.0 / r_row
        off = np.full(C - 1, -1.0 / r_row)
        M = sp.diags([off, main, off], [-1, 0, 1], format="csc")
        b = np.zeros((C, batch.shape[0]))
        b[0] = batch[:, i] / r_row
        vr = spla.spsolve(M, b).reshape(C, -1)
        out += (vr * g[:, None]).T
    return out


# --------------------------------------------------------------------------- wire operator


@lru_cache(maxsize=64)
def wire_operators(R: int, C: int, r_row: float, r_col: float) -> tuple[np.ndarray, np.ndarray]:
    """Transfer resistances of the wires: ``(Lc[R, R], Lr[C, C])`` in ohms.

    Row part: the row segment feeding node (i, k) carries ``Σ_{k'≥k} I[i, k']``, so the drop from the
    driver to node (i, j) is ``Σ_k r_row·(min(j, k) + 1)·I[i, k]`` = ``(I @ Lr)[i, j]``.
    Column part: the segment below node (m, j) carries ``Σ_{m'≤m} I[m', j]``, so column node (i, j)
    sits ``Σ_m r_col·(R − max(i, m))·I[m, j]`` = ``(Lc @ I)[i, j]`` above the virtual ground.
    """
    kr, kc = np.arange(R), np.arange(C)
    Lc = r_col * (R - np.maximum.outer(kr, kr)).astype(float)
    Lr = r_row * (np.minimum.outer(kc, kc) + 1.0)
    Lc.setflags(write=False)
    Lr.setflags(write=False)
    return Lc, Lr


def wire_drop(I: np.ndarray, r_row: float, r_col: float) -> np.ndarray:
    """Voltage lost to the wires at every cell, ``(A·I)[…, i, j]``, for cell currents ``I[…, R, C]``:
    the row-line drop from the driver plus the column-node voltage (see :func:`wire_operators`).
    Two small matrix products — faster than cumulative sums on this scale."""
    Lc, Lr = wire_operators(I.shape[-2], I.shape[-1], float(r_row), float(r_col))
    return Lc @ I + I @ Lr


def row_drop(I: np.ndarray, r_row: float) -> np.ndarray:
    """Row-line voltage drop from the driver to every cell node, V."""
    return I @ wire_operators(I.shape[-2], I.shape[-1], float(r_row), 0.0)[1]


def column_node_voltage(I: np.ndarray, r_col: float) -> np.ndarray:
    """Column-line node voltages above the virtual ground, V."""
    return wire_operators(I.shape[-2], I.shape[-1], 0.0, float(r_col))[0] @ I


def _diag_A(R: int, C: int, r_row: float, r_col: float) -> np.ndarray:
    return r_row * (np.arange(C)[None, :] + 1.0) + r_col * (R - np.arange(R)[:, None]).astype(float)


def _bdot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Σ a·b over the last two axes, kept as [..., 1, 1] (einsum: no temporary, unlike sum(a*b))."""
    return np.einsum("...ij,...ij->...", a, b)[..., None, None]


def _pcg(dinv_cell, b, r_row, r_col, x0, tol, maxiter):
    """Batched PCG for (diag(dinv_cell) + A) x = b over the last two axes.

    Returns ``(x, iterations, worst relative residual)``."""
    R, C = b.shape[-2:]
    precond = 1.0 / (dinv_cell + _diag_A(R, C, r_row, r_col))
    x = x0
    r = b - (dinv_cell * x + wire_drop(x, r_row, r_col))
    z = precond * r
    p = z.copy()
    rz = _bdot(r, z)
    bnorm2 = _bdot(b, b)
    bnorm2[bnorm2 == 0] = 1.0
    tol2 = tol * tol
    it = 0
    for it in range(1, maxiter + 1):
        Ap = dinv_cell * p + wire_drop(p, r_row, r_col)
        pAp = _bdot(p, Ap)
        pAp[pAp == 0] = 1.0
        alpha = rz / pAp
        x += alpha * p
        r -= alpha * Ap
        if np.max(_bdot(r, r) / bnorm2) < tol2:
            break
        z = precond * r
        rz_new = _bdot(r, z)
        beta = rz_new / np.where(rz == 0, 1.0, rz)
        rz = rz_new
        p = z + beta * p
    rel = float(np.sqrt(np.max(_bdot(r, r) / bnorm2)))
    return x, it, rel


@dataclass
class SolveInfo:
    """What a behavioral solve did: outer (Newton) and total inner (CG) iterations, final residual."""

    newton: int
    cg: int
    residual: float
    converged: bool = True


def solve_cells(
    G: np.ndarray,
    V: np.ndarray,
    r_row: float,
    r_col: float,
    law: CellLaw | None = None,
    *,
    tol: float = 1e-5,
    maxiter: int = 200,
    max_newton: int = 30,
) -> tuple[np.ndarray, SolveInfo]:
    """Cell currents ``I[…, rows, cols]`` of a crossbar with IR drop.

    ``tol`` is the relative residual at which the iteration stops (1e-5 leaves an error of about
    1e-6 against the exact solution at 64 × 64).  ``law=None`` is the linear cell ``I = G·v``.  Otherwise ``law(v, v_s)`` returns the cell current
    and its derivative with respect to the cell voltage ``v`` (row node minus column node), given
    the column-node voltage ``v_s`` (needed by 1T1R cells, whose transistor source sits on it).
    """
    Vb = V[..., :, None] * np.ones_like(G)
    if law is None:
        x, it, rel = _pcg(1.0 / G, Vb, r_row, r_col, Vb * G, tol, maxiter)
        return x, _finish(SolveInfo(0, it, rel, rel < tol))
    # Newton on R(I) = I - f(V - A I, vs(I)), symmetrised step (1/f' + A) d = -R / f'.
    zeros = np.zeros_like(Vb)
    I, dI = law(Vb, zeros)
    cg_total = 0
    res = np.inf
    for k in range(1, max_newton + 1):
        v = Vb - wire_drop(I, r_row, r_col)
        f, df = law(v, column_node_voltage(I, r_col))
        Rk = I - f
        scale = np.max(np.abs(f)) or 1.0
        res = float(np.max(np.abs(Rk)) / scale)
        if res < tol:
            return I, _finish(SolveInfo(k - 1, cg_total, res, True))
        df = np.maximum(df, 1e-30)
        d, it, _ = _pcg(1.0 / df, -Rk / df, r_row, r_col, np.zeros_like(I), max(tol, 1e-3 * res), maxiter)
        cg_total += it
        I = I + d
    return I, _finish(SolveInfo(max_newton, cg_total, res, False))


def _finish(info: SolveInfo) -> SolveInfo:
    if not info.converged:
        raise ConvergenceError(
            f"behavioral crossbar solver did not converge (residual {info.residual:.1e} after "
            f"{info.newton} Newton / {info.cg} CG steps); the case is probably far outside the calibrated range"
        )
    return info


def solve_behavioral(G, V, r_row: float, r_col: float | None = None, law: CellLaw | None = None,
                     *, tol: float = 1e-5) -> np.ndarray:
    """Column currents (A) by the fast cell-current solver.  Same convention as :func:`solve_exact`."""
    r_col = r_row if r_col is None else r_col
    G, V = check_inputs(G, V, r_row, r_col)
    I, _ = solve_cells(G, V, r_row, r_col, law, tol=tol)
    return I.sum(axis=-2)


class FixedLinearArray:
    """Many inputs through one fixed linear array: the exact transfer matrix, computed once.

    A linear passive crossbar maps row voltages to column currents linearly, ``I = V @ T``;
    ``T[rows, cols]`` is found with one factorisation and ``rows`` right-hand sides, after which
    every input vector costs one small matrix product.
    """

    def __init__(self, G, r_row: float, r_col: float | None = None):
        r_col = r_row if r_col is None else r_col
        G, _ = check_inputs(G, np.zeros(np.shape(G)[0]), r_row, r_col)
        self.T = solve_exact(G, np.eye(G.shape[0]), r_row, r_col)

    def __call__(self, V) -> np.ndarray:
        return np.asarray(V, dtype=float) @ self.T
