"""Headless Chromium for ``dash_duo`` and a realistic sweep study written through Optuna.

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


@pytest.fixture(scope="session")
def study_url(tmp_path_factory):
    """A 40-trial contract-3 study (real analytical reports when accelerators has them)."""
    from dashboards.demo import write_demo_study

    url = f"sqlite:///{tmp_path_factory.mktemp('study') / 'demo.db'}"
    write_demo_study(url, n_trials=40, study_name="demo", seed=1, bulk=True)
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
    from codesign.sweep import parse_spec, run_sweep

    root = tmp_path_factory.mktemp("hw")
    url = f"sqlite:///{root / 'hw.db'}"
    spec = parse_spec(HW_SPEC, "hw", str(root))
    summary = run_sweep(spec, storage=url, progress=False, cache_dir=str(root / "cache"))
    assert (summary.trials_done, summary.trials_failed) == (16, 0)
    return url
