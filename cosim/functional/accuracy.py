"""Accuracy of a real model on an architecture: embeddings, metrics, the budget, sweeps.

An *executor spec* names how the products run: ``float``, ``int8`` (digital, exact integer
products) or an architecture preset (``large-small``, ``multi-bit``, ``single-bit`` or a
``.toml`` path) with dotted overrides, in ``explicit`` or ``fast`` mode.  Sentences are split into
fixed chunks run with joblib; every sentence draws from its own generator keyed by (seed, its
index), and weights programmed once from (seed, product), so results do not depend on the number
of workers.

Metrics against the float model: cosine similarity of each sentence embedding; Spearman rank
correlation between the float and the simulated pairwise cosine similarities over all sentence
pairs; per layer, the relative error ‖h − h_float‖/‖h_float‖ of the hidden states.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..parallel import run_parallel
from ..resources import data_dir
from ..system.arch import NONIDEALITIES, load_arch
from .bert import FloatExecutor, forward
from .checkpoint import load_checkpoint
from .engine import CrossbarExecutor, ErrorModel, fit_error_model
from .quant import QuantExecutor

DIGITAL = ("float", "int8")
#: Calibration sentences the fast mode fits its error statistics on (explicit mode).
FIT_SENTENCES = 2


def sentences_file(name: str) -> list[str]:
    return read_sentences(data_dir("workloads") / "sentences" / f"{name}.txt")


def read_sentences(path) -> list[str]:
    from pathlib import Path

    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ConfigError(f"sentence file {p} not found") from None
    except UnicodeDecodeError:
        raise ConfigError(f"sentence file {p} is not UTF-8 text") from None
    out = [s.strip() for s in lines if s.strip()]
    if not out:
        raise ConfigError(f"sentence file {p} has no sentences (one per line)")
    return out


@cache
def checkpoint(name: str):
    return load_checkpoint(name)


@dataclass(frozen=True)
class Spec:
    """How to run the products (picklable, sent to workers)."""

    arch: str
    overrides: tuple[tuple[str, Any], ...] = ()
    mode: str = "fast"
    seed: int = 0

    @property
    def label(self) -> str:
        if self.arch in DIGITAL:
            return self.arch
        extra = ",".join(f"{k}={v}" for k, v in self.overrides)
        return f"{self.arch}[{self.mode}]" + (f"({extra})" if extra else "")


def make_executor(ck_name: str, spec: Spec, error_models: dict | None = None, record: bool = False):
    if spec.arch == "float":
        return FloatExecutor()
    if spec.arch == "int8":
        return QuantExecutor()
    arch = load_arch(spec.arch, dict(spec.overrides))
    return CrossbarExecutor(arch, mode=spec.mode, seed=spec.seed, error_models=error_models, record=record)


def fit_fast_mode(ck_name: str, spec: Spec) -> dict[str, ErrorModel]:
    """Per-product error statistics of the explicit mode on the first calibration sentences."""
    ck = checkpoint(ck_name)
    ex = make_executor(ck_name, Spec(spec.arch, spec.overrides, "explicit", spec.seed), record=True)
    for n, ids in enumerate(ck.tokenize(sentences_file("calib")[:FIT_SENTENCES])):
        ex.begin(("fit", n))
        forward(ck, ids, ex)
    return {k: fit_error_model(*(np.concatenate([s[i].ravel() for s in v]) for i in range(3)))
            for k, v in ex.samples.items()}


def _chunk(ck_name: str, spec: Spec, error_models, items: list[tuple[int, str]]):
    ck = checkpoint(ck_name)
    ex = make_executor(ck_name, spec, error_models)
    out = []
    for idx, sentence in items:
        ex.begin(idx)
        o = forward(ck, ck.tokenize([sentence])[0], ex)
        out.append((o.embedding, [h.astype(np.float32) for h in o.hidden]))
    return out


@dataclass
class Embeddings:
    spec: Spec
    embeddings: np.ndarray
    hidden: list[list[np.ndarray]] = field(repr=False)
    error_models: dict | None = field(default=None, repr=False)


def embed(ck_name: str, sentences: list[str], spec: Spec, *, n_jobs: int = 1, chunk: int | None = None, progress=None,
          error_models: dict | None = None) -> Embeddings:
    """Embeddings (rows in sentence order) and hidden states of every sentence under ``spec``."""
    if not sentences:
        raise ConfigError("no sentences to embed")
    ck = checkpoint(ck_name)
    ck.tokenize(sentences)  # validates every sentence before any work starts
    if spec.arch not in DIGITAL:
        from ..errors import UnknownNameError
        from ..system.arch import arch_names

        try:
            load_arch(spec.arch, dict(spec.overrides))  # bad names / overrides fail here, once
        except UnknownNameError as exc:
            if exc.kind != "architecture":
                raise
            raise UnknownNameError("architecture", spec.arch, list(DIGITAL) + arch_names()) from None
        if spec.mode == "fast" and error_models is None:
            error_models = fit_fast_mode(ck_name, spec)
        if spec.mode not in ("fast", "explicit"):
            raise ConfigError(f"unknown mode {spec.mode!r}; valid: explicit, fast")
    items = list(enumerate(sentences))
    chunk = chunk or max(1, min(8, -(-len(items) // n_jobs)))  # results do not depend on the chunking
    chunks = [(ck_name, spec, error_models, items[i : i + chunk]) for i in range(0, len(items), chunk)]
    wrap = progress(len(chunks)) if progress else None  # progress: a factory(total) → iterator wrapper
    res = [r for part in run_parallel(_chunk, chunks, n_jobs=n_jobs, progress=wrap) for r in part]
    return Embeddings(spec, np.stack([r[0] for r in res]), [r[1] for r in res], error_models)


# ------------------------------------------------------------------------------------------- metrics


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-30)


def pair_similarities(e: np.ndarray) -> np.ndarray:
    n = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-30)
    s = n @ n.T
    return s[np.triu_indices(len(e), 1)]


def metrics(ref: Embeddings, run: Embeddings) -> dict[str, Any]:
    from scipy.stats import spearmanr

    cos = cosine_rows(ref.embeddings, run.embeddings)
    rho = float(spearmanr(pair_similarities(ref.embeddings), pair_similarities(run.embeddings)).statistic) \
        if len(cos) > 2 else float("nan")
    n_layers = len(ref.hidden[0])
    layer = [float(np.mean([np.linalg.norm(h[l] - r[l]) / np.linalg.norm(r[l]) for h, r in zip(run.hidden, ref.hidden)]))
             for l in range(n_layers)]
    return {"label": run.spec.label, "cosine_mean": float(cos.mean()), "cosine_min": float(cos.min()),
            "spearman": rho, "layer_error": layer, "cosine": cos.tolist()}


def budget_specs(arch: str, mode: str, seed: int, overrides: dict | None = None) -> list[tuple[str, Spec]]:
    """The accuracy budget's rows: INT8, the ideal crossbar, each non-ideality alone, all together."""
    base = dict(overrides or {})
    off = {f"analog.{k}": v for d in NONIDEALITIES.values() for k, v in d.items()}
    rows = [("int8 digital", Spec("int8")),
            ("crossbar, ideal devices", Spec(arch, tuple(sorted({**base, **off}.items())), mode, seed))]
    for name, fields_ in NONIDEALITIES.items():
        only = {k: v for k, v in off.items() if k.split(".", 1)[1] not in fields_}
        rows.append((f"+ {name} only", Spec(arch, tuple(sorted({**base, **only}.items())), mode, seed)))
    rows.append(("all nominal", Spec(arch, tuple(sorted(base.items())), mode, seed)))
    rows.append(("all nominal but stuck-at", Spec(arch, tuple(sorted({**base, "analog.stuck_off_rate": 0.0,
                                                                        "analog.stuck_on_rate": 0.0}.items())), mode, seed)))
    return rows


