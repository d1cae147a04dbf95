"""How fast the Pareto explorer is on big studies (1,000 / 10,000 / 50,000 trials).

For each size it writes a contract-3 study into SQLite in bulk
(``dashboards.demo.write_demo_study(..., bulk=True)``: one SQLAlchemy Core
``executemany`` per Optuna table in one transaction, reports from the
closed-form stand-in because the analytical simulator takes ~50 ms a trial),
then measures, as medians:

- ``first_render_s``: server side, from nothing to the front's JSON: open the
  storage, read the study (``StudySource.snapshot``), build the filter panel
  (``poll``), build the accuracy-versus-area figure and serialize it as Dash does;
- ``optuna_get_trials_s``: the same study read with ``study.get_trials(deepcopy=False)``
  (what the fast reader avoids), for comparison;
- ``filter_change_s``: one filter/budget change (``front_figure`` + JSON), over
  varied filter values;
- ``refresh_unchanged_s``: a poll when no trial changed (one COUNT-like query);
- ``browser_first_render_s`` (with ``--browser``): headless Chromium, from
  navigation to every point of the front drawn, for SVG and WebGL markers.

Targets on this machine: first render <= 2 s and filter change <= 300 ms at
10,000 trials. Writes benchmarks/results/dashboard.json and prints a table.

    python benchmarks/dashboard.py [--sizes 1000 10000 50000] [--browser] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from dashboards import create_app  # noqa: E402
from dashboards.callbacks import front_figure, poll  # noqa: E402
from dashboards.data import StudySource  # noqa: E402
from dashboards.demo import write_demo_study  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "dashboard.json")
TARGETS = {"first_render_s": 2.0, "filter_change_s": 0.3}


def _median(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def first_render(url: str) -> tuple:
    source = StudySource(url)
    _, _, _, _, schema, *_ = poll(source, None, None)
    fig = front_figure(source.current(), "area_mm2", "method", schema)
    return source, schema, fig.to_json()


def filter_changes(source, schema, n: int = 15):
    frame = source.current().frame
    rng = np.random.default_rng(0)
    acc = schema["ranges"]["accuracy"]
    cases = []
    for i in range(n):
        lo = acc["min"] + rng.uniform(0, 0.5) * (acc["max"] - acc["min"])
        cases.append(
            {
                "tab": ["area_mm2", "latency_us", "energy_uj"][i % 3],
                "ranges": {"accuracy": [lo, acc["max"]]},
                "cats": {"hw.zero_skip": ["weights", "weights+activations"]} if i % 2 else {},
                "max_area": float(np.quantile(frame["area_mm2"], rng.uniform(0.3, 1.0))),
                "color_by": ["method", "hw.n_pe", None][i % 3],
            }
        )
    times = []
    for c in cases:
        t = time.perf_counter()
        fig = front_figure(
            source.current(),
            c["tab"],
            c["color_by"],
            schema,
            c["ranges"],
            c["cats"],
            c["max_area"],
            None,
        )
        fig.to_json()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def optuna_read(url: str) -> float:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    t = time.perf_counter()
    optuna.load_study(storage=url, study_name="demo").get_trials(deepcopy=False)
    return time.perf_counter() - t


# -- browser ----------------------------------------------------------------------------------
def _chrome():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options

    options = Options()
    if os.path.exists("/usr/lib/chromium/chromium"):
        options.binary_location = "/usr/lib/chromium/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--enable-unsafe-swiftshader",  # software WebGL for scattergl in headless mode
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(options=options)


DRAWN_JS = """
const gd = document.querySelector('#front .js-plotly-plot');
if (!gd || !gd._fullData) return -1;
let n = 0;
for (const t of gd._fullData) {
  if (t.type === 'scattergl' && t.customdata && gd._fullLayout._glcanvas) n += t.customdata.length;
}
n += document.querySelectorAll('#front .scatterlayer .trace .points path').length;
return n;
"""


def browser_first_render(url: str, n_points: int, webgl_above: int, repeats: int) -> float:
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    times = []
    driver = _chrome()
    try:
        for _ in range(repeats):
            app = create_app(url, refresh_s=3600, webgl_above=webgl_above)
            server = make_server("127.0.0.1", 0, app.server, threaded=True)
            port = server.server_port
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            try:
                t = time.perf_counter()
                driver.get(f"http://127.0.0.1:{port}/")
                while driver.execute_script(DRAWN_JS) < n_points:
                    if time.perf_counter() - t > 120:
                        raise TimeoutError("the front was not drawn within 120 s")
                    time.sleep(0.02)
                times.append(time.perf_counter() - t)
            finally:
                server.shutdown()
    finally:
        driver.quit()
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--browser", action="store_true", help="also time the page in Chromium")
    parser.add_argument("--optuna-up-to", type=int, default=10000,
                        help="time study.get_trials only up to this many trials (slow)")  # fmt: skip
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            url = f"sqlite:///{tmp}/bench{n}.db"
            t = time.perf_counter()
            write_demo_study(url, n, bulk=True, real_reports=False)
            write_s = time.perf_counter() - t
            state = {}

            def cold(url=url, state=state):
                state["out"] = first_render(url)

            row = {"trials": n, "write_bulk_s": round(write_s, 2)}
            row["first_render_s"] = _median(cold, args.repeats)
            source, schema, js = state["out"]
            row["front_json_mb"] = round(len(js) / 1e6, 2)
            row["shown"] = len(source.current().frame)
            row["filter_change_s"] = filter_changes(source, schema)
            row["refresh_unchanged_s"] = _median(lambda s=source: s.snapshot(), args.repeats * 3)
            if n <= args.optuna_up_to:
                row["optuna_get_trials_s"] = _median(lambda u=url: optuna_read(u), 3)
            if args.browser:
                shown = row["shown"]
                row["browser_first_render_webgl_s"] = browser_first_render(url, shown, 0, 3)
                if n <= 10000:
                    row["browser_first_render_svg_s"] = browser_first_render(url, shown, 10**9, 3)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    keys = [
        "trials", "write_bulk_s", "first_render_s", "filter_change_s", "refresh_unchanged_s",
        "optuna_get_trials_s", "browser_first_render_webgl_s", "browser_first_render_svg_s",
        "front_json_mb",
    ]  # fmt: skip
    keys = [k for k in keys if any(k in r for r in rows)]
    print("  ".join(f"{k:>14}" for k in keys))
    for r in rows:
        cells = []
        for k in keys:
            v = r.get(k)
            cells.append(
                f"{'-':>14}" if v is None else f"{v:>14.3f}" if isinstance(v, float) else f"{v:>14}"
            )
        print("  ".join(cells))
    at = next((r for r in rows if r["trials"] == 10000), None)
    verdict = {}
    if at:
        for k, target in TARGETS.items():
            verdict[k] = {"measured": round(at[k], 4), "target": target, "met": at[k] <= target}
            print(f"{k} at 10,000 trials: {at[k]:.3f} s (target <= {target} s): "
                  f"{'met' if at[k] <= target else 'MISSED'}")  # fmt: skip
    out = {
        "command": "python " + " ".join(sys.argv),
        "machine": f"{os.cpu_count()} CPUs (shared)",
        "units": "seconds (medians); front_json_mb in MB",
        "rows": rows,
        "targets_at_10000": verdict,
    }
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as f:
        json.dump(out, f, indent=2)
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
