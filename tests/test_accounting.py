"""The event accounting audited by hand: `cosim run --json`'s events of a one-layer BERT on every preset.

Every expected count below is derived in this file from the workload and the preset's numbers —
never from cosim's helpers.  The workload (tests/data/tiny-bert.json, seq 32, batch 1): T = 32
tokens, H = 256, 4 heads of d = 64, FFN F = 512, one post-norm encoder layer.  Its operations:

    embeddings: lookup (T·H), position + type adds (2·T·H), norm (T·H)
    Q, K, V, O projections 256→256; Q·Kᵀ and scores·V per head (4 × 32 queries × 32 keys × 64);
    softmax (4·32·32 exponentials); residual add + norm; FFN up 256→512, GELU, down 512→256;
    residual add + norm.

Activity is set to the random-data rule (every encoded bit 1 with probability ½): streamed INT8 in
two passes is 2 × 7 cycles, each driving ¼ of the rows (half the values have the pass's sign, half
their magnitude bits are 1).
"""

import json
import math
from pathlib import Path

import pytest

from cosim.cli import main

TINY = str(Path(__file__).parent / "data" / "tiny-bert.json")
T, H, HEADS, D, F = 32, 256, 4, 64, 512
#: (k, n) of every weight product, in order
WEIGHTS = {"q": (H, H), "k": (H, H), "v": (H, H), "o": (H, H), "up": (H, F), "down": (F, H)}
UNIFORM = ["compute.activity=uniform", "compute.input_activity=0.5", "compute.cell_density=0.5",
           "compute.input_sign=two_pass", "compute.zero_skip=false"]


def run_events(tmp_path, arch: str, sets: list[str]) -> dict:
    out = tmp_path / f"{arch}.json"
    argv = ["run", "--model", TINY, "--arch", arch, "--seq-len", str(T), "--json", str(out)]
    for s in sets:
        argv += ["--set", s]
    assert main(argv) == 0
    return json.loads(out.read_text())


def common_events() -> dict:
    """Element operations and buffer traffic: the same on every preset (one byte per INT8 value)."""
    elements = {"embedding": T * H, "add": 2 * T * H + T * H + T * H, "layernorm": 3 * T * H, "gelu": T * F,
                "softmax": HEADS * T * T}
    # element ops read and write their elements: 2 bytes each (the lookup included)
    buf = 2 * sum(elements.values())
    # weight products: the activation operand in (written or streamed) and every output out
    buf += sum(k * T + T * n for k, n in WEIGHTS.values())
    # Q·Kᵀ: Q streamed + K written + scores out; scores·V: scores streamed + V written + context out
    buf += (HEADS * T * D + HEADS * D * T + HEADS * T * T) + (HEADS * T * T + HEADS * T * D + HEADS * T * D)
    outputs = sum(T * n for _, n in WEIGHTS.values()) + HEADS * T * T + HEADS * T * D
    return {"layernorm_element": 3 * T * H, "add_element": 4 * T * H, "gelu_element": T * F,
            "softmax_element": HEADS * T * T, "buffer_byte": buf}, outputs


