"""An independent count: a real numpy forward pass of a small random-weight transformer, instrumented.

Every multiply-accumulate is counted where a matmul actually runs (from the operand shapes numpy
multiplies), every exponential where softmax computes it, every normalised / activated element where
it happens — no formula shared with cosim.workloads.  Decoders generate tokens greedily with a real
KV cache.
"""

from __future__ import annotations

from collections import Counter

import numpy as np


class Meter:
    def __init__(self):
        self.c = Counter()
        self.phase = "encode"

    def mm(self, a, b, kind):
        out = a @ b
        self.c[(self.phase, kind, "macs")] += out.size * a.shape[-1]
        return out

    def count(self, kind, x):
        self.c[(self.phase, kind, "elements")] += x.size

    def total(self, kind=None, phase=None, what="macs"):
        return sum(v for (p, k, w), v in self.c.items()
                   if w == what and (kind is None or k == kind) and (phase is None or p == phase))


def _norm(m, x, kind, eps=1e-5):
    m.count(kind, x)
    if kind == "rmsnorm":
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps)
    mu = x.mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + eps)


def _softmax(m, x):
    e = np.exp(x - x.max(-1, keepdims=True))
    m.count("softmax", e)
    return e / e.sum(-1, keepdims=True)


def _rotary(m, x, rot):
    """Rotate the first ``rot`` dims of each head (x: [..., heads, len, d])."""
    if rot == 0:
        return x
    part = x[..., :rot]
    m.count("rotary", part)
    half = rot // 2
    ang = np.arange(x.shape[-2])[:, None] * 0.01
    c, s = np.cos(ang), np.sin(ang)
    a, b = part[..., :half], part[..., half:]
    return np.concatenate([a * c - b * s, a * s + b * c, x[..., rot:]], axis=-1)


class TinyTransformer:
    """family: bert | gpt2 | llama | phi."""

    def __init__(self, family, layers, hidden, heads, kv_heads, ffn, vocab, rotary_dim=0, seed=0):
        rng = np.random.default_rng(seed)
        self.f, self.L, self.H, self.h, self.hkv, self.F, self.V = family, layers, hidden, heads, kv_heads, ffn, vocab
        self.d = hidden // heads
        self.rot = rotary_dim
        w = lambda *s: rng.normal(0, 0.05, s)
        self.emb, self.pos, self.typ = w(vocab, hidden), w(4096, hidden), w(2, hidden)
        self.layers = []
        for _ in range(layers):
            lw = dict(q=w(hidden, heads * self.d), k=w(hidden, kv_heads * self.d), v=w(hidden, kv_heads * self.d),
                      o=w(heads * self.d, hidden), up=w(hidden, ffn), down=w(ffn, hidden))
            if family == "llama":
                lw["gate"] = w(hidden, ffn)
            self.layers.append(lw)
        self.head = w(hidden, vocab)
        self.norm = "rmsnorm" if family == "llama" else "layernorm"

    # ---------------------------------------------------------------- one pass
    def _attn(self, m, x, lw, cache, start):
        B, S, _ = x.shape
        q = m.mm(x, lw["q"], "matmul_w").reshape(B, S, self.h, self.d).transpose(0, 2, 1, 3)
        k = m.mm(x, lw["k"], "matmul_w").reshape(B, S, self.hkv, self.d).transpose(0, 2, 1, 3)
        v = m.mm(x, lw["v"], "matmul_w").reshape(B, S, self.hkv, self.d).transpose(0, 2, 1, 3)
        if self.rot:
            q, k = _rotary(m, q, self.rot), _rotary(m, k, self.rot)
        if cache is not None:
            if cache:
                k = np.concatenate([cache["k"], k], axis=2)
                v = np.concatenate([cache["v"], v], axis=2)
            cache["k"], cache["v"] = k, v
        rep = self.h // self.hkv
        k, v = np.repeat(k, rep, axis=1), np.repeat(v, rep, axis=1)
        scores = m.mm(q, k.transpose(0, 1, 3, 2), "matmul_a")
        if cache is not None:  # causal mask (not counted: a select, no arithmetic)
            qpos = start + np.arange(S)[:, None]
            scores = np.where(np.arange(k.shape[2])[None, :] <= qpos, scores, -1e30)
        p = _softmax(m, scores)
        out = m.mm(p, v, "matmul_a").transpose(0, 2, 1, 3).reshape(B, S, self.h * self.d)
        return m.mm(out, lw["o"], "matmul_w")

    def _mlp(self, m, x, lw):
        if self.f == "llama":
            g = m.mm(x, lw["gate"], "matmul_w")
            u = m.mm(x, lw["up"], "matmul_w")
            m.count("silu", g)
            a = g / (1 + np.exp(-g))
            m.count("mul", a)
            return m.mm(a * u, lw["down"], "matmul_w")
        u = m.mm(x, lw["up"], "matmul_w")
        m.count("gelu", u)
        return m.mm(0.5 * u * (1 + np.tanh(0.79788456 * (u + 0.044715 * u**3))), lw["down"], "matmul_w")

    def _add(self, m, a, b):
        m.count("add", a)
        return a + b

    def _embed(self, m, ids, start):
        x = self.emb[ids]
        m.count("embedding", x)
        if self.rot == 0:
            x = self._add(m, x, self.pos[start:start + ids.shape[1]])
            if self.f == "bert":
                x = self._add(m, x, self.typ[0])
                x = _norm(m, x, self.norm)
        return x

    def _stack(self, m, x, caches, start):
        for lw, cache in zip(self.layers, caches):
            if self.f == "bert":  # post-norm
                x = _norm(m, self._add(m, x, self._attn(m, x, lw, None, start)), self.norm)
                x = _norm(m, self._add(m, x, self._mlp(m, x, lw)), self.norm)
            elif self.f == "phi":  # parallel block, one norm
                n = _norm(m, x, self.norm)
                a, f = self._attn(m, n, lw, cache, start), self._mlp(m, n, lw)
                x = self._add(m, self._add(m, x, a), f)
            else:  # pre-norm decoder
                x = self._add(m, x, self._attn(m, _norm(m, x, self.norm), lw, cache, start))
                x = self._add(m, x, self._mlp(m, _norm(m, x, self.norm), lw))
        return x

    def run(self, ids, decode_tokens=0):
        m = Meter()
        B, S = ids.shape
        if self.f == "bert":
            self._stack(m, self._embed(m, ids, 0), [None] * self.L, 0)
            return m
        caches = [{} for _ in range(self.L)]
        m.phase = "prefill"
        x = self._stack(m, self._embed(m, ids, 0), caches, 0)
        logits = m.mm(_norm(m, x[:, -1:], self.norm), self.head, "matmul_w")
        m.phase = "decode"
        for t in range(decode_tokens):
            nxt = logits.argmax(-1)
            x = self._stack(m, self._embed(m, nxt, S + t), caches, S + t)
            logits = m.mm(_norm(m, x[:, -1:], self.norm), self.head, "matmul_w")
        return m
