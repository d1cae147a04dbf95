"""The sweep file: parsing, validation (one clear error before any trial), grids."""

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_sweep_helpers import TINY_SHAPES, sim_sweep, write_sweep

from accelerators import InputError
from codesign.sweep import load_spec, parse_spec
from codesign.sweep.knobs import FEEDBACK_RULES
from codesign.training_config import FIELDS


def base(**over):
    raw = {
        "study": {"name": "t", "objectives": ["latency_us"], "sampler": "random", "trials": 4},
        "workload": {"shapes": "lfc", "sparsity": 0.9},
        "search": {"hw.n_pe": [8, 16]},
    }
    for k, v in over.items():
        raw[k] = v
    return raw


def test_grid_expands_axes_in_order_and_defaults_trials_to_grid_size(tmp_path):
    spec = load_spec(sim_sweep(tmp_path))
    assert spec.sampler == "grid" and spec.trials == 8  # 4 n_pe x 2 lanes
    grid = spec.grid()
    assert grid[0] == {"hw.n_pe": 1, "hw.lanes_per_pe": 1}
    assert grid[1] == {"hw.n_pe": 1, "hw.lanes_per_pe": 2}
    assert grid[-1] == {"hw.n_pe": 8, "hw.lanes_per_pe": 2}
    assert spec.hw_config(grid[-1]).n_pe == 8 and spec.hw_config(grid[-1]).lanes_per_pe == 2


def test_ranges_become_int_or_float_axes():
    spec = parse_spec(
        base(
            search={
                "hw.n_pe": {"low": 2, "high": 8, "step": 2},
                "hw.clock_mhz": {"low": 100.0, "high": 400.0, "step": 150.0},
                "workload.sparsity": {"low": 0.5, "high": 0.9},
            }
        )
    )
    p = {x.name: x for x in spec.params}
    assert p["hw.n_pe"].grid_values() == (2, 4, 6, 8)
    assert p["hw.clock_mhz"].grid_values() == (100.0, 250.0, 400.0)
    assert type(p["hw.n_pe"].distribution()).__name__ == "IntDistribution"
    assert type(p["workload.sparsity"].distribution()).__name__ == "FloatDistribution"


@pytest.mark.parametrize(
    "over, needle",
    [
        ({"study": {"name": "t", "objectivs": ["latency_us"]}}, "study.objectivs"),
        ({"extra": {}}, "extra"),
        ({"search": {"hw.n_pe": []}}, "non-empty list"),
        ({"search": {"hw.n_pe": {"low": 8, "high": 8}}}, "low < high"),
        ({"search": {"hw.n_pez": [1]}}, "hw.n_pez"),
        ({"search": {"hw.n_pe": [0, 8]}}, "hw.n_pe"),
        ({"search": {"train.lr": [0.1]}}, "simulate-only"),
        ({"search": {"hw.n_pe": {"low": 1, "high": 8, "lo": 2}}}, "lo"),
        ({"study": {"name": "t", "objectives": ["speed"]}}, "speed"),
        ({"study": {"name": "t", "objectives": ["accuracy"]}}, "simulate-only"),
        ({"study": {"name": "t", "sampler": "bayes"}}, "bayes"),
        ({"study": {"name": "t", "trials": 0}}, "study.trials"),
        ({"study": {"name": "t", "storage": "runs/x.db"}}, "study.storage"),
        ({"hw": {"preset": "huge"}}, "huge"),
        ({"hw": {"n_pes": 4}}, "hw.n_pes"),
        ({"workload": {"shapes": "lfc", "sparsity": 1.5}}, "workload.sparsity"),
        ({"workload": {"shapes": "vgg"}}, "vgg"),
        ({"workload": {"weights": "/nonexistent/ternary.npz"}}, "not found"),
        ({"workload": {"shapes": "lfc", "seed": -1}}, "workload.seed = -1"),
        ({"workload": {"shapes": "lfc", "seed": 2**32}}, "0..4294967295"),
        ({"search": {"workload.sparsity": [0.5, 1.0]}}, 'search."workload.sparsity" = 1.0'),
        ({"study": {"name": "t", "sampler": "random"}}, "sampler random needs trials = N"),
    ],
)
def test_bad_sweep_files_raise_one_input_error_naming_the_problem(over, needle):
    raw = base(**over)
    if "extra" in over:
        raw["extra"] = {}
    with pytest.raises(InputError) as exc:
        parse_spec(raw)
    assert needle in str(exc.value)
    assert "\n" not in str(exc.value)


