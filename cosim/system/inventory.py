"""Component inventories: area and power rolled up a hierarchy (e.g. IMA → tile → chip).

A preset (``architectures/NAME.toml``) lists levels from the bottom up.  Each level holds
components (``count`` instances of ``power_w`` W and ``area_m2`` m² each, with a ``src`` citation)
and ``count`` copies of the level below.  The roll-up gives each level's area and power and the
breakdown by component across the whole chip.
"""

from __future__ import annotations

import math
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, UnknownNameError
from ..resources import data_dir


@dataclass(frozen=True)
class Component:
    name: str
    count: float
    """Instances per level (fractions allowed for shared units, e.g. a router per 4 tiles)."""
    power_w: float
    """Power of one instance, W."""
    area_m2: float
    """Area of one instance, m²."""
    src: str
    """Where the figures come from."""


def _component(c: dict) -> Component:
    """A component from its preset entry; ``power_w_total``/``area_m2_total`` give a group's totals."""
    c = dict(c)
    n = float(c["count"])
    for per, total in (("power_w", "power_w_total"), ("area_m2", "area_m2_total")):
        if total in c:
            if per in c:
                raise ValueError(f"component {c['name']!r} gives both {per} and {total}")
            c[per] = float(c.pop(total)) / n if n else 0.0
    return Component(**c)


@dataclass(frozen=True)
class Level:
    name: str
    count: int
    """Copies of this level inside the next one up."""
    components: tuple[Component, ...] = ()


@dataclass(frozen=True)
class Inventory:
    name: str
    description: str
    levels: tuple[Level, ...]
    node_m: float = 0.0
    clock_hz: float = 0.0

    @classmethod
    def load(cls, name_or_path: str) -> "Inventory":
        p = Path(name_or_path)
        if p.suffix != ".toml":
            p = data_dir("architectures") / f"{name_or_path}.toml"
            if not p.is_file():
                names = [q.stem for q in data_dir("architectures").glob("*.toml") if "level" in q.read_text()]
                raise UnknownNameError("component inventory", name_or_path, names)
        try:
            d = tomllib.loads(p.read_text())
            levels = tuple(
                Level(lv["name"], int(lv["count"]), tuple(_component(c) for c in lv.get("component", [])))
                for lv in d["level"]
            )
            inv = cls(d["name"], d.get("description", ""), levels, float(d.get("node_m", 0)), float(d.get("clock_hz", 0)))
        except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"inventory {p}: {type(exc).__name__}: {exc}") from None
        for lv in inv.levels:
            for c in lv.components:
                if not (c.count >= 0 and c.power_w >= 0 and c.area_m2 >= 0 and math.isfinite(c.power_w)):
                    raise ConfigError(f"inventory {p}: component {lv.name}/{c.name} has a negative or bad value")
        return inv

    def rollup(self) -> dict[str, tuple[float, float]]:
        """``{level: (area_m2, power_w)}`` of one instance of each level, bottom up."""
        out: dict[str, tuple[float, float]] = {}
        below = (0.0, 0.0)
        prev_count = 0
        for i, lv in enumerate(self.levels):
            area = sum(c.count * c.area_m2 for c in lv.components) + (prev_count * below[0] if i else 0.0)
            power = sum(c.count * c.power_w for c in lv.components) + (prev_count * below[1] if i else 0.0)
            out[lv.name] = (area, power)
            below, prev_count = (area, power), lv.count
        return out

    def breakdown(self) -> dict[str, tuple[float, float]]:
        """``{level/component: (area_m2, power_w)}`` summed over the whole top level."""
        mult = [1.0] * len(self.levels)
        for i in range(len(self.levels) - 2, -1, -1):
            mult[i] = mult[i + 1] * self.levels[i].count
        out: dict[str, tuple[float, float]] = defaultdict(lambda: (0.0, 0.0))
        for lv, m in zip(self.levels, mult):
            for c in lv.components:
                a, p = out[f"{lv.name}/{c.name}"]
                out[f"{lv.name}/{c.name}"] = (a + m * c.count * c.area_m2, p + m * c.count * c.power_w)
        return dict(out)
