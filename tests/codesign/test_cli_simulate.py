"""``codesign simulate`` end to end: real models, real files, one-line errors with exit 2."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from accelerators import LayerTensor, save_ternary_npz
from accelerators.costs import load_tech
from accelerators.report import STALL_CAUSES
from codesign.cli.main import main

# A tiny network whose weight storage is worked out by hand (see test_weight_storage_by_hand).
W0 = np.array(
    [
        [1, 0, 0, 0],
        [0, 0, 0, 0],
        [0, 0, 0, -1],
        [0, 1, 0, 0],
    ],
    dtype=np.int8,
)
W1 = np.array([[1, -1, 0, 0], [0, 0, 1, 1]], dtype=np.int8)
SMALL_HW = ["--set", "n_pe=2", "--set", "lanes_per_pe=1", "--set", "fifo_depth=2"]

SHAPES = """
name = "tiny"
sparsity = 0.5
act_density = 1.0
[[layers]]
in = 32
out = 16
[[layers]]
in = 16
out = 8
"""


@pytest.fixture
def tiny_npz(tmp_path):
    p = tmp_path / "ternary.npz"
    save_ternary_npz(p, [LayerTensor("fc0", W0), LayerTensor("fc1", W1)])
    return str(p)


@pytest.fixture
def shapes_file(tmp_path):
    p = tmp_path / "tiny.toml"
    p.write_text(SHAPES)
    return str(p)


def run_json(capsys, argv):
    assert main(["simulate", *argv, "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1  # one JSON object on one line
    return json.loads(out)


def test_json_report_follows_contract_2(capsys, shapes_file):
    r = run_json(capsys, ["--workload", shapes_file, *SMALL_HW])
    for key in ("cycles", "latency_us", "area_mm2", "energy_uj", "utilization", "stall_cycles"):
        assert key in r
    assert r["fidelity"] == "simpy" and r["wall_s"] >= 0
    assert [lay["name"] for lay in r["layers"]] == ["linear0", "linear1"]
    assert [lay["nnz"] for lay in r["layers"]] == [256, 64]  # exactly half of 32*16 and 16*8
    assert r["cycles"] == sum(lay["cycles"] for lay in r["layers"])
    assert r["latency_us"] == pytest.approx(r["cycles"] / 500.0)  # default preset: 500 MHz
    assert r["area_mm2"] == pytest.approx(sum(r["area_breakdown_mm2"].values()))
    assert r["energy_uj"] == pytest.approx(sum(r["energy_breakdown_uj"].values()))
    assert r["hw"]["n_pe"] == 2 and r["hw"]["fifo_depth"] == 2
    assert tuple(r["stall_cycles"]) == STALL_CAUSES


def test_real_weights_and_weight_storage_by_hand(capsys, tiny_npz):
    r = run_json(capsys, ["--weights", tiny_npz, *SMALL_HW, "--set", "index_bits=1"])
    assert [lay["nnz"] for lay in r["layers"]] == [3, 4]
    assert [lay["shape"] for lay in r["layers"]] == [[4, 4], [2, 4]]
    # index_bits = 1: each padding entry skips one zero; entries are 2 bits.
    # fc0, PE0 owns rows 0, 2: CSC positions col*2 + local row -> nonzeros at 0 and 7,
    #   6 zeros between them -> 6 paddings, 8 entries; PE1 rows 1, 3: nonzero at 3 -> 3 + 1 = 4.
    # fc1, PE0 row 0: nonzeros at cols 0, 1 -> 2 entries; PE1 row 1: at cols 2, 3 after
    #   2 zeros -> 2 paddings + 2 = 4 entries.  Total 8 + 4 + 2 + 4 = 18 entries x 2 bits.
    assert r["weight_storage_kib"] == pytest.approx(36 / 8192)


def test_compare_baselines_side_by_side(capsys, tiny_npz):
    r = run_json(capsys, ["--weights", tiny_npz, *SMALL_HW, "--compare-baselines"])
    base = r["baselines"]
    assert set(base) == {"dense-ternary", "dense-binary"}
    assert base["dense-ternary"]["hw"]["zero_skip"] == "none"
    assert base["dense-binary"]["hw"]["weight_format"] == "dense-binary"
    # dense storage: (16 + 8) weights x 2 bits and x 1 bit
    assert base["dense-ternary"]["weight_storage_kib"] == pytest.approx(48 / 8192)
    assert base["dense-binary"]["weight_storage_kib"] == pytest.approx(24 / 8192)
    # index_bits 5 (default): no padding, 7 entries x 6 bits
    assert r["weight_storage_kib"] == pytest.approx(42 / 8192)
    # zero-skip never takes more cycles than the dense walk of the same weights
    assert r["cycles"] <= base["dense-ternary"]["cycles"]


def test_fidelity_both_reports_the_error(capsys, shapes_file):
    r = run_json(capsys, ["--workload", shapes_file, *SMALL_HW, "--fidelity", "both"])
    s, a, err = r["simpy"], r["analytical"], r["analytical_error"]
    assert s["fidelity"] == "simpy" and a["fidelity"] == "analytical"
    assert err["cycles_rel"] == pytest.approx((a["cycles"] - s["cycles"]) / s["cycles"])
    assert err["within_bounds"] == (a["cycles_lower"] <= s["cycles"] <= a["cycles_upper"])
    assert main(["simulate", "--workload", shapes_file, *SMALL_HW, "--fidelity", "both"]) == 0
    text = capsys.readouterr().out
    assert "analytical error vs simpy: cycles" in text


def test_table_for_people_carries_units(capsys, shapes_file):
    assert main(["simulate", "--workload", shapes_file, *SMALL_HW, "--compare-baselines"]) == 0
    text = capsys.readouterr().out
    for unit in ("cycles", " us", "inf/s", "mm^2", "uJ", "KiB", "%"):
        assert unit in text, unit
    for part in (
        "pe_logic",
        "weight_sram",
        "leakage",
        "lanes idle in a column stall cycles",
        "dense binary",
    ):
        assert part in text, part
    assert "DRAM-bound: no" in text


def test_small_weight_sram_is_reported_dram_bound(capsys, shapes_file):
    argv = ["--workload", shapes_file, *SMALL_HW, "--set", "weight_sram_kib_per_pe=0"]
    r = run_json(capsys, argv)
    assert r["dram_bound"] and all(lay["dram_bound"] for lay in r["layers"])
    assert r["counts"]["dram_read_bits"] > 0 and r["energy_breakdown_uj"]["dram"] > 0
    assert main(["simulate", *argv]) == 0
    assert "DRAM-bound: yes: linear0, linear1" in capsys.readouterr().out


def test_tech_file_is_used(capsys, tmp_path, shapes_file):
    from importlib import resources

    text = resources.files("accelerators").joinpath("data/tech45.toml").read_text()
    tech = tmp_path / "noleak.toml"
    text = text.replace("sram_energy_uj_per_mm2_us = 0.0000078", "sram_energy_uj_per_mm2_us = 0.0")
    tech.write_text(
        text.replace("logic_energy_uj_per_mm2_us = 0.0154", "logic_energy_uj_per_mm2_us = 0.0")
    )
    assert load_tech(tech).leakage_sram_uj_per_mm2_us == 0.0
    assert load_tech(tech).leakage_logic_uj_per_mm2_us == 0.0
    r = run_json(capsys, ["--workload", shapes_file, *SMALL_HW, "--tech", str(tech)])
    assert r["energy_leakage_uj"] == 0.0
    r2 = run_json(capsys, ["--workload", shapes_file, *SMALL_HW])
    assert r2["energy_leakage_uj"] > 0.0


# ------------------------------------------------------------------ user mistakes


def _bad_npz(tmp_path, name, arrays):
    p = tmp_path / name
    base = {
        "names": np.array([f"l{i}" for i in range(len(arrays))]),
        "kinds": np.array(["linear"] * len(arrays)),
        "scale": np.ones(len(arrays), dtype=np.float32),
        "out_pixels": np.ones(len(arrays), dtype=np.int64),
        "act_density": np.ones(len(arrays)),
    }
    np.savez(p, **base, **{f"w{i}": a for i, a in enumerate(arrays)})
    return str(p)


def _bad_cases(tmp_path, shapes_file):
    bad_toml = tmp_path / "hw.toml"
    bad_toml.write_text("n_pe = [")
    bad_tech = tmp_path / "tech.toml"
    bad_tech.write_text("node_nm = 45\n")
    unchained = _bad_npz(
        tmp_path, "chain.npz", [np.ones((4, 3), np.int8), np.ones((2, 5), np.int8)]
    )
    not_ternary = _bad_npz(tmp_path, "two.npz", [np.full((2, 2), 2, np.int8)])
    return {
        "shapes do not chain": (["--weights", unchained], "l1.shape"),
        "not ternary": (["--weights", not_ternary], "values in {-1, 0, +1}"),
        "zero PEs": (["--workload", shapes_file, "--set", "n_pe=0"], "n_pe = 0"),
        "unknown preset": (["--hw", "huge"], "hw = 'huge'"),
        "unknown key": (["--set", "n_pes=4"], "n_pes"),
        "malformed hw toml": (["--hw", str(bad_toml)], "not valid TOML"),
        "malformed tech": (["--tech", str(bad_tech)], "is missing"),
        "missing weights": (["--weights", str(tmp_path / "none.npz")], "not found"),
        "missing workload": (["--workload", str(tmp_path / "none.toml")], "not found"),
        "missing tech": (["--tech", str(tmp_path / "none.toml")], "not found"),
        "bad sparsity": (["--sparsity", "1.5"], "--sparsity = 1.5"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "shapes do not chain",
        "not ternary",
        "zero PEs",
        "unknown preset",
        "unknown key",
        "malformed hw toml",
        "malformed tech",
        "missing weights",
        "missing workload",
        "missing tech",
        "bad sparsity",
    ],
)
def test_user_mistakes_are_one_line_and_exit_2(capsys, tmp_path, shapes_file, case):
    argv, message = _bad_cases(tmp_path, shapes_file)[case]
    assert main(["simulate", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("codesign simulate: error:")
    assert message in captured.err


def test_real_subprocess(tmp_path, shapes_file):
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "codesign.cli.main",
            "simulate",
            "--workload",
            shapes_file,
            *SMALL_HW,
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["cycles"] > 0
    bad = subprocess.run(
        [sys.executable, "-m", "codesign.cli.main", "simulate", "--set", "n_pe=-3"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "Traceback" not in bad.stderr
    assert "n_pe = -3" in bad.stderr


def test_table_names_what_each_figure_means(capsys):
    """Steady state vs first inference, useful vs busy, dynamic vs leakage: each named."""
    assert main(["simulate", "--workload", "lfc", "--fidelity", "analytical"]) == 0
    out = capsys.readouterr().out
    for label in (
        "latency, steady state (weights on chip)",
        "latency, first inference (weights from DRAM)",
        "utilization (useful products)",
        "busy (lane-cycles doing any entry)",
        "energy, steady state (dynamic + leakage)",
        "(dynamic)",
        "(leakage)",
    ):
        assert label in out, label
    lines = out.splitlines()
    head = next(i for i, line in enumerate(lines) if line.strip().startswith("layer "))
    cols = re.split(r"\s{2,}", lines[head].strip())
    use, busy = cols.index("utilization %"), cols.index("busy %")
    for line in lines[head + 2 : head + 6]:  # lfc's four layers
        cells = re.split(r"\s{2,}", line.strip())
        assert float(cells[busy]) >= float(cells[use]) > 0, line
