"""Functional simulation: checkpoint loading, float reference, INT8, crossbar execution, metrics, CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from cosim.errors import ConfigError
from cosim.functional.accuracy import (NO_STUCK, Embeddings, Spec, budget_specs, checkpoint, embed, metrics,
                                       read_sentences, sentences_file)
from cosim.functional.bert import forward
from cosim.functional.checkpoint import builtin_path, load_checkpoint
from cosim.functional.engine import explicit_product, spec_of, wan_sigma
from cosim.system.arch import NONIDEALITIES, load_arch
from cosim.system.streaming import n_cycles

from pathlib import Path

GOLDEN = Path(__file__).parent / "data" / "minilm_golden.npz"
ALL_OFF = {f"analog.{k}": v for d in NONIDEALITIES.values() for k, v in d.items()}


@pytest.fixture(scope="module")
def ck():
    return checkpoint("minilm")


@pytest.fixture(scope="module")
def few():
    return sentences_file("eval")[:6]


# ------------------------------------------------------------------------------------ checkpoints


def test_float_reference_matches_sentence_transformers(ck):
    """Golden data: sentence-transformers 6.2 (torch) on the same files (tests/data/make_golden_minilm.py)."""
    g = np.load(GOLDEN)
    sents = [str(s) for s in g["sentences"]]
    assert sents == sentences_file("eval")
    e = embed("minilm", sents, Spec("float")).embeddings
    cos = (e * g["embeddings"]).sum(1) / np.linalg.norm(e, axis=1) / np.linalg.norm(g["embeddings"], axis=1)
    assert cos.min() >= 0.9999
    assert np.allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)  # Normalize module applied


def _copy_ck(tmp_path, skip=()):
    src = builtin_path("minilm")
    dst = tmp_path / "ck"
    dst.mkdir()
    for f in ("config.json", "model.safetensors", "tokenizer.json", "vocab.txt", "tokenizer_config.json",
              "modules.json", "sentence_bert_config.json"):
        if f not in skip:
            (dst / f).symlink_to(src / f)
    (dst / "1_Pooling").mkdir()
    (dst / "1_Pooling" / "config.json").symlink_to(src / "1_Pooling" / "config.json")
    return dst


def test_checkpoint_directory_and_vocab_fallback(tmp_path, ck):
    d = _copy_ck(tmp_path, skip=("tokenizer.json",))  # vocab.txt only: BertWordPiece tokenizer
    c2 = load_checkpoint(d)
    s = ["Heavy rain caused flooding in several towns along the river."]
    assert [list(x) for x in c2.tokenize(s)] == [list(x) for x in ck.tokenize(s)]
    assert c2.pooling == "mean" and c2.normalize and c2.max_seq_length == 256


def _replace(d, name, text):
    (d / name).unlink()
    (d / name).write_text(text)


@pytest.mark.parametrize("case, match", [
    ("missing_dir", "unknown checkpoint"),
    ("no_config", "config.json: missing"),
    ("bad_json", "not valid JSON"),
    ("family", "model_type 'gpt2' is not supported"),
    ("no_weights", "model.safetensors: missing"),
    ("corrupt_weights", "not a readable safetensors"),
    ("shape", "has shape"),
    ("tokenizer_mismatch", "tokenizer mismatch"),
    ("no_tokenizer", "no tokenizer.json or vocab.txt"),
])
def test_checkpoint_errors(tmp_path, case, match):
    d = _copy_ck(tmp_path)
    cfg = json.loads((d / "config.json").read_text())
    if case == "missing_dir":
        d = tmp_path / "nothing"
    elif case == "no_config":
        (d / "config.json").unlink()
    elif case == "bad_json":
        _replace(d, "config.json", "{not json")
    elif case == "family":
        _replace(d, "config.json", json.dumps(dict(cfg, model_type="gpt2")))
    elif case == "no_weights":
        (d / "model.safetensors").unlink()
    elif case == "corrupt_weights":
        _replace(d, "model.safetensors", "garbage")
    elif case == "shape":
        _replace(d, "config.json", json.dumps(dict(cfg, intermediate_size=1024)))
    elif case == "tokenizer_mismatch":  # another model's (smaller) vocabulary
        (d / "tokenizer.json").unlink()
        _replace(d, "vocab.txt", "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(95)]))
    elif case == "no_tokenizer":
        (d / "tokenizer.json").unlink()
        (d / "vocab.txt").unlink()
    with pytest.raises(ConfigError, match=match):
        load_checkpoint(d)
    if case == "corrupt_weights":  # bad input never destroys data: the file is as it was
        assert (d / "model.safetensors").read_text() == "garbage"


def test_empty_sentences(tmp_path, ck):
    f = tmp_path / "s.txt"
    f.write_text("\n  \n")
    with pytest.raises(ConfigError, match="no sentences"):
        read_sentences(f)
    with pytest.raises(ConfigError, match="sentence 2 is empty"):
        ck.tokenize(["fine", " "])


# ------------------------------------------------------------------------------------ INT8 and metrics


def test_int8_budget_row_is_close_but_not_float(few):
    ref = embed("minilm", few, Spec("float"))
    q = embed("minilm", few, Spec("int8"))
    m = metrics(ref, q)
    assert 0.99 < m["cosine_mean"] < 0.99999
    assert len(m["layer_error"]) == 7 and m["layer_error"][0] == 0.0 and 0 < m["layer_error"][-1] < 0.2
    same = metrics(ref, ref)
    assert same["cosine_min"] == pytest.approx(1.0) and same["spearman"] == pytest.approx(1.0)


def test_spearman_ranks_pairs():
    rng = np.random.default_rng(0)
    e = rng.standard_normal((8, 16))
    ref = Embeddings(Spec("float"), e, [[e]] * 8)
    shuffled = Embeddings(Spec("int8"), e[rng.permutation(8)], [[e]] * 8)
    assert metrics(ref, shuffled)["spearman"] < 0.9


# ------------------------------------------------------------------------------------ crossbar engine


def _ops(seed=0, R=5, K=300, C=7, scale=40):
    rng = np.random.default_rng(seed)
    U = np.clip(np.rint(rng.standard_normal((R, K)) * scale), -127, 127)
    S = np.clip(np.rint(rng.standard_normal((K, C)) * scale), -127, 127)
    return U, S


@pytest.mark.parametrize("arch", ["large-small", "multi-bit", "single-bit"])
@pytest.mark.parametrize("input_sign", ["two_pass", "offset", "twos"])
@pytest.mark.parametrize("zero_skip", [False, True])
def test_ideal_crossbar_is_the_exact_integer_product(arch, input_sign, zero_skip):
    U, S = _ops()
    sp = spec_of(load_arch(arch, {**ALL_OFF, "compute.input_sign": input_sign, "compute.zero_skip": zero_skip}))
    out = explicit_product(U, S, 8, 8, sp, np.random.default_rng(1))
    assert np.array_equal(out, U @ S)


@pytest.mark.parametrize("dac_bits", [1, 2, 3])
def test_twos_complement_with_wider_dacs(dac_bits):
    """Two's complement with w-bit digits: the low 7 bits in ceil(7/w) cycles, the sign bit alone."""
    U, S = _ops(seed=2)
    sp = spec_of(load_arch("single-bit", {**ALL_OFF, "compute.input_sign": "twos", "compute.dac_bits": dac_bits,
                                          "compute.rows_per_conversion": 8, "compute.dac_energy_rule": "cited"}))
    assert np.array_equal(explicit_product(U, S, 8, 8, sp, np.random.default_rng(1)), U @ S)


