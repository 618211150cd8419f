"""Transformer shapes read from HF-style ``config.json`` files.

Built-in names are the files in ``workloads/`` (``bert-large``, ``gpt3-175b``, …); any other
``config.json`` is accepted by path.  Field names of the BERT, GPT-2, Phi and LLaMA families are
understood; a missing or impossible value is a :class:`~cosim.errors.ConfigError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import ConfigError, UnknownNameError
from ..resources import data_dir


@dataclass(frozen=True)
class TransformerShape:
    """The shape of a transformer, as the operation count needs it."""

    name: str
    """Model name (file stem or the name given)."""
    family: str
    """HF ``model_type`` (bert, gpt2, phi, llama, …)."""
    kind: Literal["encoder", "decoder"]
    """Encoders run over a whole sequence; decoders run prefill + autoregressive decode."""
    n_layers: int
    d_model: int
    n_heads: int
    n_kv_heads: int
    """Key/value heads (fewer than n_heads with grouped-query attention)."""
    d_ff: int
    vocab: int
    max_positions: int
    norm: Literal["layernorm", "rmsnorm"]
    ffn: Literal["gelu", "swiglu"]
    parallel_block: bool
    """Attention and MLP read the same normalised input (Phi, GPT-J): one norm per layer."""
    rotary_dim: int
    """Dimensions per head that get rotary position encoding (0: learned/absolute positions)."""

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads

    type_vocab: int = 0
    """Token-type embeddings (BERT: 2)."""
    tied_lm_head: bool = True
    """The LM head reuses the token embedding matrix (decoders)."""

    def embedding_params(self) -> int:
        """Token, learned-position and token-type embeddings (plus an untied LM head)."""
        pos = self.max_positions * self.d_model if self.rotary_dim == 0 else 0
        head = 0 if (self.tied_lm_head or self.kind == "encoder") else self.vocab * self.d_model
        return self.vocab * self.d_model + pos + self.type_vocab * self.d_model + head

    def total_params(self) -> int:
        """Matrix weights of the layers plus embeddings (norm gains and biases left out)."""
        return self.weight_params() + self.embedding_params()

    def weight_params(self) -> int:
        """Weights of the transformer layers' matrices (no embeddings, norms or biases)."""
        kv = 2 * self.d_model * self.n_kv_heads * self.d_head
        attn = 2 * self.d_model * self.d_model + kv
        mlp = (3 if self.ffn == "swiglu" else 2) * self.d_model * self.d_ff
        return self.n_layers * (attn + mlp)


def _get(d: dict, *keys, default=None):
    for k in keys:
        if k in d and d[k] is not None:
            return d[k]
    return default


def from_hf_config(d: dict, name: str) -> TransformerShape:
    """Build a shape from the fields of an HF ``config.json`` dictionary."""
    family = str(d.get("model_type", "")).lower()
    archs = " ".join(d.get("architectures") or []).lower()
    try:
        n_layers = int(_get(d, "num_hidden_layers", "n_layer", "num_layers"))
        d_model = int(_get(d, "hidden_size", "n_embd", "d_model"))
        n_heads = int(_get(d, "num_attention_heads", "n_head"))
        n_kv = int(_get(d, "num_key_value_heads", default=n_heads))
        d_ff = int(_get(d, "intermediate_size", "n_inner", "ffn_dim", default=4 * d_model))
        vocab = int(_get(d, "vocab_size"))
        max_pos = int(_get(d, "max_position_embeddings", "n_positions", "n_ctx", default=2048))
    except (TypeError, ValueError):
        raise ConfigError(f"model config {name!r} lacks layers, hidden size, heads or vocabulary size") from None
    act = str(_get(d, "hidden_act", "activation_function", default="gelu")).lower()
    is_encoder = family in ("bert", "roberta", "distilbert", "albert", "electra") or "formaskedlm" in archs \
        or archs.endswith("bertmodel")
    if family == "llama" or "rms_norm_eps" in d:
        norm = "rmsnorm"
    else:
        norm = "layernorm"
    ffn = "swiglu" if act in ("silu", "swish") and family in ("llama", "mistral", "qwen2", "gemma") else "gelu"
    rot = float(_get(d, "partial_rotary_factor", default=1.0)) if family in ("llama", "phi", "mistral", "gptj", "qwen2") else 0.0
    shape = TransformerShape(
        name=name, family=family or "unknown", kind="encoder" if is_encoder else "decoder",
        n_layers=n_layers, d_model=d_model, n_heads=n_heads, n_kv_heads=n_kv, d_ff=d_ff, vocab=vocab,
        max_positions=max_pos, norm=norm, ffn=ffn, parallel_block=family in ("phi", "gptj"),
        rotary_dim=int(rot * (d_model // max(n_heads, 1))),
        type_vocab=int(_get(d, "type_vocab_size", default=0)),
        tied_lm_head=bool(_get(d, "tie_word_embeddings", default=family not in ("llama", "phi"))),
    )
    _check(shape)
    return shape


def _check(s: TransformerShape) -> None:
    for f in ("n_layers", "d_model", "n_heads", "n_kv_heads", "d_ff", "vocab", "max_positions"):
        if getattr(s, f) <= 0:
            raise ConfigError(f"model {s.name!r}: {f} must be positive, got {getattr(s, f)}")
    if s.d_model % s.n_heads:
        raise ConfigError(f"model {s.name!r}: hidden size {s.d_model} is not divisible by {s.n_heads} heads")
    if s.n_heads % s.n_kv_heads:
        raise ConfigError(f"model {s.name!r}: {s.n_heads} heads cannot share {s.n_kv_heads} key/value heads")


def available_models() -> list[str]:
    return sorted(p.stem for p in data_dir("workloads").glob("*.json"))


def load_model(name_or_path: str) -> TransformerShape:
    """A built-in model by name, or any HF ``config.json`` by path."""
    p = Path(name_or_path)
    if p.suffix == ".json" or p.is_file():
        if not p.is_file():
            raise ConfigError(f"model config {p} not found")
        name = p.parent.name if p.name == "config.json" else p.stem
    else:
        p = data_dir("workloads") / f"{name_or_path}.json"
        if not p.is_file():
            raise UnknownNameError("model", name_or_path, available_models())
        name = name_or_path
    try:
        d = json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"model config {p} is not valid JSON: {exc}") from None
    if not isinstance(d, dict):
        raise ConfigError(f"model config {p} is not a JSON object")
    return from_hf_config(d, name)
