"""Bit-plane activity of a real model's products, measured through the functional simulator.

Every integer product of the INT8 path (:class:`~cosim.functional.quant.QuantExecutor`: the same
quantization the crossbar runs use) is recorded: per product name and layer, the fraction of 1s at
each bit position of both operands in every encoding (:class:`~cosim.system.streaming.BitStats`).
The system simulator reads the result (``compute.activity = measured``) in place of the random-data
assumption: which digits drive rows, and how full the stored cells are.

Inputs are the shipped sentences packed into sequences of ``seq_len`` tokens (the workload's
sequence length: attention probabilities thin out as the context grows).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ..system.streaming import ActivityProfile, BitStats
from .bert import forward
from .quant import QuantExecutor


class _Recorder(QuantExecutor):
    def __init__(self, bits: int):
        super().__init__(bits, bits)
        self.stats: dict[str, dict[str, list[BitStats]]] = defaultdict(lambda: {"a": [], "b": []})

    def product(self, key, kind, a, b):
        self.stats[key]["a"].append(BitStats.of(a, self.ab))
        self.stats[key]["b"].append(BitStats.of(b, self.wb if kind == "linear" else self.ab))
        return a @ b


def packed_sequences(ck, sentences: list[str], seq_len: int) -> list[np.ndarray]:
    """Token ids of ``sentences`` joined into sequences of ``seq_len`` tokens ([CLS] … [SEP] each; the
    last, shorter one kept if it holds at least half as many)."""
    ids = [t[1:-1] for t in ck.tokenize(sentences)]  # without their own [CLS] / [SEP]
    cls, sep = ck.tokenize(["a"])[0][[0, -1]]
    flat = np.concatenate(ids)
    body = seq_len - 2
    out = [np.concatenate([[cls], flat[i:i + body], [sep]]) for i in range(0, len(flat), body)]
    return [s for s in out if len(s) >= seq_len // 2] or out[:1]


def measure(ck_name: str, sentences: list[str], name: str, seq_len: int | None = 128, bits: int = 8) -> ActivityProfile:
    """The activity profile ``name`` of checkpoint ``ck_name`` on ``sentences`` packed to ``seq_len``
    tokens (None: each sentence on its own)."""
    from .accuracy import checkpoint

    ck = checkpoint(ck_name)
    rec = _Recorder(bits)
    seqs = packed_sequences(ck, sentences, seq_len) if seq_len else ck.tokenize(sentences)
    for ids in seqs:
        forward(ck, ids, rec)
    layers = {k: {r: BitStats.merge(v[r]) for r in ("a", "b")} for k, v in rec.stats.items()}
    by_name: dict[str, dict[str, list[BitStats]]] = defaultdict(lambda: {"a": [], "b": []})
    for k, v in layers.items():
        for r in ("a", "b"):
            by_name[k.split(".", 1)[1]][r].append(v[r])
    products = {n: {r: BitStats.merge(v[r]) for r in ("a", "b")} for n, v in by_name.items()}
    tokens = sum(len(s) for s in seqs)
    how = f"packed into {len(seqs)} sequences of <= {seq_len} tokens" if seq_len else f"{len(seqs)} sentences on their own"
    return ActivityProfile(name, ck_name, f"cosim activity --model {ck_name}: {len(sentences)} sentences {how} "
                           f"({tokens} tokens), INT{bits} path", products, layers)


def table_rows(p: ActivityProfile) -> list[dict]:
    """Per product: mean streamed activity per cycle in each encoding and the stored level of each
    operand (1-bit cells), for the report."""
    rows = []
    for name, ops in p.products.items():
        for role in ("a", "b"):
            s = ops[role]
            rows.append({"product": name, "operand": role, "values": s.values,
                         "two_pass": float(np.mean(s.stream("two_pass"))), "offset": float(np.mean(s.stream("offset"))),
                         "twos": float(np.mean(s.stream("twos"))),
                         "level_offset": s.density("offset", 1), "level_differential": s.density("differential", 1),
                         "bits_two_pass": [round(x, 4) for x in s.stream("two_pass")],
                         "bits_twos": [round(x, 4) for x in s.stream("twos")]})
    return rows
