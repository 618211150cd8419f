"""Cell laws calibrated from SPICE tables: the memristor I–V and the 1T1R series cell.

A cell law maps cell voltages ``v`` (row node minus column node, volts) and column-node
voltages ``vs`` (volts) to the cell current and its derivative ``dI/dv``; :mod:`.crossbar`
solves whole arrays with it.  The laws hold tables measured by ngspice (see
:mod:`cosim.calibration.crossbar`) and interpolate them; they refuse voltages outside the
tabulated range (:class:`~cosim.errors.ModelRangeError`) instead of extrapolating.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConvergenceError, ModelRangeError


def _check_range(name: str, x: np.ndarray, lo: float, hi: float) -> None:
    xmin, xmax = float(np.min(x)), float(np.max(x))
    if xmin < lo - 1e-12 or xmax > hi + 1e-12:
        raise ModelRangeError(
            f"{name} spans [{xmin:.4g}, {xmax:.4g}] V, outside the calibrated table [{lo:.4g}, {hi:.4g}] V; "
            "recalibrate with a wider sweep"
        )


@dataclass(frozen=True)
class MemristorIV:
    """Memristor I–V for a unit chord conductance: ``I(v) = G · i_unit(v)``, ``i_unit(v_read) = v_read``.

    ``v`` is a uniform grid (V), ``i_unit`` the current of a cell with G = 1 S (A), both from a
    SPICE DC sweep of one cell.  Shape fixed, amplitude proportional to G (true for the sinh
    law ``I = G·v_read·sinh(v/v0)/sinh(v_read/v0)`` rendered in the netlists).
    """

    v: np.ndarray
    i_unit: np.ndarray

    def __post_init__(self):
        object.__setattr__(self, "_di", np.gradient(self.i_unit, self.v))

    def unit(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        _check_range("memristor voltage", v, self.v[0], self.v[-1])
        return np.interp(v, self.v, self.i_unit), np.interp(v, self.v, self._di)

    def law(self, G: np.ndarray):
        def f(v, vs):
            i, di = self.unit(v)
            return G * i, G * di

        return f


@dataclass(frozen=True)
class TransistorTable:
    """Access-transistor drain current ``I_d(v_ds, v_s)`` at a fixed gate voltage, from a SPICE sweep.

    ``vds`` and ``vs`` are uniform grids (V); ``ids[len(vs), len(vds)]`` in amperes.  The source
    terminal sits on the column line, so ``v_s`` is the column-node voltage (body at 0 V).
    Bilinear interpolation on the grid; derivative by finite differences on the same grid.
    """

    vds: np.ndarray
    vs: np.ndarray
    ids: np.ndarray

    def __post_init__(self):
        # Bilinear patch coefficients per grid cell, flattened: I = a + b·tx + c·ts + d·tx·ts.
        T = np.asarray(self.ids, dtype=float)
        p00, p01, p10, p11 = T[:-1, :-1], T[:-1, 1:], T[1:, :-1], T[1:, 1:]
        coef = [np.ascontiguousarray(c).ravel() for c in (p00, p01 - p00, p10 - p00, p11 - p10 - p01 + p00)]
        object.__setattr__(self, "_coef", coef)
        object.__setattr__(self, "_h", (self.vds[1] - self.vds[0], self.vs[1] - self.vs[0]))

    def __call__(self, x: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(I_d, dI_d/dv_ds)`` at ``v_ds = x``, ``v_s = s``; continued linearly past the v_ds grid."""
        hx, hs = self._h
        nx, ns = len(self.vds) - 1, len(self.vs) - 1
        fx = (x - self.vds[0]) * (1.0 / hx)
        fs = (s - self.vs[0]) * (1.0 / hs)
        ix = np.minimum(np.maximum(fx, 0.0), nx - 1e-9).astype(np.intp)
        is_ = np.minimum(np.maximum(fs, 0.0), ns - 1e-9).astype(np.intp)
        tx, ts = fx - ix, np.minimum(np.maximum(fs - is_, 0.0), 1.0)
        k = is_ * nx + ix
        a, b, c, d = (coef[k] for coef in self._coef)
        slope = b + d * ts
        return a + c * ts + slope * tx, slope * (1.0 / hx)

    def check(self, x: np.ndarray, s: np.ndarray) -> None:
        _check_range("access-transistor v_ds", x, self.vds[0], self.vds[-1])
        _check_range("column-node voltage (transistor source)", s, self.vs[0] - 1e-3, self.vs[-1])


def one_t_one_r_law(G: np.ndarray, fet: TransistorTable, iterations: int = 20, tol: float = 1e-12):
    """Law of a linear memristor (conductance ``G``) in series with the access transistor.

    Solves ``G·(v − v_ds) = I_d(v_ds, v_s)`` for the internal node per cell (vectorised Newton),
    then ``I = G·(v − v_ds)`` and ``dI/dv = G·g_ds / (G + g_ds)``.
    """

    def f(v, vs):
        fet.check(v, vs)
        _, g0 = fet(np.zeros_like(v), vs)
        x = v * G / (G + np.maximum(g0, 1e-12))
        for _ in range(iterations):
            I_t, g = fet(x, vs)
            g = np.maximum(g, 1e-12)
            step = (I_t - G * (v - x)) / (g + G)
            x = x - step
            if np.max(np.abs(step)) < tol:
                break
        else:
            raise ConvergenceError(f"1T1R cell solve did not converge in {iterations} steps "
                                   f"(last step {np.max(np.abs(step)):.1e} V)")
        I_t, g = fet(x, vs)
        g = np.maximum(g, 1e-12)
        return G * (v - x), G * g / (G + g)

    return f
