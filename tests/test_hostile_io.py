"""A careless or hostile user around files, paths, storage URLs, the environment and
machine-readable output (docs/reliability.md). Cases not already in ``test_fuzz_cli.py``.

Commands run in-process through ``codesign.cli.main.main`` where the process's own
state does not matter, and as real child processes where it does (a deleted working
directory, the environment).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codesign.cli.main import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# the sweep-file templates of the hostile-input table (a simulate-only grid, a training sweep)
from test_fuzz_cli import SHAPES, SWEEP, TRAIN_SWEEP  # noqa: E402


def sim_sweep(hw: str = "", shapes: str = SHAPES) -> str:
    return SWEEP.format(study="", hw=hw, search="", shapes=shapes)


def train_sweep(train: str = "", search: str = "") -> str:
    return TRAIN_SWEEP.format(train=train) + f"\n[search]\n{search}\n"


def cli(argv: list[str], capsys, cwd) -> tuple[int, str, str]:
    """``codesign ARGV`` run in ``cwd``: (exit status, stdout, stderr)."""
    with contextlib.chdir(cwd):
        try:
            rc = main(argv)
        except SystemExit as exc:  # argparse
            rc = exc.code
    return rc, *capsys.readouterr()


def one_line(rc, err: str) -> str:
    """The one error line of a clean refusal (exit 2, no traceback)."""
    assert rc == 2, err
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    return lines[0]


# -- a sweep file's errors name the field as the file writes it --------------------------------
# fmt: off
SPEC_CASES = [
    ("train-choice", train_sweep('reg_update = "x"', ""), "train.reg_update = 'x'"),
    ("train-range", train_sweep("lr = 0", ""), "train.lr = 0"),
    ("train-widths", train_sweep('hidden_units = "a"', ""), "train.hidden_units = 'a'"),
    ("train-device", train_sweep('device = "tpu"', ""), "train.device = 'tpu'"),
    ("train-feedback", train_sweep("feedback_smoothing = 2.0", ""), "train.feedback_smoothing = 2.0"),
    ("train-axis", train_sweep("", '"train.reg_update" = ["gradient", "x"]'), "search.\"train.reg_update\" = 'x'"),
    ("train-axis-range", train_sweep("", '"train.epochs" = {low = -1, high = 2}'), 'search."train.epochs" = -1'),
    ("hw-field", sim_sweep("n_pe = 0"), "hw.n_pe = 0"),
    ("hw-preset", sim_sweep().replace('preset = "default"', 'preset = "nope"'), "hw.preset = 'nope'"),
    ("workload-name", sim_sweep(shapes='"lfcc"'), "workload.shapes = 'lfcc'"),
    ("workload-layer", sim_sweep(shapes='[{kind = "linear", in = 0, out = 4}]'), "workload.shapes.linear0.in = 0"),
]
# fmt: on


@pytest.mark.parametrize("case", SPEC_CASES, ids=[c[0] for c in SPEC_CASES])
def test_a_sweep_file_error_names_the_field_as_the_file_writes_it(case, tmp_path, capsys):
    _, text, field = case
    (tmp_path / "f.toml").write_text(text)
    rc, _, err = cli(["sweep", "f.toml", "--storage", "sqlite:///s.db"], capsys, tmp_path)
    assert one_line(rc, err).startswith(f"codesign sweep: error: {field} is not allowed"), err
    assert not (tmp_path / "s.db").exists()


# -- a password in a storage URL is never printed ----------------------------------------------
SECRET = "s3cr3t-pw"
URLS = [
    f"postgresql://bob:{SECRET}@localhost/db",  # no driver installed: cannot be opened
    f"mysql://bob:{SECRET}@localhost/db",
    f"postgresql://bob:{SECRET}@host:notaport/db",  # SQLAlchemy cannot parse it
    f"nosuchscheme://bob:{SECRET}@host/db",
    f"postgresql://bob:pa@{SECRET}@localhost/db",  # an unescaped @ in the password
    f"postgresql://localhost/db?user=bob&password={SECRET}",
]
COMMANDS = [
    ["export", "--out", "o.csv", "--storage"],
    ["sweep", "f.toml", "--storage"],
    ["dash", "--check", "--storage"],
    ["dash", "--check", "--json", "--storage"],
]


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:-1]))
def test_a_password_in_a_storage_url_is_never_printed(url, command, tmp_path, capsys):
    (tmp_path / "f.toml").write_text(sim_sweep())
    rc, out, err = cli([*command, url], capsys, tmp_path)
    one_line(rc, err)
    assert SECRET not in out + err
    assert "***" in err, err  # the URL is still named, its password hidden


# -- an option given an empty value is refused, not taken as "the default" ---------------------
# before: train --out "" trained and saved nothing, train --show "" trained a network,
# simulate --workload "" simulated lfc, sweep --storage "" wrote to runs/s.db, and
# size --weights "" was a traceback
QUICK = [
    "train",
    "--model",
    "mlp",
    "--epochs",
    "0",
    "--retrain-epochs",
    "0",
    "--train-limit",
    "100",
]
# fmt: off
EMPTY_CASES = [
    [*QUICK, "--out", ""],
    [*QUICK, "--show", ""],
    [*QUICK, "--export-onnx", ""],
    [*QUICK, "--hidden", " "],
    ["simulate", "--workload", ""],
    ["size", "--weights", "", "--max-area-mm2", "9"],
    ["sweep", "f.toml", "--storage", ""],
    ["sweep", "f.toml", "--study", ""],
    ["sweep", "f.toml", "--cache-dir", ""],
    ["export", "--storage", "sqlite:///s.db", "--out", ""],
    ["dash", "--check", "--storage", ""],
]
# fmt: on


def _empty_flag(argv: list[str]) -> str:
    return next(a for a, v in zip(argv, argv[1:], strict=False) if not v.strip())


@pytest.mark.parametrize("argv", EMPTY_CASES, ids=lambda a: f"{a[0]} {_empty_flag(a)}")
def test_an_option_given_an_empty_value_is_refused(argv, tmp_path, capsys):
    (tmp_path / "f.toml").write_text(sim_sweep())
    flag = _empty_flag(argv)
    value = argv[argv.index(flag) + 1]
    rc, out, err = cli(argv, capsys, tmp_path)
    expected = f"error: {flag} = {value!r} is not allowed: expected a non-empty value"
    assert one_line(rc, err).endswith(expected), err
    assert out == ""
    assert sorted(os.listdir(tmp_path)) == ["f.toml"]  # no study, no run, no runs/


# -- a working directory that was deleted -------------------------------------------------------
GONE_CWD = """
import os, sys
os.makedirs("gone"); os.chdir("gone"); os.rmdir(os.path.abspath("."))
from codesign.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize(
    "argv",
    [["export", "--storage", "sqlite:///x.db", "--out", "x.csv"], ["simulate", "--json"]],
    ids=["export", "simulate"],
)
def test_a_deleted_working_directory_is_one_line(argv, tmp_path):
    """Before: ``export`` was a FileNotFoundError traceback from ``os.path.abspath``,
    ``sweep`` said "[Errno 2] No such file or directory", ``train`` died in torch's
    library loader (Intel oneMKL FATAL ERROR)."""
    env = {**os.environ, "PYTHONPATH": ROOT}
    p = subprocess.run(
        [sys.executable, "-c", GONE_CWD, *argv],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert one_line(p.returncode, p.stderr).endswith(
        "error: the working directory was deleted; cd into an existing directory and run again"
    )
    assert p.stdout == ""


# -- a trained-network cache that cannot be written ---------------------------------------------
def test_an_unwritable_cache_dir_is_refused_before_the_study_exists(tmp_path, capsys):
    """Before: the study was created, the trial trained, failed to store its network
    and the sweep ended with exit 0 and "1 failed"."""
    (tmp_path / "f.toml").write_text(train_sweep("train_limit = 100\nhidden_units = [4]"))
    (tmp_path / "a_file").write_text("x")
    argv = ["sweep", "f.toml", "--storage", "sqlite:///s.db", "--cache-dir", "a_file/cache"]
    rc, out, err = cli([*argv, "--no-progress"], capsys, tmp_path)
    assert one_line(rc, err).startswith("codesign sweep: error: --cache-dir 'a_file/cache': "), err
    assert "Not a directory" in err
    assert sorted(os.listdir(tmp_path)) == ["a_file", "f.toml"]


# -- hardware-feedback flags without --hw-feedback ---------------------------------------------
@pytest.mark.parametrize(
    "flags, given",
    [
        (["--feedback-smoothing", "2"], "--feedback-smoothing 2.0"),
        (["--hw-set", "n_pe=0"], "--hw-set 'n_pe=0'"),
        (["--hw", "edge"], "--hw 'edge'"),
        (["--feedback-per-column"], "--feedback-per-column"),
        (["--target-latency-us", "3"], "--target-latency-us 3.0"),
    ],
    ids=lambda v: v[0] if isinstance(v, list) else None,
)
def test_a_feedback_flag_without_hw_feedback_is_refused_before_training(
    flags, given, tmp_path, capsys
):
    """Before: training ran without hardware feedback, silently ignoring the flag (an
    invalid value such as ``--hw-set n_pe=0`` or ``--feedback-smoothing 2`` too)."""
    rc, out, err = cli([*QUICK, *flags, "--out", "r"], capsys, tmp_path)
    line = one_line(rc, err)
    assert line == f"codesign train: error: {given} needs --hw-feedback simpy or analytical " \
        "(without it training runs no hardware feedback and would ignore the flag)"  # fmt: skip
    assert out == "" and os.listdir(tmp_path) == []


# -- an ONNX network whose weights are not finite ----------------------------------------------
def _matmul_onnx(path, w) -> None:
    from onnx import TensorProto, helper, numpy_helper, save

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, w.shape[0]])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, w.shape[1]])
    node = helper.make_node("MatMul", ["x", "W"], ["y"])
    g = helper.make_graph([node], "g", [x], [y], [numpy_helper.from_array(w, "W")])
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), str(path))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")], ids=str)
@pytest.mark.parametrize("command", [["simulate", "--json"], [*QUICK]], ids=["simulate", "train"])
def test_an_onnx_weight_that_is_not_finite_is_refused(bad, command, tmp_path, capsys):
    """Before: ``simulate --onnx`` ternarized it to an all-zero layer (NaN compares false,
    inf takes max|W|) and reported a 100 % sparse network's figures, with exit 0."""
    import numpy as np

    w = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    w[1, 2] = bad
    _matmul_onnx(tmp_path / "m.onnx", w)
    rc, out, err = cli([*command, "--onnx", "m.onnx"], capsys, tmp_path)
    assert one_line(rc, err).endswith(
        "error: ONNX file 'm.onnx': weight 'W' of MatMul holds 1 NaN or infinite values; "
        "expected finite numbers"
    ), err
    assert out == ""


