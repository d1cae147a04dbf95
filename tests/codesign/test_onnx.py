"""ONNX import/export: round trips give identical cycles; bad files are one line, exit 2."""

import json
import os

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
import torch  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from torch import nn  # noqa: E402

from accelerators import InputError, load_hw, simulate, workload_from_tensors  # noqa: E402
from codesign.cli.main import main  # noqa: E402
from codesign.onnx_export import export_onnx  # noqa: E402
from codesign.onnx_import import read_onnx  # noqa: E402
from codesign.onnx_model import calibrated_density, model_from_onnx  # noqa: E402
from codesign.onnx_workload import ternarize_array, workload_from_onnx  # noqa: E402
from codesign.training import TrainConfig, train  # noqa: E402

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")
TINY = dict(
    dataset="digits", epochs=1, retrain_epochs=1, batch_size=128, lr=0.01, reg_strength=3e-3
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    torch.set_num_threads(1)
    out = {}
    for model, hidden in (("mlp", (32,)), ("cnn", (4, 8))):
        r = train(TrainConfig(model=model, hidden_units=hidden, **TINY))
        path = tmp_path_factory.mktemp("onnx") / f"{model}.onnx"
        export_onnx(r.model, r.input_shape, path, r.layers)
        out[model] = (r, str(path))
    return out


def _cycles(layers, preset="default", **over):
    hw = load_hw(preset).replace(**over) if over else load_hw(preset)
    return simulate(workload_from_tensors(layers), hw, fidelity="simpy").cycles


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_round_trip_train_export_import_simulate_identical(trained, model):
    r, path = trained[model]
    back = workload_from_onnx(path)
    assert [lt.name for lt in back] == [lt.name for lt in r.layers]
    for a, b in zip(r.layers, back, strict=True):
        assert a.kind == b.kind and a.out_pixels == b.out_pixels
        assert np.array_equal(a.weight, b.weight) and a.scale == pytest.approx(b.scale, rel=1e-6)
        assert a.act_density == b.act_density
    for over in ({}, {"zero_skip": "weights+activations", "n_pe": 8}):
        assert _cycles(back, **over) == _cycles(r.layers, **over)


def test_calibration_measures_the_same_densities(trained):
    r, path = trained["cnn"]
    from codesign.data import load_dataset

    sample = load_dataset("digits").x_test[:256]
    dens = calibrated_density(read_onnx(path), sample.numpy())
    for lt in r.layers:
        assert dens[lt.name] == pytest.approx(lt.act_density, abs=1e-6)


def test_imported_model_computes_what_the_trained_one_does(trained):
    r, path = trained["cnn"]
    x = torch.rand(5, 1, 8, 8)
    r.model.eval()
    m = model_from_onnx(path).eval()
    assert torch.allclose(m(x), r.model(x), atol=1e-4)


def test_train_from_onnx_starts_from_its_weights(trained, tmp_path):
    r, path = trained["mlp"]
    cfg = TrainConfig(dataset="digits", onnx=path, epochs=0, retrain_epochs=0, method="ternary")
    got = train(cfg)
    for a, b in zip(r.layers, got.layers, strict=True):
        assert np.array_equal(a.weight, b.weight)
    assert got.report["accuracy"] == pytest.approx(r.report["accuracy"], abs=1e-9)
    got.save(tmp_path / "run")
    from codesign.training import load_run

    again = load_run(tmp_path / "run")
    assert [lt.name for lt in again.layers] == [lt.name for lt in got.layers]


def test_train_a_torch_module():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 48), nn.ReLU(), nn.Linear(48, 10))
    res = train(TrainConfig(dataset="digits", epochs=3, retrain_epochs=1, lr=0.01), model=net)
    assert [lt.name for lt in res.layers] == ["1", "3"]
    assert [lt.weight.shape for lt in res.layers] == [(48, 64), (10, 48)]
    assert res.report["accuracy"] > 0.5  # chance is 0.1


def test_train_module_without_weight_layers_refused():
    with pytest.raises(InputError, match="nn.Linear or nn.Conv2d"):
        train(TrainConfig(dataset="digits", epochs=0, retrain_epochs=0), model=nn.ReLU())


def _save(nodes, inits, path, in_shape, out_shape, metadata=None):
    g = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
        initializer=inits,
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, path)
    return str(path)


def test_matmul_with_float_weights_is_ternarized_by_the_rule(tmp_path):
    rng = np.random.default_rng(0)
    w = rng.normal(size=(20, 6)).astype(np.float32)  # MatMul: (in, out)
    b = np.ones(6, np.float32)
    path = _save(
        [
            helper.make_node("Flatten", ["x"], ["f"]),
            helper.make_node("MatMul", ["f", "w"], ["h"]),
            helper.make_node("Add", ["h", "b"], ["h2"]),
            helper.make_node("Relu", ["h2"], ["y"]),
        ],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
        tmp_path / "mm.onnx",
        ["N", 1, 4, 5],
        ["N", 6],
    )
    net = read_onnx(path)
    assert [n.split()[0] for n in net.notes] == ["Flatten", "Add", "Relu"]
    (lt,) = workload_from_onnx(path, rule="twn")
    q, s = ternarize_array(w.T, rule="twn")
    assert lt.weight.shape == (6, 20) and np.array_equal(lt.weight, q) and lt.scale == s
    assert lt.act_density == 1.0
    # a float batch through the imported module: MatMul + bias + ReLU as written
    m = model_from_onnx(path, mode="fp32")
    x = torch.rand(3, 1, 4, 5)
    assert torch.allclose(m(x), torch.relu(x.reshape(3, 20) @ torch.from_numpy(w) + 1), atol=1e-5)


