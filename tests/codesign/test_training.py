"""Training: config validation, the three stages end to end, feedback hook, reproducibility, runs."""

import json
import os

import numpy as np
import pytest
import torch
from conftest import tiny_config
from hypothesis import given, settings
from hypothesis import strategies as st

from accelerators import InputError, load_ternary_npz
from codesign.feedback import CostProvider, Feedback
from codesign.layers import quant_layers
from codesign.regularizer import add_capture_grad_, capture_penalty
from codesign.training import TrainConfig, load_run, train


@pytest.mark.parametrize(
    "field, value",
    [
        ("dataset", "imagenet"),
        ("model", "resnet"),
        ("method", "quaternary"),
        ("epochs", -1),
        ("retrain_epochs", -2),
        ("reg_strength", -0.1),
        ("l2", -1e-4),
        ("capture", float("nan")),
        ("threshold", 1.5),
        ("lr", 0.0),
        ("batch_size", 0),
        ("threshold_rule", "median"),
        ("reg_update", "adamw"),
    ],
)
def test_config_rejects_bad_values_naming_the_field(field, value):
    with pytest.raises(InputError, match=f"^{field} = "):
        TrainConfig(**{field: value})


def test_config_round_trips_through_a_dict():
    c = tiny_config()
    assert TrainConfig.from_dict(json.loads(json.dumps(c.to_dict()))) == c
    with pytest.raises(InputError, match="config"):
        TrainConfig.from_dict({"bogus": 1})


def test_three_stages_end_to_end(tiny_run):
    r = tiny_run.report
    assert [s["name"] for s in r["stages"]] == ["train", "prune", "retrain"]
    assert [s["epochs"] for s in r["stages"]] == [2, 0, 1]
    train_s, prune_s, retrain_s = r["stages"]
    # pruning removes exactly the weights that already quantize to 0: same function
    assert prune_s["accuracy"] == train_s["accuracy"]
    assert prune_s["sparsity"] == train_s["sparsity"]
    assert retrain_s["sparsity"] >= prune_s["sparsity"]
    assert r["accuracy"] > 0.5  # 10 classes: chance is 0.1
    assert [lt["name"] for lt in r["layers"]] == ["fc1", "fc2"]
    assert r["layers"][0]["shape"] == [32, 64]
    nnz = sum(lt["nnz"] for lt in r["layers"])
    assert r["nnz"] == nnz and r["sparsity"] == pytest.approx(1 - nnz / (32 * 64 + 10 * 32))
    sb = r["size_bits"]
    assert sb["fp32"] == 32 * (32 * 64 + 320)
    assert sb["ternary"] == 2 * (32 * 64 + 320) + 64
    assert sb["model"] == sb["sparse_ternary"]
    assert r["compression_vs_binary"] == pytest.approx(sb["binary"] / sb["sparse_ternary"])
    assert r["compression_vs_ternary"] == pytest.approx(sb["ternary"] / sb["sparse_ternary"])
    # the default provider was asked once per stage-1 epoch
    assert [(f["period"], f["epoch"]) for f in r["feedback"]] == [(0, 0), (1, 1)]
    assert r["feedback"][0]["accuracy"] is None
    assert r["feedback"][1]["accuracy"] == pytest.approx(train_s["accuracy"]) or True
    assert r["feedback"][0]["coefficients"] == {"fc1": 1.0, "fc2": 1.0}


def test_masks_hold_after_retraining(tiny_run):
    for _, layer in quant_layers(tiny_run.model):
        pruned = layer.mask == 0
        assert pruned.any()
        assert (layer.weight[pruned] == 0).all()
        assert (layer.ternary_weight()[pruned] == 0).all()


def test_regularizer_makes_the_network_sparser():
    plain = train(tiny_config(reg_strength=0.0)).report["sparsity"]
    strong = train(tiny_config(reg_strength=3e-2)).report["sparsity"]
    assert strong > plain + 0.2


def test_same_seed_same_report():
    def numbers(r):
        r = dict(r)
        r.pop("wall_s")
        r["stages"] = [{k: v for k, v in s.items() if k != "wall_s"} for s in r["stages"]]
        return r

    a = train(tiny_config(seed=11, epochs=1)).report
    b = train(tiny_config(seed=11, epochs=1)).report
    c = train(tiny_config(seed=12, epochs=1)).report
    assert numbers(a) == numbers(b)
    assert numbers(a) != numbers(c)


