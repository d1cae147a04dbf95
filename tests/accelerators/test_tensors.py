import numpy as np
import pytest

from accelerators import InputError, LayerTensor, load_ternary_npz, save_ternary_npz


def test_layer_counts_by_hand():
    w = np.array([[1, 0, -1], [0, 0, 1]], dtype=np.int8)
    lt = LayerTensor("fc", w, scale=0.5)
    assert (lt.rows, lt.cols, lt.nnz) == (2, 3, 3)
    assert lt.sparsity == pytest.approx(0.5)


def test_conv_matrix_is_out_by_in_kh_kw():
    w = np.zeros((4, 3, 3, 3), dtype=np.int8)
    w[1, 2, 0, 1] = -1
    lt = LayerTensor("c", w, kind="conv2d", out_pixels=900)
    assert lt.matrix.shape == (4, 27)
    assert lt.matrix[1, 2 * 9 + 1] == -1


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"weight": np.array([[2, 0]])}, "fc.weight"),
        ({"weight": np.ones((2, 2, 1))}, "fc.weight.shape"),
        ({"weight": np.ones((2, 2)), "out_pixels": 0}, "fc.out_pixels"),
        ({"weight": np.ones((2, 2)), "act_density": 0.0}, "fc.act_density"),
        ({"weight": np.ones((2, 2)), "kind": "lstm"}, "fc.kind"),
    ],
)
def test_bad_tensors_name_the_field(kwargs, field):
    with pytest.raises(InputError) as err:
        LayerTensor("fc", **kwargs)
    assert err.value.field == field


def test_npz_round_trip(tmp_path):
    layers = [
        LayerTensor("c0", np.ones((2, 1, 3, 3), np.int8), 0.25, "conv2d", 16, 1.0),
        LayerTensor("f1", -np.eye(3, 32, dtype=np.int8), 0.5, "linear", 1, 0.4),
    ]
    save_ternary_npz(tmp_path / "t.npz", layers)
    back = load_ternary_npz(tmp_path / "t.npz")
    for a, b in zip(layers, back, strict=True):
        assert (a.name, a.kind, a.out_pixels) == (b.name, b.kind, b.out_pixels)
        assert a.scale == pytest.approx(b.scale) and a.act_density == pytest.approx(b.act_density)
        np.testing.assert_array_equal(a.weight, b.weight)


def test_npz_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_ternary_npz(tmp_path / "missing.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a valid ternary.npz"):
        load_ternary_npz(tmp_path / "bad.npz")


def test_network_larger_than_dram_is_refused():
    from accelerators import HardwareConfig, simulate, workload_from_shapes

    g = workload_from_shapes([{"kind": "linear", "in": 1024, "out": 1024}], sparsity=0.0)
    # dense ternary: 1024 * 1024 * 2 bits = 0.25 MiB
    cfg = HardwareConfig(weight_format="dense-ternary", zero_skip="none", dram_mib=0.2)
    with pytest.raises(InputError) as err:
        simulate(g, cfg, fidelity="analytical")
    assert err.value.field == "dram_mib" and "0.25 MiB" in str(err.value)
    assert simulate(g, cfg.replace(dram_mib=0.25), fidelity="analytical").cycles > 0
