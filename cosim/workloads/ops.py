"""The operations of a transformer forward pass, counted exactly.

An encoder runs once over the whole sequence (phase ``encode``).  A decoder runs a ``prefill``
over the prompt, then ``decode`` steps that each process one new token per sequence against a
KV cache holding every earlier position.  Every operation appears: embeddings (lookup and the
position/type additions), Q/K/V/O projections, Q·Kᵀ, softmax, scores·V, LayerNorm / RMSNorm,
the FFN (GELU, or SwiGLU's gate, up, SiLU and product), rotary encoding, residual adds, and for
decoders the final norm and the LM head (on the last prompt position and on every decoded token —
what generation needs).

Stated simplifications: the attention scale 1/√d is folded into the query projection; attention
masks, dropout, biases and the encoders' pooler/classifier heads are not counted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

from ..errors import ConfigError
from .config import TransformerShape

OpKind = Literal["matmul_w", "matmul_a", "softmax", "layernorm", "rmsnorm", "gelu", "silu", "mul", "add",
                 "embedding", "rotary"]


@dataclass(frozen=True)
class Op:
    """One operation (possibly repeated).

    ``matmul_w``: activations ``[m, k]`` times a stored weight ``[k, n]``; ``matmul_a``: both operands
    produced at run time (Q·Kᵀ, scores·V).  ``count`` independent instances (sequences × heads,
    × decode steps); for decode-phase attention ``n`` (Q·Kᵀ) or ``k`` (scores·V) is the longest
    context and ``macs`` the exact sum over steps.  ``elements``: values an elementwise or
    nonlinear op processes (for softmax: exponentials).
    """

    name: str
    kind: OpKind
    layer: int
    phase: Literal["encode", "prefill", "decode"]
    macs: int = 0
    elements: int = 0
    m: int = 0
    k: int = 0
    n: int = 0
    count: int = 1


@dataclass
class Workload:
    shape: TransformerShape
    seq_len: int
    batch: int
    decode_tokens: int
    ops: list[Op] = field(default_factory=list)

    @property
    def macs(self) -> int:
        return sum(o.macs for o in self.ops)

    def total(self, kind: str | None = None, phase: str | None = None, field_: str = "macs") -> int:
        return sum(getattr(o, field_) for o in self.ops
                   if (kind is None or o.kind == kind) and (phase is None or o.phase == phase))

    @property
    def weight_macs(self) -> int:
        return self.total("matmul_w")

    @property
    def attention_macs(self) -> int:
        return self.total("matmul_a")

    @property
    def softmax_exps(self) -> int:
        return self.total("softmax", field_="elements")

    def elements_by_kind(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for o in self.ops:
            if o.elements:
                out[o.kind] += o.elements
        return dict(out)

    def summary(self) -> dict:
        return {
            "model": self.shape.name, "seq_len": self.seq_len, "batch": self.batch,
            "decode_tokens": self.decode_tokens, "macs": self.macs, "weight_macs": self.weight_macs,
            "attention_macs": self.attention_macs, "softmax_exps": self.softmax_exps,
            "elements": self.elements_by_kind(), "weight_params": self.shape.weight_params(),
        }


def build_workload(shape: TransformerShape, seq_len: int, batch: int = 1, decode_tokens: int | None = None) -> Workload:
    """All operations of one run: ``batch`` sequences of ``seq_len`` tokens (the prompt, for a decoder),
    then ``decode_tokens`` generated tokens per sequence (decoders; default 128, encoders 0)."""
    if decode_tokens is None:
        decode_tokens = 128 if shape.kind == "decoder" else 0
    if seq_len < 1 or batch < 1 or decode_tokens < 0:
        raise ConfigError("need seq_len >= 1, batch >= 1 and decode_tokens >= 0")
    if shape.kind == "encoder" and decode_tokens:
        raise ConfigError(f"{shape.name} is an encoder: it does not decode tokens")
    if seq_len + decode_tokens > shape.max_positions:
        raise ConfigError(f"{shape.name} holds at most {shape.max_positions} positions; "
                          f"seq_len {seq_len} + decode {decode_tokens} exceeds it")
    w = Workload(shape, seq_len, batch, decode_tokens)
    if shape.kind == "encoder":
        _pass(w.ops, shape, "encode", tokens=batch * seq_len, batch=batch, q_len=seq_len, ctx=[seq_len], steps=1)
    else:
        _pass(w.ops, shape, "prefill", tokens=batch * seq_len, batch=batch, q_len=seq_len, ctx=[seq_len], steps=1)
        if decode_tokens:
            # decode step t (0-based) adds one token per sequence; it attends to seq_len + t + 1 positions
            ctx = [seq_len + t + 1 for t in range(decode_tokens)]
            _pass(w.ops, shape, "decode", tokens=batch, batch=batch, q_len=1, ctx=ctx, steps=decode_tokens)
    return w


def _pass(ops: list[Op], s: TransformerShape, phase: str, *, tokens: int, batch: int, q_len: int,
          ctx: list[int], steps: int) -> None:
    """Operations of one pass (``steps`` identical decode steps aggregated; ``ctx`` per step)."""
    H, F, d, h, hkv = s.d_model, s.d_ff, s.d_head, s.n_heads, s.n_kv_heads
    T = tokens * steps  # token-passes in this phase
    norm = s.norm

    def mw(name, layer, k, n, rows=tokens):
        ops.append(Op(name, "matmul_w", layer, phase, macs=rows * steps * k * n, m=rows, k=k, n=n, count=steps))

    def el(name, kind, layer, elements):
        ops.append(Op(name, kind, layer, phase, elements=elements))

    # embeddings: lookup, plus learned positions (and BERT's token types) added
    el("embed.lookup", "embedding", -1, T * H)
    if s.rotary_dim == 0:
        el("embed.add_positions", "add", -1, T * H * (2 if s.kind == "encoder" else 1))
    if s.kind == "encoder":
        el("embed.norm", norm, -1, T * H)

    ctx_sum = sum(ctx)
    for L in range(s.n_layers):
        pre = s.kind == "decoder"  # pre-norm decoders; post-norm BERT
        if pre:
            el("attn.norm", norm, L, T * H)
        mw("attn.q_proj", L, H, h * d)
        mw("attn.k_proj", L, H, hkv * d)
        mw("attn.v_proj", L, H, hkv * d)
        if s.rotary_dim:
            el("attn.rotary", "rotary", L, T * (h + hkv) * s.rotary_dim)
        # Q·Kᵀ and scores·V: per sequence and head, q_len queries against ctx keys (per step)
        n_inst = batch * h
        ops.append(Op("attn.qk", "matmul_a", L, phase, macs=n_inst * q_len * d * ctx_sum,
                      m=q_len, k=d, n=max(ctx), count=n_inst * steps))
        ops.append(Op("attn.softmax", "softmax", L, phase, elements=n_inst * q_len * ctx_sum,
                      m=q_len, n=max(ctx), count=n_inst * steps))
        ops.append(Op("attn.sv", "matmul_a", L, phase, macs=n_inst * q_len * d * ctx_sum,
                      m=q_len, k=max(ctx), n=d, count=n_inst * steps))
        mw("attn.o_proj", L, h * d, H)
        if not s.parallel_block:
            el("attn.residual", "add", L, T * H)
            if pre:
                el("mlp.norm", norm, L, T * H)
            else:
                el("attn.norm", norm, L, T * H)
        if s.ffn == "swiglu":
            mw("mlp.gate_proj", L, H, F)
            mw("mlp.up_proj", L, H, F)
            el("mlp.silu", "silu", L, T * F)
            el("mlp.gate_mul", "mul", L, T * F)
        else:
            mw("mlp.up_proj", L, H, F)
            el("mlp.gelu", "gelu", L, T * F)
        mw("mlp.down_proj", L, F, H)
        el("mlp.residual", "add", L, T * H * (2 if s.parallel_block else 1))
        if not pre:
            el("mlp.norm", norm, L, T * H)
    if s.kind == "decoder":
        # final norm and LM head on the positions whose next token is generated
        rows = batch  # the last prompt position (prefill) or the new token (decode)
        el("final.norm", norm, s.n_layers, rows * steps * H)
        mw("lm_head", s.n_layers, H, s.vocab, rows=rows)