# -- train --export-onnx is checked like every other output file, before training ---------------
@pytest.mark.parametrize(
    "target, allowed",
    [
        ("precious.txt", "a path that does not exist yet (or pass --overwrite)"),
        ("adir", "a file path (this is a directory)"),
        ("newdir/m.onnx", "a path in an existing directory ({d}/newdir not found)"),
        (
            "precious.txt/m.onnx",
            "a path in an existing directory ({d}/precious.txt is not a directory)",
        ),
        ("y" * 256 + ".onnx", "a file name of at most 255 bytes"),
        ("/proc/m.onnx", "a path in a writable directory (cannot write into '/proc': "),
    ],  # fmt: skip
    ids=["existing-file", "directory", "missing-dir", "under-a-file", "name-too-long", "proc"],
)
def test_export_onnx_never_replaces_a_file_and_is_checked_before_training(
    target, allowed, tmp_path, capsys
):
    """Before: an existing file was replaced without --overwrite (a study database too),
    and a directory, a missing directory, a name over 255 bytes or a directory where no
    file can be made (/proc) was a traceback after training."""
    (tmp_path / "precious.txt").write_text("precious\n")
    (tmp_path / "adir").mkdir()
    rc, out, err = cli([*QUICK, "--export-onnx", target], capsys, tmp_path)
    expected = f"--export-onnx = {target!r} is not allowed: expected " + allowed
    assert expected.format(d=tmp_path) in one_line(rc, err), err
    assert out == "" and sorted(os.listdir(tmp_path)) == ["adir", "precious.txt"]
    assert (tmp_path / "precious.txt").read_text() == "precious\n"