def test_zero_skip_groups_only_driven_rows():
    """Zero skipping groups the driven rows of a tile three at a time wherever they sit (a 2-bit ADC
    stays exact) and converts only those groups.  Hand count with ADC noise σ = 0.4 LSB (a code moves
    by one with p = Φ(−0.5/0.4) ≈ 0.106 each way, away from the rails) on vectors driving 6 scattered
    rows of a 128-row tile with a 1 in their lowest bit, stored value 0 (offset 128: plane 7 holds ones,
    planes 0–6 zeros).  Zero skipping converts 2 full groups per plane in the first cycle only: on
    planes 0–6 a sum of 0 can only read high (+2^j w.p. p), on plane 7 a sum of 3 only low (−128 w.p.
    p): mean 2p·(127 − 128), variance 2p(1−p)·Σ_j 4^j = 2p(1−p)·21845.  Fixed groups convert all 43
    groups of every plane in all 14 cycles: variance ≈ 43 · 2·Σ_{j<7} 4^j · 21845 · p(1−p), 10⁵× more."""
    import math

    rng = np.random.default_rng(5)
    U = (rng.random((40, 128)) < 0.2).astype(float)  # one positive bit plane, 20 % of the rows driven
    S = np.ones((128, 3))
    skip = spec_of(load_arch("large-small", {**ALL_OFF, "compute.zero_skip": True}))
    assert np.array_equal(explicit_product(U, S, 8, 8, skip, rng), U @ S)
    n = 4000
    U = np.zeros((n, 128))
    for r in range(n):
        U[r, rng.choice(128, 6, replace=False)] = 1
    S = np.zeros((128, 1))
    noisy = {**ALL_OFF, "analog.adc_noise_lsb": 0.4, "compute.sign": "offset"}
    e_sk = explicit_product(U, S, 8, 8, spec_of(load_arch("large-small", {**noisy, "compute.zero_skip": True})),
                            np.random.default_rng(1))
    e_fx = explicit_product(U[:200], S, 8, 8, spec_of(load_arch("large-small", {**noisy, "compute.zero_skip": False})),
                            np.random.default_rng(1))
    p = 0.5 * math.erfc(0.5 / 0.4 / math.sqrt(2))
    sd = math.sqrt(2 * p * (1 - p) * 21845)
    assert abs(e_sk.mean() - 2 * p * (127 - 128)) < 4 * sd / math.sqrt(n)
    assert e_sk.std() == pytest.approx(sd, rel=0.05)
    assert e_fx.std() == pytest.approx(math.sqrt(43 * 2 * 5461 * 21845 * p * (1 - p)), rel=0.15)


