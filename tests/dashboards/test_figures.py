import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboards.detail import (
    _get_compare_info,
    _get_feedback_info,
    _get_layers_info,
    _get_pe_heatmap_info,
    plot_compare,
    plot_feedback,
    plot_layers,
    plot_pe_heatmap,
)
from dashboards.figures import _get_front_info, colour_spec, plot_front, use_log
from dashboards.figures_3d import _get_front_3d_info, plot_front_3d
from dashboards.filters import (
    apply_budgets,
    budget_options,
    budget_text,
    row_budgets,
    row_options,
)


def validated(fig):
    """Plotly re-validates the figure (plot_* build theirs with validation off)."""
    go.Figure(fig.to_dict())
    return fig


def frame():
    # accuracy, area: trial 0 (0.80, 1), 1 (0.90, 4), 2 (0.85, 2), 3 (0.70, 3) dominated by 0,
    # 4 (0.90, 5) dominated by 1, 5 a binary baseline (0.60, 0.5) on the front (least area)
    return pd.DataFrame(
        {
            "trial": [0, 1, 2, 3, 4, 5],
            "method": ["sparse-ternary"] * 4 + ["ternary", "binary"],
            "accuracy": [0.80, 0.90, 0.85, 0.70, 0.90, 0.60],
            "area_mm2": [1.0, 4.0, 2.0, 3.0, 5.0, 0.5],
            "latency_us": [10.0, 1.0, 5.0, 20.0, 0.5, 400.0],
            "energy_uj": [1.0, 2.0, 1.5, 3.0, 2.5, 0.2],
            "hw.n_pe": [4, 64, 16, 8, 64, 4],
            "hw.zero_skip": ["weights", "weights", "none", "none", "none", "none"],
        }
    )


def test_front_info_by_hand():
    info = _get_front_info(frame(), "area_mm2")
    assert info.on_front.tolist() == [True, True, True, False, False, True]
    assert info.step_x.tolist() == [0.5, 1.0, 2.0, 4.0]  # step line in area order
    assert np.allclose(info.step_y, [60.0, 80.0, 85.0, 90.0])  # accuracy in %
    assert info.x_title == "Area (mm²)" and info.y_title == "Test accuracy (%)"
    assert not info.log_x  # 0.5..5 is a 10x span
    assert _get_front_info(frame(), "latency_us").log_x  # 0.5..400 is 800x


def test_budgets_grey_out_and_the_front_is_recomputed():
    budget = apply_budgets(frame(), {"max-area": 3.0})
    assert budget.tolist() == [True, False, True, True, False, True]
    info = _get_front_info(frame(), "area_mm2", budget)
    assert info.on_front.tolist() == [True, False, True, False, False, True]
    budget = apply_budgets(frame(), {"max-area": 4.5, "max-latency": 8, "max-energy": None})
    assert budget.tolist() == [False, True, True, False, False, False]
    budget = apply_budgets(frame(), {"min-accuracy": 85, "max-energy": "2.2"})  # shown units
    assert budget.tolist() == [False, True, True, False, False, False]


def test_a_budget_on_any_metric_and_bad_values():
    """A budget row on any metric: an upper bound on a minimized one, a lower bound on a
    maximized one, in shown units; text, an empty box or a negative value is no budget."""
    opts = budget_options(["hw.n_pe", "accuracy"], [False, True])
    assert [o["value"] for o in opts] == ["max:hw.n_pe", "min:accuracy"]
    assert opts[1]["label"] == "min test accuracy (%)"
    budgets = row_budgets(["max:hw.n_pe", "max:hw.n_pe", None, "max:energy_uj"], [16, 8, 3, "x"])
    assert budgets == {"max:hw.n_pe": 8.0}  # the stricter of two rows on one metric
    assert apply_budgets(frame(), budgets).tolist() == [True, False, False, True, False, True]
    assert apply_budgets(frame(), {"min:accuracy": 85}).tolist() == [False, True, True, False,
                                                                      True, False]  # fmt: skip
    assert (
        budget_text({"max:energy_uj": 2, "min-accuracy": 90})
        == "max energy, steady state 2 µJ, min test accuracy 90 %"
    )
    for bad in ("abc", -1, float("nan"), None):
        assert apply_budgets(frame(), {"max-area": bad, "max:energy_uj": bad}).all()
        assert budget_text({"max-area": bad, "max:energy_uj": bad}) == ""
    assert apply_budgets(frame(), {"max:no_such_metric": 1, "bogus": 1}).all()