def test_export_onnx_replaces_a_file_with_overwrite(tmp_path, capsys):
    (tmp_path / "old.onnx").write_text("old\n")
    rc, out, err = cli([*QUICK, "--export-onnx", "old.onnx", "--overwrite"], capsys, tmp_path)
    assert rc == 0, err
    assert (tmp_path / "old.onnx").read_bytes()[:20] != b"old\n"
    assert sorted(os.listdir(tmp_path)) == ["old.onnx"]


# -- closed standard streams --------------------------------------------------------------------
def _codesign(argv, cwd, env_extra=None, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": ROOT, **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "codesign.cli.main", *argv], cwd=cwd, env=env, timeout=120, **kw
    )


def test_a_closed_stdout_or_stderr_keeps_the_exit_status(tmp_path):
    """Before: ``codesign simulate --json >&-`` was an AttributeError traceback (exit 1:
    Python leaves sys.stdout None), and an error with ``2>&-`` exited 1, not 2."""
    p = _codesign(["simulate", "--json"], tmp_path, stderr=subprocess.PIPE,
                  preexec_fn=lambda: os.close(1))  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert p.stderr == b""
    p = _codesign(["simulate", "--workload", "nope"], tmp_path, preexec_fn=lambda: os.close(2))
    assert p.returncode == 2


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_a_name_the_terminal_cannot_encode_is_escaped_not_a_traceback(encoding, tmp_path, capsys):
    """Before: in an ASCII or Latin-1 locale, ``export --out 研究.csv`` wrote the file, then
    died on printing its name (UnicodeEncodeError, exit 1)."""
    (tmp_path / "f.toml").write_text(sim_sweep())
    assert cli(["sweep", "f.toml", "--storage", "sqlite:///s.db", "--no-progress"], capsys,
               tmp_path)[0] == 0  # fmt: skip
    p = _codesign(["export", "--storage", "sqlite:///s.db", "--out", "研究.csv"], tmp_path,
                  capture_output=True, env_extra={"PYTHONIOENCODING": encoding})  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"wrote 2 trials to \\u7814\\u7a76.csv (csv)\n"
    assert (tmp_path / "研究.csv").exists()


