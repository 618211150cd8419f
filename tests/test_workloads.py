"""Workload shapes and operation counts, checked against an instrumented forward pass."""

import json

import numpy as np
import pytest

from cosim.errors import ConfigError, UnknownNameError
from cosim.workloads import available_models, build_workload, load_model
from cosim.workloads.config import from_hf_config

from reference_forward import TinyTransformer

TINY = {  # HF-style configs of small instances of each family, and the matching reference model
    "bert": (dict(model_type="bert", num_hidden_layers=2, hidden_size=24, num_attention_heads=4,
                  intermediate_size=40, vocab_size=50, max_position_embeddings=64), dict(kv=4, rot=0)),
    "gpt2": (dict(model_type="gpt2", n_layer=3, n_embd=16, n_head=2, vocab_size=40, n_positions=64),
             dict(kv=2, rot=0)),
    "llama": (dict(model_type="llama", num_hidden_layers=2, hidden_size=32, num_attention_heads=4,
                   num_key_value_heads=2, intermediate_size=44, vocab_size=30, max_position_embeddings=64,
                   hidden_act="silu", rms_norm_eps=1e-5), dict(kv=2, rot=8)),
    "phi": (dict(model_type="phi", num_hidden_layers=2, hidden_size=32, num_attention_heads=4,
                 intermediate_size=64, vocab_size=30, max_position_embeddings=64, hidden_act="gelu_new",
                 partial_rotary_factor=0.5), dict(kv=4, rot=4)),
}


@pytest.mark.parametrize("family", sorted(TINY))
@pytest.mark.parametrize("batch, seq, gen", [(1, 7, 0), (2, 5, 4)])
def test_counts_match_instrumented_forward_pass(family, batch, seq, gen):
    cfg, ref = TINY[family]
    shape = from_hf_config(cfg, f"tiny-{family}")
    if shape.kind == "encoder":
        gen = 0
    model = TinyTransformer(family, shape.n_layers, shape.d_model, shape.n_heads, ref["kv"], shape.d_ff,
                            shape.vocab, ref["rot"])
    meter = model.run(np.random.default_rng(0).integers(0, shape.vocab, (batch, seq)), gen)
    w = build_workload(shape, seq, batch, gen)
    assert w.macs == meter.total()
    for phase in ("encode", "prefill", "decode"):
        for kind in ("matmul_w", "matmul_a"):
            assert w.total(kind, phase) == meter.total(kind, phase), (phase, kind)
    got = w.elements_by_kind()
    for kind in ("softmax", "layernorm", "rmsnorm", "gelu", "silu", "mul", "add", "embedding", "rotary"):
        assert got.get(kind, 0) == meter.total(kind, what="elements"), kind


def test_bert_large_published_counts():
    """REFERENCE.md §7: 302.0 M weight MACs per token; 39.5 GMAC at seq 128, 123.2 at 384; 6.3 M exps."""
    s = load_model("bert-large")
    w = build_workload(s, 128)
    assert w.weight_macs / 128 == pytest.approx(302.0e6, rel=5e-4)
    assert w.macs == pytest.approx(39.5e9, rel=2e-3)
    assert w.softmax_exps == 24 * 16 * 128**2
    assert build_workload(s, 384).macs == pytest.approx(123.2e9, rel=1e-3)
    assert s.weight_params() == pytest.approx(302.3e6, rel=2e-3)


@pytest.mark.parametrize("name, layers, hidden, heads, ffn, vocab", [
    ("bert-base", 12, 768, 12, 3072, 30522), ("bert-large", 24, 1024, 16, 4096, 30522),
    ("all-minilm-l6-v2", 6, 384, 12, 1536, 30522), ("gpt2", 12, 768, 12, 3072, 50257),
    ("gpt2-medium", 24, 1024, 16, 4096, 50257), ("gpt2-large", 36, 1280, 20, 5120, 50257),
    ("gpt2-xl", 48, 1600, 25, 6400, 50257), ("phi-1.5", 24, 2048, 32, 8192, 51200),
    ("llama-2-7b", 32, 4096, 32, 11008, 32000), ("gpt3-175b", 96, 12288, 96, 49152, 50257),
])
def test_builtin_shapes(name, layers, hidden, heads, ffn, vocab):
    s = load_model(name)
    assert (s.n_layers, s.d_model, s.n_heads, s.d_ff, s.vocab) == (layers, hidden, heads, ffn, vocab)
    assert name in available_models()


def test_family_details():
    assert load_model("llama-2-7b").ffn == "swiglu" and load_model("llama-2-7b").norm == "rmsnorm"
    assert load_model("phi-1.5").parallel_block and load_model("phi-1.5").rotary_dim == 32
    assert load_model("bert-large").kind == "encoder" and load_model("gpt2").kind == "decoder"
    # GPT-3 175B: ~175 B parameters in its layers' matrices (12·L·H²)
    assert load_model("gpt3-175b").weight_params() == pytest.approx(174e9, rel=0.01)


def test_user_config_by_path(tmp_path):
    p = tmp_path / "mymodel" / "config.json"
    p.parent.mkdir()
    p.write_text(json.dumps(TINY["llama"][0]))
    s = load_model(str(p))
    assert s.name == "mymodel" and s.n_kv_heads == 2


def test_bad_models(tmp_path):
    with pytest.raises(UnknownNameError, match="bert-large"):
        load_model("bert-huge")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_model(str(bad))
    bad.write_text(json.dumps({"model_type": "gpt2", "n_layer": 2, "n_embd": 10, "n_head": 3, "vocab_size": 5}))
    with pytest.raises(ConfigError, match="not divisible"):
        load_model(str(bad))
    with pytest.raises(ConfigError, match="at most 512"):
        build_workload(load_model("bert-large"), 1024)
    with pytest.raises(ConfigError, match="encoder"):
        build_workload(load_model("bert-large"), 128, decode_tokens=4)