def test_a_sparsity_budget_is_a_lower_or_an_upper_bound():
    """Sparsity has no better direction: a row offers "at least" and "at most", in %; a
    lower and an upper bound on it both hold (a range), of two lower bounds the higher."""
    opts = budget_options(["accuracy", "sparsity", "size_kib"], [True, False, False])
    assert [(o["value"], o["label"]) for o in opts] == [
        ("min:accuracy", "min test accuracy (%)"),
        ("min:sparsity", "min sparsity (%)"),
        ("max:sparsity", "max sparsity (%)"),
        ("max:size_kib", "max weight storage (KiB)"),
    ]
    f = frame().assign(sparsity=[0.90, 0.95, 0.97, 0.80, 0.99, 0.0])
    # by hand: at least 95 % zeros keeps trials 1 (95 %), 2 (97 %) and 4 (99 %)
    assert apply_budgets(f, {"min:sparsity": 95}).tolist() == [False, True, True, False, True,
                                                               False]  # fmt: skip
    # at most 90 % keeps 0 (90 %), 3 (80 %) and 5 (0 %)
    assert apply_budgets(f, {"max:sparsity": 90}).tolist() == [True, False, False, True, False,
                                                               True]  # fmt: skip
    budgets = row_budgets(["min:sparsity", "max:sparsity", "min:sparsity"], [90, 98, 95])
    assert budgets == {"min:sparsity": 95.0, "max:sparsity": 98.0}
    assert apply_budgets(f, budgets).tolist() == [False, True, True, False, False, False]
    assert budget_text(budgets) == "min sparsity 95 %, max sparsity 98 %"


def test_a_budget_row_on_a_metric_the_study_lacks_is_marked_and_not_applied():
    """After a study switch a row keeps its budget: offered as is when the new study has the
    metric, else marked and disabled; it is neither applied nor named in the title."""
    opts = budget_options(["area_mm2", "energy_uj"], [False, False])
    marked = row_options(opts, "min:accuracy", ["area_mm2", "energy_uj"])
    assert marked[:-1] == opts and marked[-1] == {
        "label": "min test accuracy (%): not in this study", "value": "min:accuracy", "disabled": True
    }  # fmt: skip
    assert row_options(opts, "max:energy_uj", ["area_mm2", "energy_uj"]) == opts
    assert row_options(opts, None, ["area_mm2"]) == opts
    # a bound the study's options do not hold, on a metric it has: still a bound, offered
    assert row_options(opts, "min:area_mm2", ["area_mm2"])[-1] == {
        "label": "min area (mm²)", "value": "min:area_mm2"
    }  # fmt: skip
    hw = frame().assign(accuracy=np.nan)  # a simulate-only study: no accuracy
    budgets = {"min:accuracy": 90, "max:energy_uj": 2}
    assert apply_budgets(hw, budgets).tolist() == [True, True, True, False, False, True]
    assert budget_text(budgets, hw) == "max energy, steady state 2 µJ"
    assert budget_text(budgets, frame()) == "min test accuracy 90 %, max energy, steady state 2 µJ"


def test_use_log():
    assert use_log([1, 21]) and not use_log([1, 20]) and not use_log([-1, 100])
    assert not use_log([])


def test_plot_front_draws_a_valid_figure_with_baseline_symbols():
    info = _get_front_info(frame(), "area_mm2", apply_budgets(frame(), {"max-area": 4.5}),
                           "hw.zero_skip", 2)  # fmt: skip
    fig = validated(plot_front(info))
    names = [t.name for t in fig.data]
    assert names[0] == "over budget" and "Pareto front" in names
    assert "dense binary baseline" in names and "dense ternary baseline" in names
    assert {"none", "none (front)", "weights (front)"} <= set(names)
    assert names[-1] == "selected" and list(fig.data[-1].x) == [2.0]  # trial 2's ring
    over = fig.data[0]
    assert [c[0] for c in over.customdata] == [4]  # trial 4 (5 mm²) is over the 4.5 mm² budget
    assert list(over.marker.symbol) == ["diamond"]  # the ternary baseline's symbol
    line = next(t for t in fig.data if t.name == "Pareto front")
    assert line.line.shape == "hv"
    none_front = next(t for t in fig.data if t.name == "none (front)")
    none_dominated = next(t for t in fig.data if t.name == "none")
    assert [c[0] for c in none_front.customdata] == [2, 5]
    assert [c[0] for c in none_dominated.customdata] == [3]  # dominated trial 3 is faded
    assert none_dominated.marker.opacity < 1.0 == none_front.marker.opacity
    assert none_front.marker.line.width > 0 == none_dominated.marker.line.width


