"""BERT forward pass in numpy with every matrix product routed through an executor.

The float path reproduces Hugging Face's ``BertModel`` (post-LayerNorm, exact erf GELU, absolute
positions, token type 0) followed by the checkpoint's sentence pooling (mean over tokens or the
[CLS] token) and, for sentence-transformers models, L2 normalisation.

An executor decides how the products run: ``linear(key, x, W, b)`` (``x @ W.T + b``, HF weight
layout ``[out, in]``), ``scores(key, q, k)`` (``q @ kᵀ`` per head) and ``context(key, p, v)``
(``p @ v`` per head).  Softmax, LayerNorm and GELU are computed exactly (digitally) — the calibrated
nonlinear units of issue 6 are not yet in the path.  Keys name the product: ``L3.query``,
``L3.scores``, ``L0.ffn_down``, ….
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import erf

from .checkpoint import Checkpoint

LINEARS = ("query", "key", "value", "attn_out", "ffn_up", "ffn_down")
_HF = {"query": "attention.self.query", "key": "attention.self.key", "value": "attention.self.value",
       "attn_out": "attention.output.dense", "ffn_up": "intermediate.dense", "ffn_down": "output.dense"}


class FloatExecutor:
    """Products in float32, as the checkpoint's own library computes them."""

    name = "float"

    def begin(self, key) -> None:  # a new sentence (executors that draw random numbers seed here)
        pass

    def linear(self, key: str, x: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
        return x @ W.T + b

    def scores(self, key: str, q: np.ndarray, k: np.ndarray) -> np.ndarray:
        return q @ k.transpose(0, 2, 1)

    def context(self, key: str, p: np.ndarray, v: np.ndarray) -> np.ndarray:
        return p @ v

    def softmax(self, key: str, s: np.ndarray) -> np.ndarray:
        return softmax(s)


def layer_norm(x: np.ndarray, g: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def gelu(x: np.ndarray) -> np.ndarray:
    return (0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))).astype(x.dtype)


def softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@dataclass
class Output:
    embedding: np.ndarray
    """Pooled (and normalised) sentence embedding [hidden]."""
    hidden: list[np.ndarray]
    """Hidden states after the embeddings and after each layer, [tokens, hidden] each."""


def forward(ck: Checkpoint, ids: np.ndarray, ex=None) -> Output:
    """One sentence (token ids incl. [CLS]/[SEP]) through the model."""
    ex = ex or FloatExecutor()
    w, c = ck.weights, ck.config
    eps = float(c.get("layer_norm_eps", 1e-12))
    T, H, nh = len(ids), ck.hidden, ck.n_heads
    d = H // nh
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:T] \
        + w["embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    hidden = [x]
    heads = lambda t: t.reshape(T, nh, d).transpose(1, 0, 2)
    for layer in range(ck.n_layers):
        p = f"encoder.layer.{layer}."
        lin = lambda name, inp: ex.linear(f"L{layer}.{name}", inp, w[p + _HF[name] + ".weight"], w[p + _HF[name] + ".bias"])
        q, k, v = heads(lin("query", x)), heads(lin("key", x)), heads(lin("value", x))
        s = ex.scores(f"L{layer}.scores", q, k) / np.float32(np.sqrt(d))
        ctx = ex.context(f"L{layer}.context", ex.softmax(f"L{layer}.softmax", s), v).transpose(1, 0, 2).reshape(T, H)
        x = layer_norm(x + lin("attn_out", ctx), w[p + "attention.output.LayerNorm.weight"],
                       w[p + "attention.output.LayerNorm.bias"], eps)
        x = layer_norm(x + lin("ffn_down", gelu(lin("ffn_up", x))), w[p + "output.LayerNorm.weight"],
                       w[p + "output.LayerNorm.bias"], eps)
        hidden.append(x)
    pooled = x.mean(0) if ck.pooling == "mean" else x[0]
    if ck.normalize:
        pooled = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
    return Output(pooled.astype(np.float32), hidden)