def test_grid_needs_discrete_axes():
    raw = base(search={"hw.clock_mhz": {"low": 100.0, "high": 400.0}})
    raw["study"]["sampler"] = "grid"
    with pytest.raises(InputError, match="step for the grid sampler"):
        parse_spec(raw)


def test_needs_exactly_one_of_train_and_workload():
    raw = base()
    raw.pop("workload")
    with pytest.raises(InputError, match="exactly one of"):
        parse_spec(raw)


def test_identity_ignores_trials_and_storage_but_not_search():
    a = parse_spec(base())
    raw = base()
    raw["study"]["trials"] = 9
    assert parse_spec(raw).identity() == a.identity()
    raw["search"] = {"hw.n_pe": [8, 32]}
    assert parse_spec(raw).identity() != a.identity()


def test_cli_bad_file_is_one_line_and_exit_2(tmp_path):
    path = write_sweep(
        tmp_path,
        f"""
        [study]
        objectives = ["latency_us", "throughput"]
        [workload]
        shapes = {TINY_SHAPES}
        """,
    )
    out = subprocess.run(
        [sys.executable, "-m", "codesign.cli.main", "sweep", path, "--no-progress"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert out.returncode == 2, out.stderr
    assert out.stderr.count("\n") == 1 and "throughput" in out.stderr
    assert not (tmp_path / "runs").exists()  # nothing was created


TRAIN = {"dataset": "digits", "model": "mlp", "hidden_units": [8], "epochs": 1}


@pytest.mark.parametrize(
    "knob, value, allowed",
    [
        ("feedback", "cycles", "none | simpy | analytical"),
        ("feedback_objective", "power", "latency | energy | area"),
        ("feedback_period_steps", 0, "an integer in 1..1000000000 or None"),
        ("feedback_per_row", 1, "true or false"),
        ("feedback_per_column", "yes", "true or false"),
        ("target_latency_us", 0.0, "a finite number in (0, 1e+12]"),
        ("target_energy_uj", -2.0, "a finite number in (0, 1e+12]"),
    ],
)
def test_feedback_knobs_follow_their_rules_in_train_and_in_search(knob, value, allowed):
    study = {"name": "t", "objectives": ["accuracy", "latency_us"], "sampler": "grid"}
    search = {"train.reg_strength": [0.1]}
    for raw, field in (
        ({"study": study, "train": {**TRAIN, knob: value}, "search": search}, f"train.{knob}"),
        ({"study": study, "train": TRAIN, "search": {**search, f"train.{knob}": [value]}},
         f'search."train.{knob}"'),
    ):  # fmt: skip
        with pytest.raises(InputError) as exc:
            parse_spec(raw)
        assert exc.value.field == field and exc.value.allowed == allowed


_NASTY = st.one_of(
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["gradient", "proximal", "none", "simpy", "", "x", "0.5"]),
    st.booleans(),
    st.none(),
    st.lists(st.integers(-3, 3), max_size=3),
)


@settings(max_examples=150, deadline=None)
@given(
    key=st.sampled_from(sorted(set(FIELDS) | set(FEEDBACK_RULES)) + ["nope"]),
    value=_NASTY,
    as_axis=st.booleans(),
)
def test_any_train_value_or_axis_is_taken_or_refused_on_one_line_naming_it(key, value, as_axis):
    """Any [train] knob (TrainConfig fields and feedback knobs, reg_update and
    feedback_smoothing among them) with any value, fixed or as a search axis: the spec
    parses, or one InputError line names the knob."""
    raw = {
        "study": {"name": "f", "objectives": ["accuracy", "latency_us"], "sampler": "grid"},
        "train": {"dataset": "digits", "model": "mlp", "epochs": 1},
        "search": {"train.reg_strength": [0.01]},
    }
    if as_axis:
        raw["search"][f"train.{key}"] = [value]
    else:
        raw["train"][key] = value
    try:
        parse_spec(raw)
    except InputError as exc:
        text = str(exc)
        assert "\n" not in text and key in text, text