@pytest.mark.parametrize("method", ["fp32", "binary", "ternary"])
def test_baselines_share_the_code_path(method):
    r = train(tiny_config(method=method, epochs=1, retrain_epochs=1)).report
    assert [s["name"] for s in r["stages"]] == ["train", "retrain"]
    assert r["feedback"] == []
    key = {"fp32": "fp32", "binary": "binary", "ternary": "ternary"}[method]
    assert r["size_bits"]["model"] == r["size_bits"][key]
    if method == "binary":
        assert r["sparsity"] == 0.0 and r["compression_vs_binary"] == 1.0
    if method == "ternary":
        assert r["threshold_rule"] == "twn" and r["compression_vs_ternary"] == 1.0


class RowCost(CostProvider):
    """Per-row coefficients for fc1 (rows 0..15 cheap, 16..31 dear), every 5 steps."""

    period_steps = 5
    name = "rows"

    def __init__(self):
        self.calls = []

    def feedback(self, layers):
        self.calls.append([lt.name for lt in layers])
        rows = np.where(np.arange(32) < 16, 0.0, 8.0)
        return Feedback(
            {"fc1": rows, "fc2": 0.5},
            {"cycles": 1000.0 - len(self.calls), "strength_scale": 2.0},
        )


def test_per_row_coefficients_and_step_periods():
    provider = RowCost()
    res = train(tiny_config(epochs=1, reg_strength=1e-2), cost_provider=provider)
    fb = res.report["feedback"]
    steps_per_epoch = int(np.ceil(1437 / 64))
    assert [f["step"] for f in fb] == list(range(0, steps_per_epoch, 5))
    assert provider.calls[0] == ["fc1", "fc2"]
    assert fb[0]["coefficients"] == {"fc1": 4.0, "fc2": 0.5}
    assert fb[2]["cycles"] == 997.0 and fb[0]["strength_scale"] == 2.0
    assert res.report["cost_provider"] == "rows"
    # the dear rows are pulled to zero far harder than the free ones
    w = dict(quant_layers(res.model))["fc1"].ternary_weight()
    assert (w[16:] != 0).sum() < (w[:16] != 0).sum()


class ColumnCost(CostProvider):
    """Per-weight coefficients: fc1's input columns 32..63 dear, 0..31 free."""

    name = "columns"

    def feedback(self, layers):
        cols = np.where(np.arange(64) < 32, 0.0, 8.0)
        return Feedback({"fc1": np.tile(cols, (32, 1)), "fc2": 1.0})


@pytest.mark.parametrize("reg_update, strength", [("gradient", 1e-2), ("proximal", 0.2)])
def test_per_weight_coefficients_pull_the_dear_columns(reg_update, strength):
    config = tiny_config(epochs=1, reg_strength=strength, reg_update=reg_update)
    res = train(config, cost_provider=ColumnCost())
    assert res.report["feedback"][0]["coefficients"]["fc1"] == 4.0
    w = dict(quant_layers(res.model))["fc1"].ternary_weight()
    assert (w[:, 32:] != 0).sum() < (w[:, :32] != 0).sum()
    if reg_update == "proximal":  # free columns feel no pull at all; dear ones 8 x 0.2 > 1
        assert (w[:, 32:] != 0).sum() < 0.1 * (w[:, :32] != 0).sum()


def test_proximal_step_shrinks_each_weight_by_lr_times_strength_times_its_coefficient():
    """One batch, one step: the proximal run's weights are the plain run's, shrunk by hand."""
    kw = dict(epochs=1, retrain_epochs=0, train_limit=64, capture=1000.0, threshold=0.01)
    plain = train(tiny_config(reg_strength=0.0, **kw), cost_provider=RowCost())
    prox = train(
        tiny_config(reg_strength=0.05, reg_update="proximal", **kw), cost_provider=RowCost()
    )
    a = dict(quant_layers(plain.model))["fc1"].weight.detach()
    b = dict(quant_layers(prox.model))["fc1"].weight.detach()
    # RowCost: fc1 rows 0..15 cost 0, rows 16..31 cost 8, strength_scale 2; lr 1e-2 at step 0
    shrink = 1e-2 * 0.05 * 2.0 * torch.where(torch.arange(32) < 16, 0.0, 8.0)[:, None]
    expected = torch.sign(a) * (a.abs() - shrink).clamp(min=0)
    kept = (a != 0) & (b != 0)  # pruning (|w| < 1 % of max|W|) drops a few in either run
    assert kept.float().mean() > 0.5
    assert torch.allclose(b[kept], expected[kept], atol=1e-7)
    assert torch.equal(b[:16], a[:16])  # free rows: exactly Adam's step