def test_numeric_colour_and_webgl_fronts_stand_out():
    info = _get_front_info(frame(), "energy_uj", color_by="hw.n_pe")
    assert info.colour.numeric and info.colour.log2  # 4, 8, 16, 64: powers of two
    assert info.colour_values.tolist() == [2.0, 6.0, 4.0, 3.0, 6.0, 2.0]
    fig = validated(plot_front(info, webgl=True))
    designs = [t for t in fig.data if t.type == "scattergl" and t.name != "selected"]
    assert designs[0].marker.showscale and designs[0].marker.cmin == 2.0
    front = [t for t in designs if t.name.endswith("(front)")]
    rest = [t for t in designs if not t.name.endswith("(front)")]
    # above 5,000 points (WebGL) front designs keep their own larger, outlined markers
    assert front and rest and front[0].marker.size > rest[0].marker.size
    assert front[0].marker.line.width > 0 and front[0].marker.opacity > rest[0].marker.opacity


def test_stacked_designs_share_one_marker():
    f = pd.concat([frame(), frame().iloc[[0, 0]].assign(trial=[6, 7], **{"hw.n_pe": [8, 16]})])
    info = _get_front_info(f, "area_mm2", knobs=["hw.n_pe", "hw.zero_skip"])
    assert len(info.x) == 6 and info.members[0] == [0, 6, 7]
    assert info.hover[0].startswith("3 trials: 0, 6, 7 (sparse-ternary)")
    assert "hw.n_pe: 4 | 8 | 16" in info.hover[0] and "hw.zero_skip = weights" in info.hover[0]


def test_colour_spec_is_the_whole_studys():
    spec = colour_spec(frame(), "method")
    assert list(spec.categories) == ["binary", "sparse-ternary", "ternary"]
    part = _get_front_info(frame().iloc[[0, 1]], "area_mm2", color_by=spec)
    assert part.colour.categories == spec.categories  # filtered rows: same colours
    assert not colour_spec(frame(), "accuracy").log2


def test_front_3d_by_hand():
    info = _get_front_3d_info(frame())
    # trial 3 (70 %, 3 mm², 20 us) is dominated by trial 0 (80 %, 1 mm², 10 us); trial 4
    # (90 %, 5 mm², 0.5 us) is now on the front thanks to its latency.
    assert info.on_front.tolist() == [True, True, True, False, True, True]
    assert info.log_y and not info.log_x
    fig = validated(plot_front_3d(info))
    assert [(t.name, len(t.x)) for t in fig.data] == [("dominated", 1), ("Pareto front", 5),
                                                      ("selected", 0)]  # fmt: skip
    assert fig.layout.scene.yaxis.type == "log"
    budget = apply_budgets(frame(), {"max-latency": 15})
    info = _get_front_3d_info(frame(), budget, color_by="hw.n_pe", selected=2)
    fig = validated(plot_front_3d(info))
    by = {t.name: t for t in fig.data}
    assert sorted(by["over budget"].customdata) == [3, 5]  # greyed, not dropped
    assert by["Pareto front"].marker.colorscale is not None and list(by["selected"].x) == [2.0]


REPORT = {
    "layers": [
        {"name": "fc1", "kind": "linear", "shape": [4, 6], "nnz": 3, "sparsity": 0.875,
         "cycles": 100, "stall_cycles": {"imbalance": 10, "dram": 20, "readout": 5},
         "utilization": 0.5, "busy": 0.6, "energy_uj": 0.25, "pe_busy_cycles": [60, 65], "dram_bound": True},
        {"name": "fc2", "kind": "linear", "shape": [2, 4], "nnz": 8, "sparsity": 0.0,
         "cycles": 40, "stall_cycles": {"imbalance": 0, "dram": 0, "readout": 4},
         "utilization": 0.9, "energy_uj": 0.05, "pe_busy_cycles": [36]},
    ]
}  # fmt: skip