# -- the commands a sweep prints to copy into a shell ------------------------------------------
def test_the_commands_a_sweep_prints_are_one_shell_word_per_value(tmp_path, capsys):
    """Before: ``explore: codesign dash --storage sqlite:///my runs/q.db`` and a study name
    holding ``; rm -rf x`` were printed unquoted: pasted, they split or ran the name."""
    import shlex

    name = "my study; rm -rf x"
    (tmp_path / "my runs").mkdir()
    (tmp_path / "my runs" / "q.toml").write_text(
        sim_sweep().replace('name = "s"', f'name = "{name}"')
    )
    url = "sqlite:///my runs/q.db"
    rc, out, err = cli(
        ["sweep", "my runs/q.toml", "--storage", url, "--no-progress"], capsys, tmp_path
    )
    assert rc == 0, err
    shown = {ln.split(":", 1)[0]: shlex.split(ln.split(":", 1)[1]) for ln in out.splitlines()
             if ln.startswith(("explore:", "export:"))}  # fmt: skip
    assert shown["explore"] == ["codesign", "dash", "--storage", url, "--study", name]
    export = shown["export"]
    assert export[:6] == ["codesign", "export", "--storage", url, "--study", name]
    rc, out, err = cli(export[1:], capsys, tmp_path)  # the printed command, as a shell runs it
    assert rc == 0, err
    assert (tmp_path / f"{name}.csv").read_text().startswith("number,state,")


# -- a storage URL whose path starts with ~ ----------------------------------------------------
@pytest.mark.parametrize(
    "url, file", [("sqlite:///~/x.db", "x.db"), ("journal://~/x.log", "x.log")]
)
def test_a_storage_path_starting_with_tilde_is_in_the_home_directory(
    url, file, tmp_path, capsys, monkeypatch
):
    """Before: no shell expands ``~`` inside a URL (nor in a sweep file's ``storage``), and
    the study went to a new directory literally named ``~`` in the working directory."""
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    (work / "f.toml").write_text(sim_sweep())
    rc, _, err = cli(["sweep", "f.toml", "--storage", url, "--no-progress"], capsys, work)
    assert rc == 0, err
    assert file in os.listdir(home) and sorted(os.listdir(work)) == ["f.toml"]
    rc, _, err = cli(["export", "--storage", url, "--out", f"{home}/{file}", "--format", "csv",
                      "--overwrite"], capsys, work)  # fmt: skip
    assert "own storage" in one_line(rc, err)  # the same file, however it is named