def test_lossy_and_clipped_adc_mappings():
    U, S = _ops()
    exact = U @ S
    full = spec_of(load_arch("large-small", {**ALL_OFF, "compute.rows_per_conversion": 15}))
    assert full.step == pytest.approx(15 / 3)  # 16 possible sums on 4 codes
    e_full = explicit_product(U, S, 8, 8, full, np.random.default_rng(1)) - exact
    clip = spec_of(load_arch("large-small", {**ALL_OFF, "compute.rows_per_conversion": 15, "compute.adc_range": "clip"}))
    e_clip = explicit_product(U, S, 8, 8, clip, np.random.default_rng(1)) - exact
    assert np.abs(e_full).max() > 0 and np.abs(e_clip).max() > 0
    # clipping saturates at 3 per conversion: sums only ever lose
    pos = spec_of(load_arch("large-small", {**ALL_OFF, "compute.rows_per_conversion": 15, "compute.adc_range": "clip"}))
    Up, Sp = np.abs(U), np.abs(S)
    assert np.all(explicit_product(Up, Sp, 8, 8, pos, np.random.default_rng(1)) <= Up @ Sp)


def test_stuck_on_cells_by_hand():
    """Every cell stuck at G_on, unmapped: offset-stored values all read as 255 → the product is U @ (127·1);
    every cell stuck off, differential: all read 0."""
    U, S = _ops(K=50)
    raw = {**ALL_OFF, "compute.fault_aware": False}
    sp = spec_of(load_arch("large-small", {**raw, "compute.sign": "offset", "analog.stuck_on_rate": 1.0}))
    out = explicit_product(U, S, 8, 8, sp, np.random.default_rng(1))
    assert np.array_equal(out, U @ np.full_like(S, 127))
    sp = spec_of(load_arch("multi-bit", {**raw, "analog.stuck_off_rate": 1.0}))  # differential, all off → 0
    assert np.array_equal(explicit_product(U, S, 8, 8, sp, np.random.default_rng(1)), np.zeros_like(U @ S))


@pytest.mark.parametrize("name", list(NONIDEALITIES))
def test_each_nonideality_switches(name):
    """Alone at a large amplitude each non-ideality changes the multi-bit product; off, none does."""
    U, S = _ops()
    big = {"programming": {"analog.prog_sigma": 5.0}, "d2d": {"analog.d2d_sigma": 0.5},
           "rtn": {"analog.rtn_amplitude": 0.5}, "stuck": {"analog.stuck_off_rate": 0.2},
           "ir_drop": {"analog.ir_drop": True, "analog.ir_compensation": False},
           "adc_offset": {"analog.adc_offset_lsb": 2.0}, "adc_noise": {"analog.adc_noise_lsb": 2.0}}[name]
    sp = spec_of(load_arch("multi-bit", {**ALL_OFF, **big}))
    out = explicit_product(U, S, 8, 8, sp, np.random.default_rng(1))
    assert not np.array_equal(out, U @ S)


