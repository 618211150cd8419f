"""Weight-stationary tiling: every weight matrix onto fixed-size crossbar arrays.

A ``k × n`` weight matrix (inputs × outputs) of ``weight_bits``-bit signed weights on arrays of
``rows × cols`` cells holding ``cell_bits`` bits each:

* bit slicing: each weight spans ``ceil(weight_bits_magnitude / cell_bits)`` cells along a row;
* sign: ``differential`` — a positive and a negative column per slice (magnitude of
  ``weight_bits − 1`` bits on each side); ``offset`` — one column per slice holding
  ``weight + 2^(weight_bits−1)`` (``weight_bits`` bits), the offset subtracted digitally;
* the matrix's ``k`` inputs are split over ``ceil(k / rows)`` row tiles, its
  ``n · slices · sides`` columns over ``ceil(… / cols)`` column tiles.

Arrays = row tiles × column tiles; utilisation = cells holding weight bits / cells of those arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from ..errors import ConfigError
from ..workloads import TransformerShape


@dataclass(frozen=True)
class MatrixTiling:
    name: str
    k: int
    n: int
    copies: int
    """How many matrices of this shape (one per layer)."""
    slices: int
    sides: int
    row_tiles: int
    col_tiles: int

    @property
    def arrays(self) -> int:
        return self.copies * self.row_tiles * self.col_tiles

    @property
    def cells_used(self) -> int:
        return self.copies * self.k * self.n * self.slices * self.sides


@dataclass(frozen=True)
class Tiling:
    matrices: tuple[MatrixTiling, ...]
    rows: int
    cols: int

    @property
    def arrays(self) -> int:
        return sum(m.arrays for m in self.matrices)

    @property
    def utilisation(self) -> float:
        return sum(m.cells_used for m in self.matrices) / (self.arrays * self.rows * self.cols)


def tile_matrix(name: str, k: int, n: int, *, rows: int, cols: int, weight_bits: int, cell_bits: int,
                sign: Literal["differential", "offset"] = "differential", copies: int = 1) -> MatrixTiling:
    if min(k, n, rows, cols, weight_bits, cell_bits, copies) < 1:
        raise ConfigError("matrix, array, bit widths and copies must all be >= 1")
    if sign == "differential":
        if weight_bits < 2:
            raise ConfigError("differential signed weights need weight_bits >= 2")
        magnitude_bits, sides = weight_bits - 1, 2
    elif sign == "offset":
        magnitude_bits, sides = weight_bits, 1
    else:
        raise ConfigError(f"unknown sign encoding {sign!r}; valid: differential, offset")
    slices = math.ceil(magnitude_bits / cell_bits)
    return MatrixTiling(name, k, n, copies, slices, sides, math.ceil(k / rows), math.ceil(n * slices * sides / cols))


def tile_model(shape: TransformerShape, *, rows: int = 128, cols: int = 128, weight_bits: int = 8,
               cell_bits: int = 2, sign: Literal["differential", "offset"] = "differential") -> Tiling:
    """Tile every weight matrix of the transformer layers (embeddings stay in memory, not in arrays)."""
    H, F, d = shape.d_model, shape.d_ff, shape.d_head
    mats = [("q_proj", H, shape.n_heads * d), ("k_proj", H, shape.n_kv_heads * d), ("v_proj", H, shape.n_kv_heads * d),
            ("o_proj", shape.n_heads * d, H), ("up_proj", H, F), ("down_proj", F, H)]
    if shape.ffn == "swiglu":
        mats.append(("gate_proj", H, F))
    return Tiling(tuple(tile_matrix(nm, k, n, rows=rows, cols=cols, weight_bits=weight_bits, cell_bits=cell_bits,
                                    sign=sign, copies=shape.n_layers) for nm, k, n in mats), rows, cols)
