"""TrainConfig: importable without torch, every numeric knob finite and bounded, errors name the limit."""

import json
import subprocess
import sys

import pytest

from accelerators import InputError
from codesign.cli.main import main
from codesign.training_config import FIELDS, TrainConfig


def test_importable_without_torch():
    code = (
        "import sys; from codesign.training_config import TrainConfig; "
        "TrainConfig(seed=3, device='auto', val_fraction=0.1); "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_field_has_a_rule():
    import dataclasses

    assert {f.name for f in dataclasses.fields(TrainConfig)} == set(FIELDS)


@pytest.mark.parametrize(
    "field, value, limit",
    [
        ("seed", 1e23, "0..4294967295"),
        ("seed", -1, "0..4294967295"),
        ("lr", 1e300, "(0, 10]"),
        ("lr", float("nan"), "(0, 10]"),
        ("lr", 0.0, "(0, 10]"),
        ("epochs", 1e11, "0..10000"),
        ("epochs", 2.5, "0..10000"),
        ("reg_strength", float("inf"), "[0, 1000]"),
        ("threshold", 1.0, "[0, 1)"),
        ("val_fraction", 0.6, "[0, 0.5]"),
        ("batch_size", 0, "1..1000000"),
        ("device", "tpu", "auto | cpu | cuda"),
        ("epochs", True, "0..10000"),
    ],
)
def test_out_of_range_names_field_value_and_limit(field, value, limit):
    with pytest.raises(InputError) as e:
        TrainConfig(**{field: value})
    msg = str(e.value)
    assert msg.startswith(f"{field} = ") and limit in msg


def test_hidden_widths_bounded():
    with pytest.raises(InputError, match=r"hidden_units = \(100000000,\).*1\.\.65536"):
        TrainConfig(hidden_units=(100000000,))
    with pytest.raises(InputError, match="hidden_units"):
        TrainConfig(hidden_units=())


def test_whole_floats_become_ints_and_round_trip():
    cfg = TrainConfig(epochs=3.0, seed=7, hidden_units=[8.0, 4])
    assert cfg.epochs == 3 and isinstance(cfg.epochs, int) and cfg.hidden_units == (8, 4)
    assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--seed", "1e23"], "seed = 1e+23 is not allowed: expected an integer in 0..4294967295"),
        (["--seed", "-1"], "seed = -1 is not allowed"),
        (["--lr", "1e300"], "lr = 1e+300 is not allowed: expected a finite number in (0, 10]"),
        (["--hidden", "100000000"], "1..65536"),
        (
            ["--epochs", "1e11"],
            "epochs = 100000000000.0 is not allowed: expected an integer in 0..10000",
        ),
        (["--val-fraction", "0.9"], "val_fraction = 0.9"),
        (["--seed", "abc"], "--seed = 'abc'"),
    ],
)
def test_cli_refuses_up_front(argv, needle, capsys, monkeypatch):
    import codesign.training

    monkeypatch.setattr(codesign.training, "train", lambda *a, **k: pytest.fail("trained"))
    code = main(["train", "--dataset", "digits", "--model", "mlp", *argv])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and needle in err
