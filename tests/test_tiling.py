"""Weight tiling onto crossbar arrays, checked by hand counts."""

import pytest

from cosim.errors import ConfigError
from cosim.mapping import tile_matrix, tile_model
from cosim.workloads import load_model


def test_one_matrix_by_hand():
    # 1024 x 1024 INT8, 2-bit cells, differential: 7 magnitude bits -> 4 slices x 2 sides = 8 columns per weight
    t = tile_matrix("q", 1024, 1024, rows=128, cols=128, weight_bits=8, cell_bits=2)
    assert (t.slices, t.sides, t.row_tiles, t.col_tiles, t.arrays) == (4, 2, 8, 64, 512)
    # offset encoding: 8 bits -> 4 slices, one side
    t = tile_matrix("q", 1024, 1024, rows=128, cols=128, weight_bits=8, cell_bits=2, sign="offset")
    assert (t.slices, t.sides, t.arrays) == (4, 1, 256)
    # 1-bit cells, ragged edges: 300 x 70, 7 slices x 2 = 980 columns -> 8 column tiles, 3 row tiles
    t = tile_matrix("x", 300, 70, rows=128, cols=128, weight_bits=8, cell_bits=1)
    assert (t.row_tiles, t.col_tiles, t.arrays) == (3, 8, 24)


def test_bert_large_array_count():
    """24 layers x (4 H x H + 2 H x 4H); per layer 4*512 + 2*2048 = 6144 arrays of 128 x 128."""
    t = tile_model(load_model("bert-large"), weight_bits=8, cell_bits=2)
    assert t.arrays == 24 * (4 * 512 + 2 * 2048)
    assert t.utilisation == pytest.approx(1.0)  # every dimension a multiple of 128
    # every INT8 weight takes 4 slices x 2 sides = 8 cells; 12,582,912 weights per layer
    assert sum(m.cells_used for m in t.matrices) == 24 * 12_582_912 * 8


def test_gqa_and_swiglu_matrices():
    t = tile_model(load_model("llama-2-7b"))
    assert {m.name for m in t.matrices} >= {"gate_proj", "up_proj", "down_proj"}
    assert 0 < t.utilisation <= 1


def test_bad_tiling():
    with pytest.raises(ConfigError, match="differential"):
        tile_matrix("x", 4, 4, rows=4, cols=4, weight_bits=1, cell_bits=1)
    with pytest.raises(ConfigError, match="unknown sign"):
        tile_matrix("x", 4, 4, rows=4, cols=4, weight_bits=8, cell_bits=1, sign="twos")
    with pytest.raises(ConfigError):
        tile_matrix("x", 0, 4, rows=4, cols=4, weight_bits=8, cell_bits=1)