def test_adc_noise_flips_codes_at_the_expected_rate():
    """ADC noise alone (σ = 0.5 LSB) on exact integer sums: a code is wrong when |N(0, 0.5²)| > 0.5,
    p = 2·Φ(−1) ≈ 0.32 per conversion away from the rails (one digit plane, one group per output)."""
    rng = np.random.default_rng(3)
    U = rng.integers(0, 2, (4000, 3)).astype(float)   # one positive digit: one pass, one input plane
    S = np.ones((3, 1))                                # stored +1 (offset 129 → bits), 3 rows = 1 group
    sp = spec_of(load_arch("large-small", {**ALL_OFF, "analog.adc_noise_lsb": 0.5}))
    e = explicit_product(U, S, 8, 8, sp, rng) - U @ S
    assert np.isfinite(e).all() and np.mean(e != 0) > 0.5  # 8 stored planes, each flipping
    sp0 = spec_of(load_arch("large-small", {**ALL_OFF}))
    assert np.array_equal(explicit_product(U, S, 8, 8, sp0, rng), U @ S)


def test_wan_sigma_published_range():
    s = wan_sigma(np.linspace(0, 1, 101)) * 40
    assert s.min() == pytest.approx(0.348, abs=1e-3) and s.max() == pytest.approx(2.30, abs=0.01)


def test_stream_cycles_and_analog_section():
    a = load_arch("large-small")
    assert a.analog.rtn_amplitude == 0.05 and a.compute.input_sign == "two_pass"
    assert n_cycles(a.compute.input_sign, 8, 1) == 14
    assert n_cycles("offset", 8, 1) == 8 and n_cycles("twos", 8, 1) == 8 and n_cycles("twos", 8, 2) == 5
    with pytest.raises(ConfigError, match="analog.prog_sigma must be >= 0"):
        load_arch("large-small", {"analog.prog_sigma": -1})
    with pytest.raises(ConfigError, match="stuck rates"):
        load_arch("large-small", {"analog.stuck_off_rate": 0.7, "analog.stuck_on_rate": 0.5})


# ------------------------------------------------------------------------------------ modes, determinism


def test_deterministic_whatever_the_workers(few):
    spec = Spec("multi-bit", tuple(sorted(NO_STUCK.items())), "explicit", 7)
    a = embed("minilm", few[:3], spec, n_jobs=1).embeddings
    b = embed("minilm", few[:3], spec, n_jobs=2).embeddings
    assert np.array_equal(a, b)
    fast = Spec("large-small", (), "fast", 7)
    x = embed("minilm", few, fast, n_jobs=1)
    y = embed("minilm", few, fast, n_jobs=2, error_models=x.error_models)
    assert np.array_equal(x.embeddings, y.embeddings)
    assert not np.array_equal(x.embeddings, embed("minilm", few, Spec("large-small", (), "fast", 8),
                                                  error_models=x.error_models).embeddings)


@pytest.mark.parametrize("arch", ["multi-bit", "single-bit"])
def test_fast_mode_agrees_with_explicit(arch, few):
    """On the same sentences the fitted statistical mode reproduces the explicit mode's accuracy."""
    ov = tuple(sorted(NO_STUCK.items()))
    sents = few[:3]
    ref = embed("minilm", sents, Spec("float"))
    ex = metrics(ref, embed("minilm", sents, Spec(arch, ov, "explicit")))
    fa = metrics(ref, embed("minilm", sents, Spec(arch, ov, "fast")))
    assert ex["cosine_mean"] < 0.9999  # the non-idealities do something
    assert abs(fa["cosine_mean"] - ex["cosine_mean"]) < 0.02
    assert np.allclose(fa["layer_error"], ex["layer_error"], rtol=0.5, atol=0.01)


def test_budget_rows():
    rows = budget_specs("large-small", "fast", 0)
    labels = [r[0] for r in rows]
    assert labels[:2] == ["int8 digital", "crossbar, ideal devices"]
    assert {f"+ {n} only" for n in NONIDEALITIES} <= set(labels) and "all nominal" in labels
    only_rtn = dict(dict(rows)["+ rtn only"].overrides)
    assert "analog.rtn_amplitude" not in only_rtn and only_rtn["analog.prog_sigma"] == 0.0


# ------------------------------------------------------------------------------------ CLI


def _cosim(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "cosim", *args], capture_output=True, text=True, cwd=cwd)


def test_cli_embed_rows_in_file_order(tmp_path, ck):
    f = tmp_path / "s.txt"
    sents = ["The cat is sleeping on the warm windowsill.", "Stocks fell sharply.", "A kitten naps in the sun."]
    f.write_text("\n".join(sents) + "\n")
    r = _cosim("embed", "--model", "minilm", "--arch", "float", "--sentences", str(f), "--out", str(tmp_path / "e.npy"),
               "--quiet")
    assert r.returncode == 0, r.stderr
    e = np.load(tmp_path / "e.npy")
    assert e.shape == (3, 384)
    for i, s in enumerate(sents):
        assert np.allclose(e[i], forward(ck, ck.tokenize([s])[0]).embedding, atol=1e-6)
    r = _cosim("embed", "--arch", "multi-bit", "--sentences", str(f), "--out", str(tmp_path / "x.npy"), "--quiet")
    assert r.returncode == 0, r.stderr
    assert np.load(tmp_path / "x.npy").shape == (3, 384)