def test_coefficient_of_the_wrong_shape_is_refused():
    class Bad(CostProvider):
        def feedback(self, layers):
            return Feedback({"fc1": np.ones(7)})

    with pytest.raises(InputError, match=r"coefficients\['fc1'\].*shape \(32,\) or \(32, 64\)"):
        train(tiny_config(epochs=1), cost_provider=Bad())


def test_save_and_load_run(tiny_run, tmp_path):
    run = tmp_path / "run"
    tiny_run.save(run)
    assert sorted(os.listdir(run)) == ["model.pt", "report.json", "ternary.npz"]
    ckpt = torch.load(run / "model.pt", weights_only=True)
    assert ckpt["config"]["hidden_units"] == [32]
    back = load_run(run)
    x = torch.rand(5, 1, 8, 8)
    tiny_run.model.eval()
    assert torch.equal(back.model(x), tiny_run.model(x))
    assert back.report["accuracy"] == tiny_run.report["accuracy"]
    npz = load_ternary_npz(run / "ternary.npz")
    assert [lt.name for lt in npz] == ["fc1", "fc2"]
    assert np.array_equal(npz[0].weight, tiny_run.layers[0].weight)
    # a second save refuses and leaves the first intact
    before = (run / "report.json").read_bytes()
    with pytest.raises(InputError, match="already holds a run"):
        tiny_run.save(run)
    assert (run / "report.json").read_bytes() == before
    tiny_run.save(run, overwrite=True)


def test_corrupt_checkpoint(tmp_path):
    (tmp_path / "model.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="corrupt"):
        load_run(tmp_path)
    with pytest.raises(InputError, match="no checkpoint"):
        load_run(tmp_path / "empty")
    torch.save({"format": "codesign-run/1", "config": {}, "state_dict": {}}, tmp_path / "model.pt")
    with pytest.raises(InputError, match="loadable"):
        load_run(tmp_path)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-1, 1, allow_nan=False, width=32), min_size=6, max_size=6),
    st.floats(0.01, 0.5),
    st.floats(0.5, 4.0),
)
def test_hand_gradient_matches_autograd_of_the_penalty(values, delta, capture):
    w = torch.tensor(values).reshape(2, 3).requires_grad_()
    coeff = torch.tensor([0.5, 3.0])
    capture_penalty(w, delta, capture, coeff).backward()
    grad = add_capture_grad_(torch.zeros(2, 3), w.detach(), delta, capture, coeff, strength=1.0)
    assert torch.allclose(grad, w.grad)


def test_cnv_trains_on_cifar_files(tmp_path):
    import pickle

    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        d = {b"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), b"labels": [0, 1, 2, 3]}
        (tmp_path / name).write_bytes(pickle.dumps(d, protocol=2))
    cfg = tiny_config(
        dataset="cifar10", data_dir=str(tmp_path), model="cnv", batch_size=10, epochs=1
    )
    res = train(cfg)
    assert [lt.name for lt in res.layers][:2] == ["conv1", "conv2"]
    assert res.layers[0].out_pixels == 900 and res.layers[0].weight.shape == (64, 3, 3, 3)
    for _, layer in quant_layers(res.model):
        assert (layer.weight[layer.mask == 0] == 0).all()


def test_strength_scale_multiplies_the_regularizer():
    class Off(CostProvider):
        def feedback(self, layers):
            return Feedback({lt.name: 1.0 for lt in layers}, {"strength_scale": 0.0})

    off = train(tiny_config(epochs=1), cost_provider=Off()).report
    plain = train(tiny_config(epochs=1, reg_strength=0.0)).report
    on = train(tiny_config(epochs=1)).report
    assert off["sparsity"] == plain["sparsity"] and off["accuracy"] == plain["accuracy"]
    assert on["sparsity"] > plain["sparsity"]