# --------------------------------------------------------------------------------------- sweeps


def sweep_points(name: str, arch: str, base: dict) -> list[tuple[str, dict]]:
    """(label, overrides) of one named sweep around ``base`` overrides of ``arch``."""
    a = load_arch(arch, base)
    c, an = a.compute, a.analog
    if name == "noise":
        off = {f"analog.{k}": v for n, d in NONIDEALITIES.items() if n != "rtn" for k, v in d.items()}
        pts = []
        for mult in (1, 5, 18):
            pts.append((f"noise {mult}x, alone", {**base, **off, "analog.rtn_amplitude": an.rtn_amplitude * mult}))
        for mult in (1, 5, 18):
            pts.append((f"noise {mult}x, with the rest", {**base, "analog.rtn_amplitude": an.rtn_amplitude * mult}))
        return pts
    if name == "adc_noise":
        return [(f"ADC noise {v:g} LSB", {**base, "analog.adc_noise_lsb": v}) for v in (0.0, 0.02, 0.05, 0.1, 0.2)]
    if name == "adc_bits":
        return [(f"adc_bits {b}", {**base, "compute.adc_bits": b}) for b in (1, 2, 3, 4, 6, 8)]
    if name == "rows_per_conversion":
        return [(f"rows/conversion {r}", {**base, "compute.rows_per_conversion": r})
                for r in (1, 3, 7, 15, 31, 63, 127, 128) if r <= c.rows]
    if name == "cell_bits":
        return [(f"cell_bits {b}", {**base, "compute.cell_bits": b}) for b in (1, 2, 4)]
    if name == "size":
        return [(f"{n} x {n}", {**base, "compute.rows": n, "compute.cols": n,
                                 "compute.cols_per_adc": min(c.cols_per_adc, n),
                                 "compute.rows_per_conversion": min(c.rows_per_conversion, n)}) for n in (64, 128, 256)]
    if name == "softmax":
        # on ideal devices, so that the softmax unit is the difference that shows
        ideal = {**base, **{f"analog.{k}": v for d in NONIDEALITIES.values() for k, v in d.items()}}
        an = {**ideal, "digital.softmax": "analog", "digital.softmax_mismatch": "trimmed"}
        return [("ideal devices, digital softmax", {**ideal, "digital.softmax": "digital"}),
                ("analog softmax, 27 C, matched branches", {**an, "digital.softmax_mismatch": "none"}),
                ("analog softmax, 27 C, branch mismatch", {**an, "digital.softmax_mismatch": "raw"}),
                ("analog softmax, 27 C, mismatch trimmed", an),
                ("analog softmax, 85 C, fixed gain, trimmed", {**an, "digital.softmax_corner": "hot"}),
                ("analog softmax, 85 C, PTAT gain, trimmed", {**an, "digital.softmax_corner": "hot",
                                                              "digital.softmax_gain": "ptat"})]
    if name == "streaming":
        ideal = {**base, **{f"analog.{k}": v for d in NONIDEALITIES.values() for k, v in d.items()}}
        pts = []
        for enc in ("two_pass", "twos", "offset"):
            for skip in (False, True):
                mode = {"compute.input_sign": enc, "compute.zero_skip": skip}
                tag = enc + (" + zero skip" if skip else "")
                pts.append((f"{tag}, ideal devices", {**ideal, **mode}))
                pts.append((f"{tag}, nominal devices", {**base, **mode}))
        return pts
    if name == "faults":
        # stuck-at faults alone at the preset's rates: unmapped, then mapped with more and more spares
        stuck = {f"analog.{k}": v for d in NONIDEALITIES.values() for k, v in d.items()}
        stuck.update({k: v for k, v in base.items() if not k.startswith("analog.")})
        nominal = load_arch(arch, {k: v for k, v in base.items() if k not in NO_STUCK}).analog  # the preset's rates
        stuck.update({"analog.stuck_off_rate": nominal.stuck_off_rate, "analog.stuck_on_rate": nominal.stuck_on_rate})
        pts = [("stuck-at only, unmapped", {**stuck, "compute.fault_aware": False, "compute.spare_cols": 0})]
        for sp in FAULT_SPARES:
            if sp <= c.cols:
                pts.append((f"stuck-at only, mapped, {sp} spares", {**stuck, "compute.fault_aware": True,
                                                                     "compute.spare_cols": sp}))
        return pts
    raise ConfigError(f"unknown sweep {name!r}; valid: {', '.join(SWEEPS)}")


