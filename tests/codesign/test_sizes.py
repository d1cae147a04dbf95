"""Size accounting against hand-computed bit counts."""

import numpy as np
import pytest

from accelerators import InputError, LayerTensor
from codesign.sizes import weight_sizes


def test_two_pe_layer_by_hand():
    # PE0 owns rows 0, 2; PE1 owns rows 1, 3. index_bits = 2: gap <= 2 is one entry,
    # each padding entry skips 3 zeros. Each entry is 3 bits.
    w = np.array(
        [
            [1, 0, 0, 0, 0],
            [0, 0, 0, 0, -1],
            [0, 0, 0, 0, 0],
            [0, 1, 0, 0, 0],
        ],
        dtype=np.int8,
    )
    # PE0 CSC positions (2 rows): nonzero at 0 only -> 1 entry.
    # PE1 CSC positions: row 3 (local 1) col 1 -> 3; row 1 (local 0) col 4 -> 8.
    #   gap before 3 is 3 zeros -> 1 padding; gap between 3 and 8 is 4 -> 1 padding.
    # entries = 3 nonzeros + 2 paddings = 5 -> 15 bits, + 32 scale bits.
    s = weight_sizes([LayerTensor("fc", w)], n_pe=2, index_bits=2)
    assert s == {"fp32": 640, "binary": 20 + 32, "ternary": 40 + 32, "sparse_ternary": 15 + 32}


def test_conv_counted_once_as_matrix_and_layers_add_up():
    conv = np.zeros((2, 1, 2, 2), dtype=np.int8)
    conv[0, 0, 0, 0] = 1
    conv[1, 0, 1, 1] = -1
    fc = np.ones((1, 3), dtype=np.int8)
    layers = [LayerTensor("c", conv, kind="conv2d", out_pixels=9), LayerTensor("f", fc)]
    s = weight_sizes(layers, n_pe=1, index_bits=3)
    # conv matrix (2 x 4): positions 0 and 7 (gap 6 <= 6 -> no padding): 2 entries x 4 bits
    # fc (1 x 3): 3 entries x 4 bits
    assert s["sparse_ternary"] == 2 * 4 + 32 + 3 * 4 + 32
    assert s["ternary"] == 8 * 2 + 32 + 3 * 2 + 32
    assert s["fp32"] == 11 * 32


def test_empty_layer_costs_its_scale_only():
    s = weight_sizes([LayerTensor("z", np.zeros((3, 3), dtype=np.int8))], n_pe=2, index_bits=4)
    assert s["sparse_ternary"] == 32


def test_bad_encoding_parameters():
    lt = [LayerTensor("f", np.ones((2, 2), dtype=np.int8))]
    with pytest.raises(InputError, match="n_pe"):
        weight_sizes(lt, n_pe=0)
    with pytest.raises(InputError, match="index_bits"):
        weight_sizes(lt, index_bits=0)


@pytest.mark.parametrize(
    "fmt,kw",
    [
        ("csc", {}),
        ("eie", {"index_bits": 4, "weight_bits": 4}),
        ("dense-ternary", {"zero_skip": "none"}),
        ("dense-binary", {"zero_skip": "none"}),
    ],
)
def test_every_figure_of_stored_weights_agrees(fmt, kw):
    """simulate's weight_bits_stored, `codesign simulate`'s weight_storage_kib, training's
    weight_sizes and benchmarks' per-PE shares all come from accelerators.stored_weight_bits."""
    from accelerators import HardwareConfig, simulate, stored_weight_bits, workload_from_shapes
    from accelerators.sim.plan import plan_layer
    from accelerators.workload import layers_of
    from codesign.simulation import weight_storage_kib

    g = workload_from_shapes("lfc", sparsity=0.93, seed=3)
    cfg = HardwareConfig(n_pe=16, index_bits=kw.pop("index_bits", 3), weight_format=fmt, **kw)
    layers = layers_of(g)
    by_hand = sum(stored_weight_bits(lt.matrix, cfg) for lt in layers)
    for fidelity in ("simpy", "analytical"):
        r = simulate(g, cfg, fidelity=fidelity)
        assert r.weight_bits_stored == by_hand
        assert [lay.weight_bits_stored for lay in r.layers] == [
            stored_weight_bits(lt.matrix, cfg) for lt in layers
        ]
    assert weight_storage_kib(g, cfg) * 8192 == by_hand
    per_pe = sum(int(plan_layer(g, n, cfg).pe_bits.sum()) for n in g.graph["order"])
    if fmt != "eie":  # eie's column pointers live beside the entries, not in pe_bits
        assert per_pe == by_hand
    key = {"csc": "sparse_ternary", "dense-ternary": "ternary", "dense-binary": "binary"}.get(fmt)
    if key:
        sizes = weight_sizes(layers, n_pe=cfg.n_pe, index_bits=cfg.index_bits)
        assert sizes[key] - 32 * len(layers) == by_hand