def product_counts(k: int, stored_values: float, streamed: float, inst: int, cpv: int, rows: int, cols: int,
                   rpc: int, cycles: list[float]) -> dict:
    """One product, by the rules of the module docstring of cosim.system.events, written out here."""
    stored_cols = stored_values * cpv
    col_tiles = math.ceil(stored_cols / cols)
    tiles = [rows] * (k // rows) + ([k % rows] if k % rows else [])
    groups = sum(math.ceil(r / rpc) for r in tiles)  # per cycle, fixed groups
    vec = inst * streamed
    return {"crossbar_read": vec * col_tiles * groups * len(cycles),
            "adc_conversion": vec * stored_cols * groups * len(cycles),
            "dac_drive": vec * col_tiles * k * sum(cycles),
            # fault-aware mapping: per vector, row tile and stored column, the complement's undo (a bound)
            "complement_fix": vec * stored_cols * len(tiles)}


def add(total: dict, part: dict, factor: float = 1.0) -> None:
    for key, v in part.items():
        total[key] = total.get(key, 0) + factor * v


def test_large_small_by_hand(tmp_path):
    """large-small: 128 x 128 arrays of 1-bit cells; stored INT8 activations sign-magnitude (7 magnitude
    bits on a + or a − column: 14 cells per value); weights streamed from the memory crossbars; 3 rows
    per conversion.  The pool holds the largest written operand once: V of the 4 heads (32 rows x 64
    values x 14 cells = 896 columns, 7 arrays each, 28 in all; the FFN-down input needs 4 x 4 = 16,
    Kᵀ 4 x 4 = 16) — one tile of 96 arrays.  Fault-aware mapping (shipped): one complement fix per
    conversion (counted as an upper bound) and 2 bits of the fault map read per cell written."""
    res = run_events(tmp_path, "large-small", UNIFORM)
    ev = res["events"]
    assert res["plan"]["tiles"] == 1
    cyc = [0.25] * 14
    cpv = 14
    exp: dict = {}
    arrays = 96
    writes = 0
    for k, n in WEIGHTS.values():
        # stored: the layer input Xᵀ (k rows x 32 tokens); streamed: the n weight columns
        add(exp, product_counts(k, T, n, 1, cpv, 128, 128, 3, cyc))
        arrays_one = math.ceil(k / 128) * math.ceil(T * cpv / 128)
        copies = min(n, arrays // arrays_one)  # replicated over idle arrays (assumption A5), every copy written
        writes += k * T * cpv * copies
    # Q·Kᵀ: Kᵀ stored (64 rows x 32 keys = 448 columns, 4 arrays) per head, 32 queries streamed
    add(exp, product_counts(D, T, T, HEADS, cpv, 128, 128, 3, cyc))
    writes += HEADS * D * T * cpv * min(T, arrays // (HEADS * 4))
    # scores·V: V stored (32 rows x 64 values = 896 columns, 7 arrays) per head, 32 score rows streamed
    add(exp, product_counts(T, D, T, HEADS, cpv, 128, 128, 3, cyc))
    writes += HEADS * T * D * cpv * min(T, arrays // (HEADS * 7))
    exp["sense_amp"] = exp["shift_add"] = exp["adc_conversion"]  # no sample-and-hold: a sense per conversion
    exp["cell_write"] = writes
    # per write, every written cell is compared with the cell of its row in each of the array's 128 + 128
    # columns (128 spares, assumption A15), from the array's whole fault map (2 bits per cell of 256
    # columns per 128 logical ones)
    exp["map_bit_compare"] = writes * 256
    # memory crossbars (4-bit cells): every weight bit read once, the embedding rows, the fault map; the KV
    # cache written
    exp["memory_cell_read"] = sum(k * n for k, n in WEIGHTS.values()) * 8 / 4 + T * H * 8 / 4 + writes * 2 * 256 / 128 / 4
    exp["memory_cell_write"] = 2 * HEADS * D * T * 8 / 4
    common, outputs = common_events()
    exp.update(common)
    exp["noc_byte_hop"] = outputs * max(1.0, 2 / 3 * math.sqrt(1))
    assert set(ev) == set(exp)
    for key in exp:
        assert ev[key] == pytest.approx(exp[key], rel=1e-12, abs=0), key


@pytest.mark.parametrize("arch, cell_bits, adc_enc", [("multi-bit", 2, 1), ("single-bit", 1, 0)])
def test_weight_stationary_by_hand(tmp_path, arch, cell_bits, adc_enc):
    """multi-bit / single-bit: weights stored differentially (7 magnitude bits per side over cells of
    ``cell_bits``), activations streamed, all 128 rows per conversion, a sample-and-hold per conversion."""
    ev = run_events(tmp_path, arch, UNIFORM)["events"]
    cyc = [0.25] * 14
    cpv = math.ceil(7 / cell_bits) * 2
    exp: dict = {}
    arrays = 0
    for k, n in WEIGHTS.values():
        add(exp, product_counts(k, n, T, 1, cpv, 128, 128, 128, cyc))  # stored W (k x n), T tokens streamed
        arrays += math.ceil(k / 128) * math.ceil(n * cpv / 128)
    add(exp, product_counts(D, T, T, HEADS, cpv, 128, 128, 128, cyc))  # Kᵀ written per head
    add(exp, product_counts(T, D, T, HEADS, cpv, 128, 128, 128, cyc))  # V written per head
    exp["cell_write"] = HEADS * D * T * cpv + HEADS * T * D * cpv
    exp["sample_hold"] = exp["shift_add"] = exp["adc_conversion"]
    width = 128 + (128 if arch == "multi-bit" else 0)  # spare columns: 128 on multi-bit, none on single-bit
    exp["map_bit_compare"] = exp["cell_write"] * width
    exp["dram_byte"] = T * H  # embeddings off-chip, one byte per value
    arrays += HEADS * (math.ceil(D / 128) * math.ceil(T * cpv / 128) + math.ceil(T / 128) * math.ceil(D * cpv / 128))
    tiles = math.ceil(arrays / 96)
    common, outputs = common_events()
    exp.update(common)
    exp["buffer_byte"] += exp["cell_write"] * 2 * width / 128 / 8  # the written arrays' fault maps, from SRAM
    exp["noc_byte_hop"] = outputs * max(1.0, 2 / 3 * math.sqrt(tiles))
    res = run_events(tmp_path, arch, UNIFORM)
    assert res["plan"]["tiles"] == tiles
    assert set(ev) == set(exp)
    for key in exp:
        assert ev[key] == pytest.approx(exp[key], rel=1e-12, abs=0), key


def test_dac_drives_count_every_array_and_only_driven_rows(tmp_path):
    """Audit items 1 and 2: a row of a stored operand spans col_tiles arrays, each with its own driver;
    a 0 digit drives nothing.  multi-bit, every input bit 1 (two passes: each drives the rows of its
    sign, half of them): the Q projection's 256 rows x 16 column tiles x 32 tokens x 14 cycles x ½ =
    917 504 drives, where the old rule (once per row and cycle, whatever the bit) counted 114 688."""
    ev = run_events(tmp_path, "multi-bit", UNIFORM + ["compute.input_activity=1.0"])["events"]
    per = sum(T * (n * 8 / 128) * k * 14 * 0.5 for k, n in WEIGHTS.values())
    assert T * 16 * 256 * 14 * 0.5 == 917504 == 8 * T * 256 * 14
    att = HEADS * T * (2 * D + 4 * T) * 14 * 0.5  # Kᵀ: 2 column tiles of 64 rows; V: 4 of 32 rows
    assert ev["dac_drive"] == pytest.approx(per + att, rel=1e-12, abs=0)


def test_zero_skip_and_twos_by_hand(tmp_path):
    """Two's complement: 8 cycles of ½ activity.  Zero skipping: per cycle, a row tile of r rows with
    N ~ Binomial(r, a) driven rows makes ⌈N/3⌉ conversions — its expectation written out here with
    exact binomial terms; every row's digit is scanned once per cycle (row selects)."""
    sets = UNIFORM + ["compute.input_sign=twos", "compute.zero_skip=true"]
    ev = run_events(tmp_path, "large-small", sets)["events"]

    def e_groups(r: int, a: float) -> float:
        return sum(math.comb(r, j) * a**j * (1 - a) ** (r - j) * math.ceil(j / 3) for j in range(r + 1))

    cyc = 8
    conv = reads = scans = drives = 0.0
    for k, n in WEIGHTS.values():  # Xᵀ: 32 tokens x 14 cells = 448 columns, 4 arrays
        g = (k // 128) * e_groups(128, 0.5)
        conv += n * T * 14 * g * cyc
        reads += n * 4 * g * cyc
        scans += n * 4 * k * cyc  # each of the 4 arrays of the operand scans its rows
        drives += n * 4 * k * 0.5 * cyc
    for k, s, col_tiles in ((D, T, 4), (T, D, 7)):  # Kᵀ: 64 rows x 32 keys; V: 32 rows x 64 values
        g = e_groups(k, 0.5)
        conv += HEADS * T * s * 14 * g * cyc
        reads += HEADS * T * col_tiles * g * cyc
        scans += HEADS * T * col_tiles * k * cyc
        drives += HEADS * T * col_tiles * k * 0.5 * cyc
    assert ev["adc_conversion"] == pytest.approx(conv, rel=1e-9, abs=0)
    assert ev["crossbar_read"] == pytest.approx(reads, rel=1e-9, abs=0)
    assert ev["row_select"] == pytest.approx(scans, rel=1e-12, abs=0)
    assert ev["dac_drive"] == pytest.approx(drives, rel=1e-12, abs=0)


def test_measured_activity_from_the_profile(tmp_path):
    """With compute.activity = measured the DAC drives of a product are Σ over its cycles of the
    profile's fraction of 1s — read here straight from the shipped JSON: large-small streams the
    weights of `query` (operand b) in two passes: magnitude bits of the positive, then the negative."""
    prof = json.loads((Path(__file__).parent.parent / "workloads" / "activity" / "all-minilm-l6-v2.json").read_text())
    b = prof["products"]["query"]["b"]
    act = b["pos"] + b["neg"]
    assert len(act) == 14 and 0 < sum(act) < 7
    res = run_events(tmp_path, "large-small", ["compute.activity=measured", "compute.zero_skip=false",
                                               "compute.input_sign=two_pass"])
    assert res["activity"]["attn.q_proj"]["stream"] == pytest.approx(act, rel=1e-12, abs=0)
    # stored Xᵀ of the query product: the layer input (operand a), sign-magnitude in 1-bit cells: the mean
    # over its 14 columns of the fraction of 1s, i.e. the mean of the + and − magnitude planes
    a = prof["products"]["query"]["a"]
    assert res["activity"]["attn.q_proj"]["stored_level"] == pytest.approx((sum(a["pos"]) + sum(a["neg"])) / 14,
                                                                           rel=1e-12, abs=0)


def test_peak_power_counts_the_rows_read(tmp_path):
    """Audit item 3: peak DAC power is rows_per_conversion drivers per array per read cycle, not all 128."""
    res = run_events(tmp_path, "large-small", UNIFORM)
    p = res["plan"]["power_peak_by_component_w"]["dac"]
    dac = res["costs"]["dac"]["value"]  # the per-drive energy at half level
    assert p == pytest.approx(96 * 3 * dac / res["plan"]["t_cycle_s"], rel=1e-9, abs=0)
    assert res["plan"]["tiles"] == 1


@pytest.mark.parametrize("input_sign, cycles", [("two_pass", 2 * 7), ("offset", 8), ("twos", 8)])
def test_partial_row_tile_and_times_by_hand(input_sign, cycles):
    """One 200 x 10 stored operand (a full 128-row tile and a 72-row one), 3 streamed vectors, on
    multi-bit (2-bit cells, differential INT8: 8 cells per value, 80 stored columns, one column tile),
    every input bit 1 (uniform activity 1: two passes drive half the rows each, the other encodings all).
    Each cycle reads one 128-row group per tile (2 reads), converts 80 columns per read; the slower
    tile takes one read cycle per bit cycle: stage = cycles · t_cycle, busy = 3 vectors · stage."""
    from cosim.models.adc import load
    from cosim.system.events import Product, Tally, product_events
    from cosim.system.plan import plan_chip
    from cosim.system.prices import prices
    from cosim.system.arch import load_arch
    from cosim.workloads import build_workload, load_model

    a = load_arch("multi-bit", {"compute.read_energy": "isaac", "compute.input_sign": input_sign,
                                "compute.activity": "uniform", "compute.input_activity": 1.0,
                                "compute.fault_aware": False})
    plan = plan_chip(a, build_workload(load_model(TINY), 8))
    tally = Tally()
    p = Product("x", k=200, s=10, v=3, inst=1, steps=1, stream_bits=8, stored_bits=8, written=False)
    busy, stage, written = product_events(a, plan, p, tally, prices(a, plan), 0.0, 1e-7)
    per_cycle = 0.5 if input_sign == "two_pass" else 1.0
    assert tally.events["crossbar_read"] == 3 * cycles * 2
    assert tally.events["adc_conversion"] == 3 * cycles * 2 * 80
    assert tally.events["dac_drive"] == pytest.approx(3 * cycles * 200 * per_cycle, rel=1e-12, abs=0)
    assert written == 0
    t_cycle = max(100e-9, 128 * load("sar-cdac", 8).period)  # the calibrated SAR scans 128 columns
    assert stage * 1e9 == pytest.approx(cycles * t_cycle * 1e9, rel=1e-12)
    assert busy * 1e9 == pytest.approx(3 * cycles * t_cycle * 1e9, rel=1e-12)