# -- a damaged entry in the trained-network cache ----------------------------------------------
def test_a_damaged_cache_entry_is_trained_again_not_failed_forever(tmp_path, capsys):
    """Before: a truncated ``runs/cache/<key>/ternary.npz`` failed every trial with these
    training knobs, in every study, for good ("is not a valid ternary.npz")."""
    import json

    (tmp_path / "f.toml").write_text(train_sweep("train_limit = 100\nhidden_units = [4]"))
    argv = ["sweep", "f.toml", "--cache-dir", "cache", "--no-progress", "--json"]
    rc, out, err = cli([*argv, "--storage", "sqlite:///a.db"], capsys, tmp_path)
    assert rc == 0 and json.loads(out)["trials_done"] == 1, err
    (entry,) = (tmp_path / "cache").iterdir()
    npz = entry / "ternary.npz"
    npz.write_bytes(npz.read_bytes()[:100])
    rc, out, err = cli([*argv, "--storage", "sqlite:///b.db"], capsys, tmp_path)
    assert rc == 0 and json.loads(out)["trials_done"] == 1, err
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [entry.name]
    assert npz.stat().st_size > 100  # stored again, whole


def test_an_export_suffix_that_names_no_format_is_named_as_given(tmp_path, capsys):
    """Before: ``--out x.txt`` said ``--format = 'txt' is not allowed``: a flag not given."""
    (tmp_path / "f.toml").write_text(sim_sweep())
    assert cli(["sweep", "f.toml", "--storage", "sqlite:///s.db", "--no-progress"], capsys,
               tmp_path)[0] == 0  # fmt: skip
    rc, _, err = cli(["export", "--storage", "sqlite:///s.db", "--out", "x.txt"], capsys, tmp_path)
    assert one_line(rc, err).endswith(
        "--out = 'x.txt' is not allowed: expected a name ending .csv or .parquet (or give --format)"
    )
    assert not (tmp_path / "x.txt").exists()


# -- any hostile path given to a flag that reads a file -----------------------------------------
READERS = [
    ["simulate", "--weights={}"],
    ["simulate", "--workload={}"],
    ["simulate", "--hw={}"],
    ["simulate", "--tech={}"],
    ["simulate", "--onnx={}"],
    ["size", "--max-area-mm2", "9", "--hw={}", "--workload", "lfc"],
    ["size", "--max-area-mm2", "9", "--weights={}"],
    ["sweep", "{}"],
    ["train", "--show={}"],
    ["export", "--storage=sqlite:///{}", "--out", "o.csv"],
    ["export", "--storage=journal://{}", "--out", "o.csv"],
    ["dash", "--check", "--storage=sqlite:///{}"],
]
PATHS = st.one_of(
    st.sampled_from(["loop", "loop/x", "dangling", "adir", "a_file/x", "-x", "./-", "~", "."]),
    st.builds(
        "/".join,
        st.lists(st.sampled_from(["y" * 256, "z" * 300, "..", "é" * 130]), min_size=1, max_size=20),
    ),  # fmt: skip
    st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"),
        min_size=1,
        max_size=40,
    ),  # fmt: skip
)


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("paths")
    os.symlink("loop", d / "loop")
    os.symlink("/nonexistent/target", d / "dangling")
    (d / "adir").mkdir()
    (d / "a_file").write_text("x")
    return d


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(command=st.sampled_from(READERS), path=PATHS)
def test_any_path_a_command_reads_is_read_or_refused_in_one_line(
    command, path, hostile_dir, capsys
):
    """Before: ``--hw`` with a 256-byte name was an OSError traceback (ENAMETOOLONG from
    ``Path.is_file``)."""
    before = sorted(os.listdir(hostile_dir))
    rc, out, err = cli([a.format(path) for a in command], capsys, hostile_dir)
    if rc != 0:
        one_line(rc, err)
    assert sorted(os.listdir(hostile_dir)) == before


@pytest.mark.parametrize("scheme", ["sqlite:///", "journal://"])
def test_a_storage_path_over_path_max_leaves_no_directories_behind(scheme, tmp_path, capsys):
    """Before: the sweep was refused, but the first ~20 of the 25 directories were left."""
    (tmp_path / "f.toml").write_text(sim_sweep())
    deep = "/".join(["z" * 200] * 25) + "/x.db"
    rc, _, err = cli(["sweep", "f.toml", "--storage", scheme + deep], capsys, tmp_path)
    assert "cannot be created" in one_line(rc, err) and "File name too long" in err
    assert sorted(os.listdir(tmp_path)) == ["f.toml"]


# -- --json is strict JSON --------------------------------------------------------------------
def _strict(text: str):
    import json

    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_sweep_json_is_strict_with_an_infinite_value_in_the_study(tmp_path, capsys):
    """Before: a COMPLETE trial valued -inf (written into the study by another program
    through Optuna) was on the front and ``sweep --json`` printed ``-Infinity``."""
    import optuna

    (tmp_path / "f.toml").write_text(sim_sweep())
    argv = ["sweep", "f.toml", "--storage", "sqlite:///s.db", "--no-progress", "--json"]
    assert cli(argv, capsys, tmp_path)[0] == 0
    study = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path}/s.db")
    study.add_trial(optuna.trial.create_trial(values=[float("-inf")]))
    rc, out, err = cli(argv, capsys, tmp_path)
    assert rc == 0, err
    front = _strict(out)["front"]
    assert {"number": 2, "values": {"latency_us": None}, "params": {}} in front


