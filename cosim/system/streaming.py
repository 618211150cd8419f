"""How an operand goes into a crossbar: bit cycles, bit-plane activity, stored-cell density.

A streamed signed ``b``-bit operand enters the rows ``dac_bits`` bits per read cycle, least
significant digit first, in one of three encodings (``compute.input_sign``):

* ``two_pass`` — the magnitudes of the positive values, then of the negative ones:
  2·⌈(b−1)/w⌉ cycles, the second pass subtracted digitally;
* ``offset`` — ``u + 2^(b−1)``: ⌈b/w⌉ cycles, the offset removed digitally with the stored
  operand's column sums;
* ``twos`` — two's complement: the low b−1 bits in ⌈(b−1)/w⌉ cycles, then the sign bit alone in one
  cycle whose result the shift-and-add weights by −2^(b−1) (8 cycles for INT8 with 1-bit DACs).

A row whose input digit is 0 is not driven: it draws no driver or cell current.  The fraction of
rows a cycle drives is its *activity*; :class:`BitStats` holds the fraction of 1s per bit position
of an operand in every encoding, from which both the streamed activity per cycle and the stored
operand's cell density follow (linearity of expectation: a slice's mean level is Σ 2^i·p_i over its
bits).  ``uniform`` statistics are the random-data assumption (every encoded bit 1 with probability
p; a magnitude bit of one sign p/2); measured ones come from an activity profile
(``workloads/activity/NAME.json``, written by ``cosim activity``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from ..errors import ConfigError

ENCODINGS = ("two_pass", "offset", "twos")


def n_cycles(input_sign: str, bits: int, dac_bits: int) -> int:
    """Read cycles to stream one signed ``bits``-bit vector."""
    if input_sign == "two_pass":
        return 2 * math.ceil((bits - 1) / dac_bits)
    if input_sign == "offset":
        return math.ceil(bits / dac_bits)
    if input_sign == "twos":
        return math.ceil((bits - 1) / dac_bits) + 1
    raise ConfigError(f"unknown input encoding {input_sign!r}; valid: {', '.join(ENCODINGS)}")


@dataclass(frozen=True)
class BitStats:
    """Fraction of 1s per bit position (least significant first) of one signed ``bits``-bit operand."""

    bits: int
    offset: tuple[float, ...]
    """Bits of ``s + 2^(b−1)`` (b entries)."""
    twos: tuple[float, ...]
    """Bits of the two's complement ``s mod 2^b`` (b entries; the last is the sign)."""
    pos: tuple[float, ...]
    """Bits of ``max(s, 0)`` (b−1 entries)."""
    neg: tuple[float, ...]
    """Bits of ``max(−s, 0)`` (b−1 entries)."""
    values: int = 0
    """How many values were counted (0: an assumption, not a measurement)."""

    @classmethod
    def uniform(cls, bits: int, p: float) -> "BitStats":
        """Random data: every encoded bit 1 with probability ``p``; a magnitude bit of one sign p/2."""
        return cls(bits, (p,) * bits, (p,) * bits, (p / 2,) * (bits - 1), (p / 2,) * (bits - 1))

    @classmethod
    def of(cls, x: np.ndarray, bits: int) -> "BitStats":
        """Measured on integer values ``x`` of the signed ``bits``-bit range (outside it: a ConfigError).
        Symmetric quantization never yields −2^(b−1); its magnitude would not fit the b−1 magnitude bits."""
        xi = np.asarray(x).astype(np.int64).ravel()
        lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        if xi.size and (xi.min() < lo or xi.max() > hi):
            raise ConfigError(f"bit statistics: values outside the signed {bits}-bit range")

        def planes(u: np.ndarray, n: int) -> tuple[float, ...]:
            return tuple(float(((u >> j) & 1).mean()) if u.size else 0.0 for j in range(n))

        return cls(bits, planes(xi + 2 ** (bits - 1), bits), planes(xi & (2**bits - 1), bits),
                   planes(np.maximum(xi, 0), bits - 1), planes(np.maximum(-xi, 0), bits - 1), int(xi.size))

    def stream(self, input_sign: str, dac_bits: int = 1) -> tuple[float, ...]:
        """Fraction of rows each read cycle drives, in streaming order."""
        if dac_bits != 1:
            # a w-bit digit drives its row when any of its bits is 1 (bits taken as independent)
            def group(p: tuple[float, ...]) -> tuple[float, ...]:
                return tuple(1 - math.prod(1 - q for q in p[i:i + dac_bits]) for i in range(0, len(p), dac_bits))
        else:
            def group(p):
                return p
        if input_sign == "two_pass":
            return group(self.pos) + group(self.neg)
        if input_sign == "offset":
            return group(self.offset)
        if input_sign == "twos":
            return group(self.twos[:-1]) + (self.twos[-1],)
        raise ConfigError(f"unknown input encoding {input_sign!r}; valid: {', '.join(ENCODINGS)}")

    def density(self, sign: str, cell_bits: int) -> float:
        """Mean normalised level of the cells holding this operand (``compute.sign``, ``cell_bits`` per cell)."""
        planes = [self.offset] if sign == "offset" else [self.pos, self.neg]
        means = []
        for p in planes:
            for i in range(0, len(p), cell_bits):
                sl = p[i:i + cell_bits]
                means.append(sum(2**j * q for j, q in enumerate(sl)) / (2**cell_bits - 1))
        return float(np.mean(means))

    def to_dict(self) -> dict:
        return {"bits": self.bits, "offset": list(self.offset), "twos": list(self.twos), "pos": list(self.pos),
                "neg": list(self.neg), "values": self.values}

    @classmethod
    def from_dict(cls, d: dict, where: str) -> "BitStats":
        try:
            b = int(d["bits"])
            s = cls(b, *(tuple(float(v) for v in d[k]) for k in ("offset", "twos", "pos", "neg")), int(d.get("values", 0)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: bad bit statistics ({exc})") from None
        if (len(s.offset), len(s.twos), len(s.pos), len(s.neg)) != (b, b, b - 1, b - 1) or not all(
                0 <= v <= 1 for v in s.offset + s.twos + s.pos + s.neg):
            raise ConfigError(f"{where}: bit statistics need b, b, b-1, b-1 fractions in [0, 1]")
        return s

    @staticmethod
    def merge(stats: list["BitStats"]) -> "BitStats":
        """Value-weighted mean of several measurements of the same width."""
        n = sum(s.values for s in stats)
        if not stats or n == 0:
            raise ValueError("nothing to merge")
        w = [s.values / n for s in stats]

        def avg(k):
            return tuple(float(sum(wi * getattr(s, k)[j] for wi, s in zip(w, stats))) for j in range(len(getattr(stats[0], k))))

        return BitStats(stats[0].bits, avg("offset"), avg("twos"), avg("pos"), avg("neg"), n)


#: System operation names → the activity profile's product names (a BERT checkpoint's products).
PROFILE_NAMES = {"attn.q_proj": "query", "attn.k_proj": "key", "attn.v_proj": "value", "attn.o_proj": "attn_out",
                 "mlp.up_proj": "ffn_up", "mlp.gate_proj": "ffn_up", "mlp.down_proj": "ffn_down",
                 "attn.qk": "scores", "attn.sv": "context"}


@dataclass(frozen=True)
class ActivityProfile:
    """Measured bit statistics of a model's products: per product name, the activation-side operand
    (``a``: the layer input, Q, the softmax probabilities) and the other (``b``: the weights, Kᵀ, V),
    averaged over layers; ``layers`` keeps them per layer for the report."""

    name: str
    model: str
    source: str
    products: dict[str, dict[str, BitStats]]
    layers: dict[str, dict[str, BitStats]]
    path: str = ""

    def stats(self, op_name: str, role: str) -> tuple[BitStats, str]:
        """(statistics, what they are) for a system operation; operations the checkpoint does not have
        (an LM head, a gate) take the mean over the checkpoint's weight products."""
        key = PROFILE_NAMES.get(op_name)
        if key in self.products:
            return self.products[key][role], f"{self.name}:{key}"
        linear = [self.products[k][role] for k in ("query", "key", "value", "attn_out", "ffn_up", "ffn_down")
                  if k in self.products]
        return BitStats.merge(linear), f"{self.name}: mean of the weight products (no {op_name})"

    def to_dict(self) -> dict:
        return {"name": self.name, "model": self.model, "source": self.source,
                "products": {k: {r: s.to_dict() for r, s in v.items()} for k, v in self.products.items()},
                "layers": {k: {r: s.to_dict() for r, s in v.items()} for k, v in self.layers.items()}}


def profile_dir() -> Path:
    from ..resources import data_dir

    return data_dir("workloads") / "activity"


def profile_names() -> list[str]:
    d = profile_dir()
    return sorted(p.stem for p in d.glob("*.json")) if d.is_dir() else []


def load_profile(name_or_path: str) -> ActivityProfile:
    """An activity profile by name (``workloads/activity/NAME.json``) or path (read again when the file
    changes)."""
    p = Path(name_or_path)
    if p.suffix != ".json":
        p = profile_dir() / f"{name_or_path}.json"
        if not p.is_file():
            from ..errors import UnknownNameError

            raise UnknownNameError("activity profile", name_or_path, profile_names())
    try:
        return _read_profile(str(p.resolve()), p.stat().st_mtime_ns)
    except OSError as exc:
        raise ConfigError(f"activity profile {p}: {exc}") from None


@cache
def _read_profile(path: str, mtime_ns: int) -> ActivityProfile:
    p = Path(path)
    try:
        d = json.loads(p.read_text())
        prods = {k: {r: BitStats.from_dict(s, f"{p} {k}.{r}") for r, s in v.items()} for k, v in d["products"].items()}
        layers = {k: {r: BitStats.from_dict(s, f"{p} {k}.{r}") for r, s in v.items()} for k, v in d.get("layers", {}).items()}
        prof = ActivityProfile(str(d["name"]), str(d["model"]), str(d["source"]), prods, layers, str(p))
    except (OSError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"activity profile {p}: {type(exc).__name__}: {exc}") from None
    if not all(set(v) == {"a", "b"} for v in prods.values()) or not prods:
        raise ConfigError(f"activity profile {p}: every product needs statistics of both operands (a, b)")
    return prof
