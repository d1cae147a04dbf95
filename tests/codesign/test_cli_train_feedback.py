"""`codesign train --hw-feedback`: the simulator's figures land in the run report."""

import json

from codesign.cli.main import main


def test_train_with_analytical_feedback_records_every_period(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(
        ["train", "--dataset", "digits", "--model", "mlp", "--hidden", "32", "--epochs", "2",
         "--retrain-epochs", "0", "--hw-feedback", "analytical", "--hw", "edge",
         "--out", str(out), "--json"]
    )  # fmt: skip
    assert rc == 0
    report = json.loads(capsys.readouterr().out)
    periods = report["feedback"]
    assert [p["epoch"] for p in periods] == [0, 1]  # once per epoch by default
    for p in periods:
        assert p["cycles"] > 0 and p["latency_us"] > 0 and p["energy_uj"] > 0
        assert set(p["coefficients"]) == {"fc1", "fc2"}
    assert json.loads((out / "report.json").read_text())["feedback"] == periods


def test_bad_hardware_flag_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["train", "--dataset", "digits", "--hw-feedback", "simpy", "--hw-set", "n_pe=0",
               "--out", str(out)])  # fmt: skip
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "codesign train: error: n_pe = 0 is not allowed: expected an integer in 1..65,536 (PEs)"
    ]
    assert not out.exists()
