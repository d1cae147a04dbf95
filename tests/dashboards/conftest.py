"""Headless Chromium for ``dash_duo`` and studies written by the real sweep (``run_sweep``).

dash.testing builds ``webdriver.Chrome(options=...)`` from the first element of the
list returned by the ``pytest_setup_options`` hook, then adds its own flags
(``--no-sandbox``, ``--disable-gpu`` ...). Selenium finds ``chromedriver`` on PATH
(Debian's ``/usr/bin/chromedriver``); the browser binary is Debian's Chromium.
"""

from __future__ import annotations

import os
import shutil

import pytest

ARTIFACTS = os.path.join(os.path.dirname(__file__), "..", "artifacts")


def pytest_setup_options():
    from selenium.webdriver.chrome.options import Options

    options = Options()
    for path in ("/usr/lib/chromium/chromium", "/usr/bin/chromium"):
        if os.path.exists(path):
            options.binary_location = path
            break
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    return options  # pluggy collects hook results into the list dash.testing expects


def pytest_collection_modifyitems(config, items):
    if shutil.which("chromedriver") is None:
        skip = pytest.mark.skip(reason="chromedriver not installed")
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(skip)


@pytest.fixture
def artifacts_dir():
    os.makedirs(ARTIFACTS, exist_ok=True)
    return os.path.abspath(ARTIFACTS)


TRAIN_SPEC = {
    "study": {
        "name": "train",
        "objectives": ["accuracy", "latency_us", "area_mm2"],
        "sampler": "grid",
        "fidelity": "analytical",
        "seed": 0,
    },
    "train": {
        "dataset": "digits",
        "model": "mlp",
        "hidden_units": [32],
        "epochs": 1,
        "retrain_epochs": 1,
        "batch_size": 100,
        "lr": 0.01,
        "feedback_objective": "latency",
    },
    "hw": {"preset": "default"},
    # binary and ternary baselines ignore the regularizer: 6 identical designs per PE count
    "search": {
        "train.method": ["sparse-ternary", "binary", "ternary"],
        "train.reg_strength": [0.0003, 0.003, 0.03],
        "train.feedback": ["none", "analytical"],
        "hw.n_pe": [4, 16],
    },
}


def run_spec(spec: dict, url: str, root) -> None:
    from codesign.sweep import parse_spec, run_sweep

    parsed = parse_spec(spec, spec["study"]["name"], str(root))
    summary = run_sweep(parsed, storage=url, progress=False, cache_dir=str(root / "cache"))
    assert summary.trials_failed == 0


@pytest.fixture(scope="session")
def study_url(tmp_path_factory):
    """A 36-trial training sweep (digits, 1+1 epochs, analytical model) written by the real
    ``run_sweep``: 16 distinct designs, four of them stacked six deep (about 10 s)."""
    root = tmp_path_factory.mktemp("train")
    url = f"sqlite:///{root / 'train.db'}"
    run_spec(TRAIN_SPEC, url, root)
    return url


@pytest.fixture
def empty_study_url(tmp_path):
    """A study with its objectives recorded and no trial at all."""
    import optuna

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    study = optuna.create_study(
        storage=url, study_name="empty", directions=["maximize", "minimize"]
    )
    study.set_user_attr("objectives", ["accuracy", "area_mm2"])
    return url


HW_SPEC = {
    "study": {
        "name": "hw",
        "objectives": ["latency_us", "area_mm2", "energy_uj"],
        "sampler": "grid",
        "fidelity": "analytical",
        "seed": 0,
    },
    "workload": {
        "shapes": [
            {"kind": "linear", "in": 64, "out": 32},
            {"kind": "linear", "in": 32, "out": 10},
        ],
        "sparsity": 0.8,
    },
    # a one-wide broadcast: with the preset's four, one design dominates energy-vs-latency
    "hw": {"preset": "default", "broadcast_acts_per_cycle": 1},
    "search": {"hw.n_pe": [1, 2, 4, 8], "hw.lanes_per_pe": [1, 4], "workload.sparsity": [0.5, 0.9]},
}


@pytest.fixture(scope="session")
def hw_study_url(tmp_path_factory):
    """A simulate-only study ([workload], no [train]) written by the real sweep code:
    16 grid points scored with the analytical model; every trial's accuracy is null."""
    root = tmp_path_factory.mktemp("hw")
    url = f"sqlite:///{root / 'hw.db'}"
    run_spec(HW_SPEC, url, root)
    return url


@pytest.fixture(scope="session")
def journal_study_url(tmp_path_factory):
    """The simulate-only sweep of ``hw_study_url`` written to a journal file by ``run_sweep``."""
    root = tmp_path_factory.mktemp("journal")
    url = f"journal:///{root / 'hw.log'}"
    run_spec(HW_SPEC, url, root)
    return url
