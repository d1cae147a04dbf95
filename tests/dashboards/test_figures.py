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
from dashboards.figures import (
    _get_front_3d_info,
    _get_front_info,
    apply_budgets,
    plot_front,
    plot_front_3d,
    use_log,
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
    assert info.x_title == "Area (mm²)" and info.y_title == "Accuracy (%)"
    assert not info.log_x  # 0.5..5 is a 10x span
    assert _get_front_info(frame(), "latency_us").log_x  # 0.5..400 is 800x


def test_budgets_grey_out_and_the_front_is_recomputed():
    budget = apply_budgets(frame(), max_area_mm2=3.0)
    assert budget.tolist() == [True, False, True, True, False, True]
    info = _get_front_info(frame(), "area_mm2", budget)
    assert info.on_front.tolist() == [True, False, True, False, False, True]
    budget = apply_budgets(frame(), max_area_mm2=4.5, max_latency_us=8)
    assert budget.tolist() == [False, True, True, False, False, False]


def test_use_log():
    assert use_log([1, 21]) and not use_log([1, 20]) and not use_log([-1, 100])
    assert not use_log([])


def test_plot_front_draws_a_valid_figure_with_baseline_symbols():
    info = _get_front_info(frame(), "area_mm2", apply_budgets(frame(), 4.5), "hw.zero_skip", 2)
    fig = validated(plot_front(info))
    names = [t.name for t in fig.data]
    assert names[0] == "over budget" and "Pareto front" in names
    assert "dense binary baseline" in names and "dense ternary baseline" in names
    assert "none" in names and "weights" in names and "trial 2" in names
    over = fig.data[0]
    assert list(over.customdata) == [4]  # trial 4 (5 mm²) is over the 4.5 mm² budget
    assert list(over.marker.symbol) == ["diamond"]  # the ternary baseline's symbol
    line = next(t for t in fig.data if t.name == "Pareto front")
    assert line.line.shape == "hv"
    points = [t for t in fig.data if t.name in ("none", "weights")]
    assert sum(len(t.x) for t in points) == 5
    none = next(t for t in points if t.name == "none")
    assert list(none.customdata) == [2, 3, 5]
    assert list(none.marker.opacity) == [1.0, 0.25, 1.0]  # dominated trial 3 is faded


def test_numeric_colour_and_webgl():
    info = _get_front_info(frame(), "energy_uj", color_by="hw.n_pe")
    assert info.color_is_numeric and info.color.tolist() == [4, 64, 16, 8, 64, 4]
    fig = validated(plot_front(info, webgl=True))
    assert fig.data[0].type == "scattergl" and fig.data[0].marker.showscale


def test_front_3d_by_hand():
    info = _get_front_3d_info(frame())
    # trial 3 (70 %, 3 mm², 20 us) is dominated by trial 0 (80 %, 1 mm², 10 us); trial 4
    # (90 %, 5 mm², 0.5 us) is now on the front thanks to its latency.
    assert info.on_front.tolist() == [True, True, True, False, True, True]
    assert info.log_y and not info.log_x
    fig = validated(plot_front_3d(info))
    assert [len(t.x) for t in fig.data] == [1, 5]
    assert fig.layout.scene.yaxis.type == "log"
    budget = apply_budgets(frame(), max_latency_us=15)
    assert _get_front_3d_info(frame(), budget).trials.tolist() == [0, 1, 2, 4]


REPORT = {
    "layers": [
        {"name": "fc1", "kind": "linear", "shape": [4, 6], "nnz": 3, "sparsity": 0.875,
         "cycles": 100, "stall_cycles": {"imbalance": 10, "dram": 20, "readout": 5},
         "utilization": 0.5, "energy_uj": 0.25, "pe_busy_cycles": [60, 65], "dram_bound": True},
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
    assert row["imbalance stall (cycles)"] == 10 and info.rows[1]["DRAM-bound"] == "no"
    fig = validated(plot_layers(info))
    assert [t.name for t in fig.data] == [
        "busy", "imbalance stall", "dram stall", "readout stall", "energy",
    ]  # fmt: skip


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
    assert info.table[0] == {"quantity": "Accuracy (%)", "trial 5": "60", "trial 0": "80"}
    assert info.table[-1] == {"quantity": "hw.zero_skip", "trial 5": "none", "trial 0": "weights"}
    fig = validated(plot_compare(info))
    assert len(fig.data) == 4 and list(fig.data[2].y) == [400.0, 10.0]
