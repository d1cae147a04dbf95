import json

import numpy as np
import pytest

from accelerators import (
    InputError,
    LayerTensor,
    load_workload,
    workload_from_shapes,
    workload_from_tensors,
    workload_summary,
)
from accelerators.stats import act_mask
from accelerators.workload import layers_of


def test_lfc_and_cnv_shapes():
    lfc = workload_from_shapes("lfc", 0.9)
    assert [(lt.rows, lt.cols) for lt in layers_of(lfc)] == [
        (1024, 784),
        (1024, 1024),
        (1024, 1024),
        (10, 1024),
    ]
    cnv = workload_from_shapes("cnv", 0.9)
    got = [(lt.rows, lt.cols, lt.out_pixels) for lt in layers_of(cnv)]
    assert got == [
        (64, 27, 900),
        (64, 576, 784),
        (128, 576, 144),
        (128, 1152, 100),
        (256, 1152, 9),
        (256, 2304, 1),
        (512, 256, 1),
        (512, 512, 1),
        (10, 512, 1),
    ]
    assert list(cnv.edges) == list(zip(cnv.graph["order"], cnv.graph["order"][1:], strict=False))


def test_exact_nonzero_count_and_signs():
    g = workload_from_shapes([{"kind": "linear", "in": 30, "out": 20}], sparsity=0.85, seed=4)
    w = layers_of(g)[0].weight
    assert np.count_nonzero(w) == round(0.15 * 600)  # 90
    assert set(np.unique(w)) == {-1, 0, 1}
    again = workload_from_shapes([{"kind": "linear", "in": 30, "out": 20}], sparsity=0.85, seed=4)
    assert np.array_equal(layers_of(again)[0].weight, w)


def test_shapes_must_chain():
    a = LayerTensor("a", np.ones((4, 3), np.int8))
    b = LayerTensor("b", np.ones((2, 5), np.int8))
    with pytest.raises(InputError) as err:
        workload_from_tensors([a, b])
    assert err.value.field == "b.shape" and "'a'" in err.value.allowed
    c1 = LayerTensor("c1", np.ones((8, 3, 3, 3), np.int8), kind="conv2d", out_pixels=4)
    c2 = LayerTensor("c2", np.ones((8, 4, 3, 3), np.int8), kind="conv2d", out_pixels=1)
    with pytest.raises(InputError, match="c2.shape"):
        workload_from_tensors([c1, c2])
    # flatten after a conv: cols = 8 channels x k pixels, k <= 4
    workload_from_tensors([c1, LayerTensor("f", np.ones((2, 32), np.int8))])
    with pytest.raises(InputError, match="f.shape"):
        workload_from_tensors([c1, LayerTensor("f", np.ones((2, 40), np.int8))])
    with pytest.raises(InputError, match="layer name"):
        workload_from_tensors([a, LayerTensor("a", np.ones((2, 4), np.int8))])


def test_values_outside_ternary_rejected():
    with pytest.raises(InputError, match="weight"):
        workload_from_tensors([LayerTensor("a", np.array([[2, 0]]))])


def test_act_mask_exact_density():
    g = workload_from_shapes(
        [{"kind": "conv2d", "in": 4, "out": 2, "out_pixels": 5}], 0.5, act_density=0.25
    )
    m = act_mask(g, "conv2d0", seed=1)
    assert m.shape == (5, 36) and (m.sum(axis=1) == 9).all()
    assert act_mask(workload_from_shapes("lfc", 0.5, act_density=1.0), "fc0") is None


def test_load_workload_files(tmp_path):
    t = tmp_path / "w.toml"
    t.write_text(
        'sparsity = 0.5\n[[layers]]\nkind = "linear"\nin = 8\nout = 4\n'
        '[[layers]]\nkind = "linear"\nin = 4\nout = 2\nsparsity = 0.0\n'
    )
    g = load_workload(t)
    assert [lt.nnz for lt in layers_of(g)] == [16, 8]
    j = tmp_path / "w.json"
    j.write_text(json.dumps({"layers": [{"kind": "linear", "in": 3, "out": 3}]}))
    assert layers_of(load_workload(j))[0].rows == 3
    (tmp_path / "bad.toml").write_text("[[layers]\n")
    with pytest.raises(InputError, match="not valid TOML"):
        load_workload(tmp_path / "bad.toml")
    (tmp_path / "empty.toml").write_text("sparsity = 0.5\n")
    with pytest.raises(InputError, match="layers"):
        load_workload(tmp_path / "empty.toml")
    with pytest.raises(InputError, match="not found"):
        load_workload(tmp_path / "nope.toml")
    with pytest.raises(InputError, match="workload"):
        workload_from_shapes("resnet", 0.5)


def test_summary_counts():
    s = workload_summary(workload_from_shapes("lfc", 0.9))
    assert s["weights"] == 784 * 1024 + 2 * 1024 * 1024 + 10240
    assert s["sparsity"] == pytest.approx(0.9, abs=1e-6)
    assert s["dense_macs"] == s["weights"]


def test_like_shares_the_statistics_of_the_same_tensor_objects_only():
    from accelerators.stats import layer_stats

    a, b = layers_of(workload_from_shapes("lfc", 0.9))[:2]
    base = workload_from_tensors([a, b])
    st_a = layer_stats(base, a.name, 64, 5)
    b2 = LayerTensor(b.name, b.weight.copy())  # equal values, another object
    variant = workload_from_tensors([a, b2], like=base)
    assert layer_stats(variant, a.name, 64, 5) is st_a  # shared, not recomputed
    assert variant.nodes[b.name]["cache"] is not base.nodes[b.name]["cache"]
    assert len(variant.nodes[b.name]["cache"]) == 0


def test_layer_cache_keeps_the_recent_hardware_settings_and_results_do_not_change():
    from accelerators import load_hw, simulate
    from accelerators.layer_cache import MAX_GROUPS

    shapes = [{"kind": "linear", "in": 96, "out": 40, "act_density": 0.5}]
    base = load_hw("default").replace(zero_skip="weights+activations")
    n_pes = list(range(1, 2 * MAX_GROUPS + 3))

    def reports(g, ns):
        out = []
        for n in ns:
            for fidelity in ("simpy", "analytical"):
                r = simulate(g, base.replace(n_pe=n), fidelity=fidelity).to_dict()
                r.pop("wall_s", None)
                out.append(r)
        return out

    g = workload_from_shapes(shapes, sparsity=0.8, seed=1)
    first = reports(g, n_pes)
    cache = g.nodes[g.graph["order"][0]]["cache"]
    assert len(cache.groups()) == MAX_GROUPS  # the least recent settings were dropped
    assert cache.groups()[-1][0] == n_pes[-1]
    assert reports(g, n_pes) == first  # dropped arrays come back the same
    fresh = workload_from_shapes(shapes, sparsity=0.8, seed=1)
    assert reports(fresh, n_pes[:2]) == first[:4]