def test_layers_info_by_hand():
    info = _get_layers_info(REPORT)
    assert info.names == ["fc1", "fc2"]
    assert info.busy.tolist() == [65.0, 36.0]  # 100 - 35, 40 - 4
    assert info.stalls["dram"].tolist() == [20.0, 0.0]
    row = info.rows[0]
    assert row["shape"] == "4 x 6" and row["sparsity (%)"] == 87.5 and row["DRAM-bound"] == "yes"
    assert row["waiting on broadcast / FIFO / imbalance (cycles)"] == 10
    assert row["PE busy max/mean"] == round(65 / 62.5, 2) and info.rows[1]["DRAM-bound"] == "no"
    assert row["utilization (%)"] == 50.0 and row["busy (%)"] == 60.0  # both, named apart
    assert "busy (%)" not in info.rows[1]  # a report without it: no column made up
    fig = validated(plot_layers(info))
    assert [t.name for t in fig.data] == [
        "not stalled", "waiting on broadcast / FIFO / imbalance", "waiting on DRAM", "readout", "energy",
    ]  # fmt: skip
    split = {"layers": [{"name": "a", "cycles": 9, "stall_cycles": {"fifo": 1, "broadcast": 2}}]}
    assert list(_get_layers_info(split).stalls) == ["broadcast", "fifo"]  # the report's causes


def test_pe_heatmap_pads_ragged_layers():
    info = _get_pe_heatmap_info(REPORT)
    assert np.array_equal(info.z, [[60, 65], [36, np.nan]], equal_nan=True)
    assert np.allclose(info.imbalance, [65 / 62.5, 1.0])
    fig = validated(plot_pe_heatmap(info))
    assert fig.data[0].y[0] == "fc1 (max/mean 1.04)"


def test_infos_tolerate_malformed_reports():
    for bad in (None, "x", {"layers": "x"}, {"layers": [1, {"cycles": "many"}]}):
        info = _get_layers_info(bad)
        assert len(info.rows) == len(info.names) <= 1
        _get_pe_heatmap_info(bad)
    assert _get_feedback_info({"feedback": "x"}) is None and _get_feedback_info(None) is None
    assert _get_feedback_info({"feedback": []}) is None


def test_feedback_path():
    tr = {"feedback": [
        {"period": 0, "epoch": 0, "accuracy": 0.80, "latency_us": 30.0, "energy_uj": 2.0},
        {"period": 1, "epoch": 2, "accuracy": 0.85, "latency_us": 20.0, "energy_uj": 1.5},
    ]}  # fmt: skip
    info = _get_feedback_info(tr)
    assert info.periods == [0, 1] and info.epochs == [0, 2]
    assert np.allclose(info.accuracy_pct, [80.0, 85.0]) and info.latency_us.tolist() == [30.0, 20.0]
    fig = validated(plot_feedback(info))
    assert list(fig.data[0].text) == ["p0", "p1"] and info.has_cost


def test_feedback_without_hardware_cost_plots_against_epoch():
    tr = {"feedback": [
        {"period": 0, "epoch": 0, "accuracy": None, "sparsity": 0.05},
        {"period": 1, "epoch": 1, "accuracy": 0.894, "sparsity": 0.51},
    ]}  # fmt: skip
    info = _get_feedback_info(tr)
    assert not info.has_cost and np.isnan(info.accuracy_pct[0])
    assert np.allclose(info.sparsity_pct, [5.0, 51.0])
    fig = validated(plot_feedback(info))
    assert [t.name for t in fig.data] == ["accuracy (%)", "sparsity (%)"]
    assert list(fig.data[0].x) == [0, 1]


def test_compare_info_lists_metrics_then_differing_params():
    info = _get_compare_info(frame(), [5, 0, 99], ["hw.n_pe", "hw.zero_skip"])
    assert info.trials == [5, 0]  # 99 is not in the frame
    assert np.allclose(info.metrics["accuracy"], [60.0, 80.0])
    assert info.differing == ["method", "hw.zero_skip"]  # both have 4 PEs
    assert info.table[0] == {"quantity": "Test accuracy (%)", "trial 5": "60", "trial 0": "80"}
    assert info.table[-1] == {"quantity": "hw.zero_skip", "trial 5": "none", "trial 0": "weights"}
    fig = validated(plot_compare(info))
    assert len(fig.data) == 4 and list(fig.data[2].y) == [400.0, 10.0]