#: Spare columns per array tried by the ``faults`` sweep.
FAULT_SPARES = (0, 8, 16, 32, 64, 128)
SWEEPS = ("noise", "adc_noise", "adc_bits", "rows_per_conversion", "cell_bits", "size", "softmax", "streaming",
          "faults")
NO_STUCK = {"analog.stuck_off_rate": 0.0, "analog.stuck_on_rate": 0.0}


def _row(ck_name: str, label: str, ref: Embeddings, spec: Spec, sentences, n_jobs: int) -> dict:
    import time

    t = time.perf_counter()
    try:
        run = embed(ck_name, sentences, spec, n_jobs=n_jobs)
    except ConfigError as exc:  # an impossible sweep point records its error
        return {"row": label, "label": spec.label, "error": str(exc)}
    m = metrics(ref, run)
    m.update(row=label, seconds=time.perf_counter() - t, overrides=dict(spec.overrides))
    return m


def evaluate(ck_name: str, arch: str, *, sentences: list[str] | None = None, mode: str = "fast", seed: int = 0,
             overrides: dict | None = None, budget: bool = True, sweeps: tuple[str, ...] = (),
             sweep_base: str = "no-stuck", validate: int = 2, n_jobs: int = 1, log=print) -> dict:
    """The accuracy report of ``arch`` on ``sentences`` (default: the shipped evaluation set)."""
    import time

    t0 = time.perf_counter()
    sentences = sentences or sentences_file("eval")
    overrides = dict(overrides or {})
    load_arch(arch, overrides)
    ref = embed(ck_name, sentences, Spec("float"))
    out: dict[str, Any] = {"model": ck_name, "arch": arch, "mode": mode, "seed": seed, "overrides": overrides,
                           "sentences": len(sentences), "tokens": [int(len(i)) for i in checkpoint(ck_name).tokenize(sentences)],
                           "rows": [], "sweeps": {}, "validation": None}
    rows = budget_specs(arch, mode, seed, overrides) if budget else [("all nominal", Spec(arch, tuple(sorted(overrides.items())), mode, seed))]
    for label, spec in rows:
        r = _row(ck_name, label, ref, spec, sentences, n_jobs)
        out["rows"].append(r)
        log(_line(r))
    if validate and mode == "fast" and arch not in DIGITAL:
        # the explicit mode is slow (every conversion): check on the shortest sentences
        pick = sorted(sorted(range(len(sentences)), key=lambda i: (out["tokens"][i], i))[:validate])
        sub = [sentences[i] for i in pick]
        vref = Embeddings(ref.spec, ref.embeddings[pick], [ref.hidden[i] for i in pick])
        val = []
        for label, ov in (("all nominal", overrides), ("all nominal but stuck-at", {**overrides, **NO_STUCK})):
            tf = time.perf_counter()
            fast = metrics(vref, embed(ck_name, sub, Spec(arch, tuple(sorted(ov.items())), "fast", seed), n_jobs=n_jobs))
            tf = time.perf_counter() - tf
            te = time.perf_counter()
            expl = metrics(vref, embed(ck_name, sub, Spec(arch, tuple(sorted(ov.items())), "explicit", seed), n_jobs=n_jobs))
            te = time.perf_counter() - te
            val.append({"row": label, "fast": fast, "explicit": expl, "fast_s": tf, "explicit_s": te})
            log(f"validation {label}: cosine fast {fast['cosine_mean']:.4f} vs explicit {expl['cosine_mean']:.4f} "
                f"on {len(sub)} sentences (explicit {te:.0f} s)")
        out["validation"] = val
    from .activity import measure, table_rows

    prof = measure(ck_name, sentences, "this run", seq_len=None)
    out["activity"] = {"source": prof.source, "rows": table_rows(prof)}
    base = {**overrides, **NO_STUCK} if sweep_base == "no-stuck" else overrides
    for name in sweeps:
        res = []
        for label, ov in sweep_points(name, arch, base):
            r = _row(ck_name, label, ref, Spec(arch, tuple(sorted(ov.items())), mode, seed), sentences, n_jobs)
            res.append(r)
            log(_line(r))
        out["sweeps"][name] = res
    out["seconds"] = time.perf_counter() - t0
    return out


def _line(r: dict) -> str:
    if "error" in r:
        return f"  {r['row']:<34} error: {r['error']}"
    return (f"  {r['row']:<34} cosine {r['cosine_mean']:.4f} (min {r['cosine_min']:.4f})  spearman {r['spearman']:.4f}  "
            f"last-layer error {r['layer_error'][-1]:.3f}")
