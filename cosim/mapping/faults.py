"""Fault-aware mapping: stored columns placed around known stuck cells, with spare columns.

Post-fabrication test finds every stuck cell (stuck at G_off or at G_on).  A mapper that knows the
map places the *logical* columns of one array (each a bit slice of stored values, of significance
2^shift) onto its *physical* columns — the array's own plus ``spare_cols`` spares — so that the
stuck cells disagree as little as possible with the bits they must hold:

* cost of logical column l on physical column p: 4^shift_l · Σ_k (stuck level − intended level)² over
  p's stuck cells (the squared error a stuck cell adds, weighted by the slice's significance);
* the *complementary encoding*: a column may be stored complemented (top − level in every cell, the
  digital unit undoing it as top·Σu − result); a stuck-off cell then matches an intended top, so the
  cost is the smaller of the two;
* stored weights, mapped once when they are programmed (off line): one minimum-cost assignment per
  array (:func:`scipy.optimize.linear_sum_assignment`) of their actual bits;
* operands written per use (activations, K, V): at every write a greedy assignment the writer can do
  in hardware — the logical columns in order of falling significance each take the free physical
  column (spares included) whose stuck cells disagree least with its bits, plainly or complemented:
  one mismatch count of the array's rows per (logical, physical) pair, from the array's fault map
  (2 bits per cell) read once per write.  On a random INT8 product (300 × 32 sign-magnitude values in
  1-bit cells, MNSIM's rates) its relative error is 1.3× the optimal assignment's without spares and
  2.9× with 64 (0.097 vs 0.076; 0.033 vs 0.0115); a data-independent placement (fewest stuck cells for
  the most significant slices, complement chosen per write) reaches only 0.555.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import linear_sum_assignment

HEALTHY, STUCK_OFF, STUCK_ON = 0, 1, 2


#: The functional model keeps each plane's IR-drop gain and ADC assignment at the column's unmapped
#: position (one ADC serves all of an array's columns on every preset, and IR drop alone costs nothing
#: measurable at 128 x 128): the mapping moves the stuck cells, not the column circuits.


def draw_faults(rng: np.random.Generator, shape: tuple[int, int], off_rate: float, on_rate: float) -> np.ndarray:
    """Stuck state of every cell (HEALTHY, STUCK_OFF, STUCK_ON), independent per cell."""
    u = rng.random(shape)
    return np.where(u < off_rate, STUCK_OFF, np.where(u < off_rate + on_rate, STUCK_ON, HEALTHY)).astype(np.int8)


def column_costs(levels: np.ndarray, faults: np.ndarray, top: int) -> tuple[np.ndarray, np.ndarray]:
    """(plain, complemented) squared-error costs [logical, physical] of storing each logical column
    (``levels`` [rows, n_logical]) on each physical column (``faults`` [rows, n_physical])."""
    stuck = (faults != HEALTHY).astype(np.float64)
    sl = np.where(faults == STUCK_ON, float(top), 0.0)
    L = levels.astype(np.float64)
    base = (stuck * sl * sl).sum(axis=0)[None, :]
    plain = base - 2 * L.T @ (stuck * sl) + (L * L).T @ stuck
    Lc = top - L
    comp = base - 2 * Lc.T @ (stuck * sl) + (Lc * Lc).T @ stuck
    return plain, comp


def assign(levels: np.ndarray, shifts: np.ndarray, faults: np.ndarray, top: int,
           complement: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Physical column and complement flag of every logical column of one array (minimum total cost
    over the actual data: the mapping of stored weights)."""
    plain, comp = column_costs(levels, faults, top)
    cost = np.minimum(plain, comp) if complement else plain
    cost = cost * (4.0 ** shifts)[:, None]
    rows, cols = linear_sum_assignment(cost)
    phys = np.empty(levels.shape[1], dtype=np.int64)
    phys[rows] = cols
    return phys, _flips(plain, comp, phys, complement)


def assign_greedy(levels: np.ndarray, shifts: np.ndarray, faults: np.ndarray, top: int,
                  complement: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The per-write mapping: logical columns by falling significance, each onto the free physical
    column of least cost (plain or complemented)."""
    plain, comp = column_costs(levels, faults, top)
    cost = np.minimum(plain, comp) if complement else plain
    phys = np.empty(levels.shape[1], dtype=np.int64)
    free = np.ones(faults.shape[1], dtype=bool)
    for lc in np.lexsort((np.arange(len(shifts)), -shifts)):  # most significant first, then by position
        p = int(np.argmin(np.where(free, cost[lc], np.inf)))
        phys[lc] = p
        free[p] = False
    return phys, _flips(plain, comp, phys, complement)


def _flips(plain: np.ndarray, comp: np.ndarray, phys: np.ndarray, complement: bool) -> np.ndarray:
    if not complement:
        return np.zeros(len(phys), dtype=bool)
    i = np.arange(len(phys))
    return comp[i, phys] < plain[i, phys]


def map_planes(planes: list[tuple[int, int, np.ndarray]], rows: int, cols: int, spares: int, top: int,
               off_rate: float, on_rate: float, rng: np.random.Generator, per_write: bool = False):
    """Map the stored planes of one operand onto arrays with known stuck cells (``per_write``: an operand
    written per use, mapped by :func:`assign_greedy`; else stored weights, by :func:`assign`).

    ``planes``: (side, shift, levels[K, C]) per stored column plane (a value's planes sit side by side
    in a row, value-major, ``cols`` logical columns per array).  Returns per plane the levels the
    cells hold after the mapping (stuck cells at their stuck level; complemented columns
    complemented), a mask of stuck cells [K, C], and the complement flags [row tiles, C]."""
    P = len(planes)
    K, C = planes[0][2].shape
    per_tile = min(rows, K)
    row_tiles = math.ceil(K / per_tile)
    # logical columns value-major: index j·P + p
    L = np.stack([lv for _, _, lv in planes], axis=2).reshape(K, C * P)
    shifts = np.tile(np.array([s for _, s, _ in planes], dtype=float), C)
    held = np.empty_like(L, dtype=np.float64)
    stuck = np.zeros(L.shape, dtype=bool)
    flips = np.zeros((row_tiles, C * P), dtype=bool)
    for t in range(row_tiles):
        r0, r1 = t * per_tile, min(K, (t + 1) * per_tile)
        for c0 in range(0, C * P, cols):
            c1 = min(C * P, c0 + cols)
            lv = L[r0:r1, c0:c1]
            faults = draw_faults(rng, (r1 - r0, cols + spares), off_rate, on_rate)
            phys, flip = (assign_greedy if per_write else assign)(lv, shifts[c0:c1], faults, top)
            f = faults[:, phys]
            want = np.where(flip[None, :], top - lv, lv).astype(np.float64)
            held[r0:r1, c0:c1] = np.where(f == STUCK_OFF, 0.0, np.where(f == STUCK_ON, float(top), want))
            stuck[r0:r1, c0:c1] = f != HEALTHY
            flips[t, c0:c1] = flip
    held = held.reshape(K, C, P)
    stuck = stuck.reshape(K, C, P)
    flips = flips.reshape(row_tiles, C, P)
    return [(held[:, :, p], stuck[:, :, p], flips[:, :, p]) for p in range(P)]