@pytest.mark.parametrize("args, match", [
    (["--arch", "nope"], "unknown architecture 'nope'; valid: float, int8, large-small"),
    (["--model", "/nonexistent"], "unknown checkpoint"),
    (["--set", "analog.rtn_amplitude=-1", "--arch", "large-small"], "rtn_amplitude must be >= 0"),
    (["--mode", "sloppy", "--arch", "large-small"], "unknown mode"),
])
def test_cli_bad_input_one_line(tmp_path, args, match):
    f = tmp_path / "s.txt"
    f.write_text("one sentence\n")
    r = _cosim("embed", "--sentences", str(f), "--out", str(tmp_path / "e.npy"), *args)
    assert r.returncode == 2 and match in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "e.npy").exists()


def test_cli_empty_sentence_file(tmp_path):
    f = tmp_path / "s.txt"
    f.write_text("")
    r = _cosim("embed", "--sentences", str(f), "--out", str(tmp_path / "e.npy"))
    assert r.returncode == 2 and "no sentences" in r.stderr


def test_cli_accuracy_report(tmp_path):
    f = tmp_path / "s.txt"
    f.write_text("\n".join(sentences_file("eval")[:4]) + "\n")
    r = _cosim("accuracy", "--arch", "multi-bit", "--sentences", str(f), "--no-budget", "--validate", "1",
               "--sweep", "cell_bits", "--out-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "validation all nominal" in r.stdout and "cell_bits 4" in r.stdout
    stem = tmp_path / "accuracy_minilm_multi-bit_fast"
    res = json.loads(stem.with_suffix(".json").read_text())
    assert res["rows"][0]["row"] == "all nominal" and len(res["sweeps"]["cell_bits"]) == 3
    assert res["validation"][0]["explicit"]["cosine_mean"] <= 1.0
    md = stem.with_suffix(".md").read_text()
    assert "Fast mode against the explicit mode" in md and "do not test the seed paper's BERT-Large" in md
    # the bit-plane activity of these sentences' products, every product and operand
    assert "## Bit-plane activity of the products" in md
    act = {(r["product"], r["operand"]) for r in res["activity"]["rows"]}
    assert act == {(p, o) for p in ("query", "key", "value", "scores", "context", "attn_out", "ffn_up", "ffn_down")
                   for o in "ab"}
    probs = next(r for r in res["activity"]["rows"] if (r["product"], r["operand"]) == ("context", "a"))
    assert probs["bits_two_pass"][7:] == [0.0] * 7  # softmax probabilities: nothing in the negative pass
    assert stem.with_suffix(".png").stat().st_size > 10_000 and stem.with_suffix(".csv").exists()


def test_run_report_accuracy_column():
    """`cosim run --accuracy`: exact ADC mappings keep INT8 accuracy, a lossy one loses some."""
    from cosim.cli import _ideal_accuracy

    exact = [float(x) for x in _ideal_accuracy("large-small", {"compute.rows_per_conversion": 3}).split(" / ")]
    lossy = [float(x) for x in _ideal_accuracy("large-small", {"compute.rows_per_conversion": 31}).split(" / ")]
    assert exact[0] == pytest.approx(0.9974, abs=5e-4)  # = the INT8 digital row
    assert lossy[0] < exact[0] - 0.01


def test_calibrated_adc_offsets_and_trim():
    """The SPICE-calibrated ADC's per-threshold Monte Carlo offsets (σ up to 0.39 LSB) misread some
    exact integer sums; trimmed in 0.05-LSB steps (residual ≤ 0.025 LSB) they read every one."""
    rng = np.random.default_rng(5)
    U, S = _ops(K=60)
    cal = {**ALL_OFF, "analog.adc_offsets": "calibrated"}
    sp = spec_of(load_arch("large-small", cal))
    assert not np.array_equal(explicit_product(U, S, 8, 8, sp, rng), U @ S)
    sp = spec_of(load_arch("large-small", {**cal, "analog.adc_trim_lsb": 0.05}))
    assert np.array_equal(explicit_product(U, S, 8, 8, sp, rng), U @ S)
    with pytest.raises(ConfigError, match="adc_trim_lsb must be >= 0"):
        load_arch("large-small", {"analog.adc_trim_lsb": -0.1})
