"""Storage area of a model's weights in a memory technology: cells × cell area.

``area = ceil(params · weight_bits / bits_per_cell) · cell_area_f2 · F²`` (m²).  Cell technologies are
named presets in ``architectures/memory_cells.toml``.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from functools import cache

from ..errors import ConfigError, UnknownNameError
from ..resources import data_dir


@dataclass(frozen=True)
class MemoryCell:
    """A memory cell technology."""

    name: str
    description: str
    cell_area_f2: float
    """Cell area in units of F² (F: feature size)."""
    bits_per_cell: int

    def __post_init__(self):
        if not (self.cell_area_f2 > 0 and self.bits_per_cell >= 1):
            raise ConfigError(f"memory cell {self.name!r}: need cell_area_f2 > 0 and bits_per_cell >= 1")


@cache
def memory_cells() -> dict[str, MemoryCell]:
    path = data_dir("architectures") / "memory_cells.toml"
    d = tomllib.loads(path.read_text())
    return {k: MemoryCell(name=k, **v) for k, v in d.items()}


def get_cell(name: str) -> MemoryCell:
    cells = memory_cells()
    if name not in cells:
        raise UnknownNameError("memory cell", name, cells)
    return cells[name]


def storage_area_m2(params: int, weight_bits: int, cell: MemoryCell, feature_m: float) -> float:
    """Area (m²) of the cells that hold ``params`` weights of ``weight_bits`` bits."""
    if params < 0 or weight_bits < 1 or not feature_m > 0:
        raise ConfigError("need params >= 0, weight_bits >= 1 and feature size > 0")
    cells = math.ceil(params * weight_bits / cell.bits_per_cell)
    return cells * cell.cell_area_f2 * feature_m**2