def test_weights_as_graph_inputs_give_random_ternary_of_the_sparsity(tmp_path):
    g = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w"], ["y"], transB=1)],
        "g",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 100]),
            helper.make_tensor_value_info("w", TensorProto.FLOAT, [50, 100]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 50])],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, tmp_path / "noweights.onnx")
    (lt,) = workload_from_onnx(tmp_path / "noweights.onnx", sparsity=0.8, seed=1)
    assert lt.weight.shape == (50, 100) and lt.nnz == 1000


@pytest.mark.parametrize("name", ["lfc", "cnn"])
def test_shipped_examples_simulate(name, capsys):
    path = os.path.join(EXAMPLES, f"{name}.onnx")
    assert main(["simulate", "--onnx", path, "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    layers = workload_from_onnx(path)
    assert rep["cycles"] == _cycles(layers) > 0
    assert [lay["name"] for lay in rep["layers"]] == [lt.name for lt in layers]
    assert all(set(np.unique(lt.weight)) <= {-1, 0, 1} for lt in layers)
    assert (
        sum(lt.sparsity * lt.weight.size for lt in layers) / sum(lt.weight.size for lt in layers)
        > 0.5
    )  # trained sparse


def _bad_files(tmp_path):
    good = open(os.path.join(EXAMPLES, "cnn.onnx"), "rb").read()
    (tmp_path / "trunc.onnx").write_bytes(good[: len(good) // 2])
    (tmp_path / "text.onnx").write_text("not a model")
    w = numpy_helper.from_array(np.ones((10, 64), np.float32), "w")
    _save(
        [
            helper.make_node("Gemm", ["x", "w"], ["h"], transB=1),
            helper.make_node("Sigmoid", ["h"], ["h2"]),
            helper.make_node("Tanh", ["h2"], ["y"]),
        ],
        [w],
        tmp_path / "unsup.onnx",
        ["N", 64],
        ["N", 10],
    )
    wc = numpy_helper.from_array(np.ones((4, 1, 3, 3), np.float32), "wc")
    _save(
        [helper.make_node("Conv", ["x", "wc"], ["y"])],
        [wc],
        tmp_path / "dyn.onnx",
        ["N", 1, "H", "W"],
        ["N", 4, "H2", "W2"],
    )
    g = helper.make_graph(  # declared, not stored: 10^12 weights would be made up
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "huge",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1_000_000]),
            helper.make_tensor_value_info("w", TensorProto.FLOAT, [1_000_000, 1_000_000]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1_000_000])],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, tmp_path / "huge.onnx")
    return {
        "huge": "is not allowed",  # simulate: too many weights; train: not the data set's input
        "trunc": "truncated or not a valid ONNX model",
        "text": "truncated or not a valid ONNX model",
        "unsup": "Sigmoid, Tanh",
        "dyn": "dynamic shape: 'x' dimension 2 is 'H'",
        "missing": "not found",
    }


@pytest.mark.parametrize("command", ["simulate", "train"])
def test_bad_onnx_is_one_line_exit_2(tmp_path, capsys, command):
    for stem, needle in _bad_files(tmp_path).items():
        argv = [command, "--onnx", str(tmp_path / f"{stem}.onnx")]
        if command == "train":
            argv += ["--dataset", "digits", "--epochs", "0", "--retrain-epochs", "0"]
        assert main(argv) == 2, stem
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and needle in err and "Traceback" not in err, err


def test_simulate_onnx_needs_no_torch():
    import subprocess
    import sys

    code = (
        "import sys, io, contextlib; from codesign.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    rc = main(['simulate', '--onnx', {os.path.join(EXAMPLES, 'cnn.onnx')!r}])\n"
        "assert rc == 0 and 'torch' not in sys.modules, (rc, 'torch' in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_simulate_table_lists_skipped_operators(capsys):
    assert main(["simulate", "--onnx", os.path.join(EXAMPLES, "cnn.onnx")]) == 0
    out = capsys.readouterr().out
    assert (
        "skipped operators that cost nothing on this template: BatchNormalization x4, "
        "Flatten x1, MaxPool x1, Relu x3" in out
    )


def test_report_names_the_imported_network(trained):
    _, path = trained["mlp"]
    rep = train(TrainConfig(dataset="digits", onnx=path, epochs=0, retrain_epochs=0)).report
    assert rep["model"] == f"onnx:{os.path.basename(path)}"
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    rep = train(TrainConfig(dataset="digits", epochs=0, retrain_epochs=0), model=net).report
    assert rep["model"] == "module:Sequential"