def test_every_json_output_is_strict_json_and_alone_on_stdout(tmp_path, capsys):
    """A guard over the edge cases tried this session (all-zero layers, both fidelities,
    baselines, an infeasible size, a foreign study with inf values), in real processes
    with stdin closed, stdout a pipe and CI set: stdout holds one strict JSON object."""
    import numpy as np
    import optuna

    np.savez(tmp_path / "zero.npz", names=np.array(["fc1"]), kinds=np.array(["linear"]),
             w0=np.zeros((4, 3), np.int8), scale=np.ones(1, np.float32),
             out_pixels=np.ones(1, np.int64), act_density=np.ones(1))  # fmt: skip
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    foreign = optuna.create_study(storage=f"sqlite:///{tmp_path}/f.db", directions=["minimize"])
    foreign.add_trial(optuna.trial.create_trial(values=[float("inf")]))
    (tmp_path / "f.toml").write_text(sim_sweep())
    commands = [
        ["simulate", "--weights", "zero.npz", "--fidelity", "both", "--compare-baselines"],
        ["size", "--weights", "zero.npz", "--max-latency-us", "1e-9", "--n-pe", "1,2"],
        ["sweep", "f.toml", "--storage", "sqlite:///s.db"],
        ["export", "--storage", "sqlite:///f.db", "--out", "f.csv"],
        ["dash", "--check", "--storage", "sqlite:///f.db"],
    ]
    for argv in commands:
        p = _codesign([*argv, "--json"], tmp_path, capture_output=True, text=True,
                      stdin=subprocess.DEVNULL, env_extra={"CI": "true"})  # fmt: skip
        assert p.returncode in (0, 3), p.stderr  # size: 3 = budgets cannot be met
        assert isinstance(_strict(p.stdout), dict), argv


def test_a_tech_value_that_overflows_an_energy_is_refused(tmp_path, capsys):
    """Before: ``access_energy_pj_per_bit = 1e308`` (finite, so accepted) summed to an
    energy of inf uJ, printed by ``simulate --json`` as ``Infinity`` (exit 0)."""
    import re

    bundled = os.path.join(ROOT, "accelerators", "data", "tech45.toml")
    with open(bundled, encoding="utf-8") as fh:
        text = re.sub(r"access_energy_pj_per_bit = [0-9.e-]+", "access_energy_pj_per_bit = 1e308",
                      fh.read())  # fmt: skip
    (tmp_path / "t.toml").write_text(text)
    rc, out, err = cli(["simulate", "--tech", "t.toml", "--json"], capsys, tmp_path)
    assert one_line(rc, err).endswith(
        "tech registers.access_energy_pj_per_bit = 1e+308 is not allowed: expected a number <= 1e+09"
    )
    assert out == ""


@pytest.mark.parametrize("url", ["sqlite:///:memory:", "journal://", "postgresql://h:port/d"])
def test_a_bad_storage_in_the_sweep_file_is_named_as_the_file_writes_it(url, tmp_path, capsys):
    """Before: ``storage = ...`` in the file was reported as ``--storage = ...``, a flag
    the user did not give."""
    (tmp_path / "f.toml").write_text(
        sim_sweep().replace('name = "s"', f'name = "s"\nstorage = "{url}"')
    )
    rc, _, err = cli(["sweep", "f.toml"], capsys, tmp_path)
    assert one_line(rc, err).startswith(
        f"codesign sweep: error: study.storage = {url!r} is not allowed"
    )
    assert sorted(os.listdir(tmp_path)) == ["f.toml"]


def test_a_thread_count_past_the_limit_is_refused_before_torch_starts(tmp_path):
    """Before: ``--threads 100000`` reached torch, and OpenBLAS failed to start its threads
    and crashed the process (segfault, exit 139). A child process: it may crash."""
    p = _codesign([*QUICK, "--threads", "100000"], tmp_path, capture_output=True, text=True)
    assert one_line(p.returncode, p.stderr).endswith(
        "--threads = 100000 is not allowed: expected an integer in 0..1024"
    )
