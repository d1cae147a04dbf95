"""Every subcommand on hostile input: exit 2, one line naming the problem, no traceback, and
every file that existed before byte-identical after (docs/reliability.md).

The table holds the cases found by hand (issue #9 and our own); the hypothesis
tests throw random values at the fields a user types most (``--set FIELD=VALUE``,
sweep-file values, train knobs). Commands run in-process through
``codesign.cli.main.main`` (the same code path as the console script, minus
the interpreter start-up), in a scratch directory holding the files the cases
point at.
"""

from __future__ import annotations

import hashlib
import io
import os
import sqlite3
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codesign.cli.main import main

SHAPES = '[{kind = "linear", in = 48, out = 24}, {kind = "linear", in = 24, out = 10}]'

SWEEP = """
[study]
name = "s"
objectives = ["latency_us"]
sampler = "grid"
{study}

[workload]
shapes = {shapes}
sparsity = 0.8

[hw]
preset = "default"
{hw}

[search]
"hw.n_pe" = [1, 2]
{search}
"""

TRAIN_SWEEP = """
[study]
name = "t"
sampler = "random"
trials = 1

[train]
dataset = "digits"
model = "mlp"
epochs = 1
{train}
"""


def _sweep(study="", hw="", search="") -> str:
    return SWEEP.format(study=study, hw=hw, search=search, shapes=SHAPES)


def _write_npz(path, **arrays) -> None:
    np.savez(path, **arrays)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A directory with every file the cases point at (a real study among them)."""
    d = tmp_path_factory.mktemp("fuzz")
    good = dict(
        names=np.array(["fc1"]),
        kinds=np.array(["linear"]),
        w0=np.zeros((4, 3), dtype=np.int8),
        scale=np.ones(1, dtype=np.float32),
        out_pixels=np.ones(1, dtype=np.int64),
        act_density=np.ones(1),
    )
    _write_npz(d / "good.npz", **good)
    data = (d / "good.npz").read_bytes()
    (d / "truncated.npz").write_bytes(data[: len(data) // 2])
    (d / "empty.npz").write_bytes(b"")
    (d / "text.npz").write_text("not a zip\n")
    _write_npz(d / "mismatched.npz", **{**good, "scale": np.ones(3, dtype=np.float32)})
    _write_npz(d / "missing_key.npz", **{k: v for k, v in good.items() if k != "w0"})
    _write_npz(d / "float_w.npz", **{**good, "w0": np.full((4, 3), 0.5)})
    _write_npz(d / "big_w.npz", **{**good, "w0": np.full((4, 3), 7, dtype=np.int8)})
    with zipfile.ZipFile(d / "bomb.npz", "w") as z:  # a header claiming 10^10 weights
        for k, v in good.items():
            if k != "w0":
                buf = io.BytesIO()
                np.save(buf, v)
                z.writestr(f"{k}.npy", buf.getvalue())
        buf = io.BytesIO()
        header = {"descr": "|i1", "fortran_order": False, "shape": (100_000, 100_000)}
        np.lib.format.write_array_header_1_0(buf, header)
        z.writestr("w0.npy", buf.getvalue() + bytes(100))
    with zipfile.ZipFile(d / "zip_not_npz.npz", "w") as z:
        z.writestr("hello.txt", "x")
    (d / "bad.toml").write_text("this is = = not toml\n")
    (d / "many_layers.json").write_text(
        '{"layers": [' + ", ".join(['{"kind": "linear", "in": 2, "out": 2}'] * 20_000) + "]}"
    )
    n = 20_000
    _write_npz(
        d / "many_layers.npz",
        names=np.array([f"l{i}" for i in range(n)]),
        kinds=np.array(["linear"] * n),
        scale=np.ones(n, dtype=np.float32),
        out_pixels=np.ones(n, dtype=np.int64),
        act_density=np.ones(n),
        w0=np.zeros((2, 2), dtype=np.int8),
    )
    (d / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (d / "deep.toml").write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    (d / "deep.log").write_text("[" * 60_000 + "\n")
    (d / "huge.toml").write_text("# " + "x" * (17 * 2**20) + "\n")
    (d / "latin1.toml").write_bytes('[study]\nname = "caf\xe9"\n'.encode("latin-1"))
    (d / "hw_inf.toml").write_text("clock_mhz = inf\n")
    (d / "hw_str.toml").write_text('n_pe = "many"\n')
    (d / "plain.db").write_bytes(b"")
    con = sqlite3.connect(d / "other.db")
    con.execute("create table people (name text)")
    con.commit()
    con.close()
    (d / "garbage.db").write_bytes(b"SQLite format 3\x00" + os.urandom(3000))
    (d / "garbage.log").write_text("hello\n")
    os.mkdir(d / "adir")
    os.mkfifo(d / "a_fifo")
    os.mkdir(d / "run_exists")
    (d / "run_exists" / "report.json").write_text("{}")
    os.mkdir(d / "run_truncated")
    (d / "run_truncated" / "report.json").write_text('{"accuracy": 0.5')
    (d / "run_truncated" / "ternary.npz").write_bytes(data[:100])
    (d / "a_file").write_text("I am a file\n")
    sweeps = {
        "ok": _sweep(),
        "step_nan": _sweep(search='"hw.fifo_depth" = {low = 1, high = 8, step = nan}'),
        "step_inf": _sweep(search='"hw.fifo_depth" = {low = 1, high = 8, step = inf}'),
        "high_inf": _sweep(search='"hw.clock_mhz" = {low = 100.0, high = inf}'),
        "low_nan": _sweep(search='"hw.clock_mhz" = {low = nan, high = 400.0}'),
        "choice_nan": _sweep(search='"hw.clock_mhz" = [100.0, nan]'),
        "seed_big": _sweep(study="seed = 4294967296"),
        "seed_neg": _sweep(study="seed = -1"),
        "trials_huge": _sweep(study="trials = 100000000000"),
        "preset_5": _sweep().replace('preset = "default"', "preset = 5"),
        "preset_nope": _sweep().replace('preset = "default"', 'preset = "nope"'),
        "hw_inf": _sweep(hw="clock_mhz = inf"),
        "hw_npe_huge": _sweep(hw="n_pe = 1000000000"),
        "hw_fifo_huge": _sweep(hw="fifo_depth = 1000000000000"),
        "hw_unknown": _sweep(hw="warp_drive = true"),
        "hw_skip_cols_str": _sweep(hw='skip_empty_columns = "yes"'),
        "hw_skip_cols_axis": _sweep(search='"hw.skip_empty_columns" = [true, 2]'),
        "grid_1e10": _sweep(
            search="\n".join(f'"hw.fifo_depth{i}" = {{low = 1, high = 100}}' for i in range(5))
        ).replace('"hw.fifo_depth0"', '"hw.fifo_depth"'),
        "grid_big": _sweep(search='"hw.clock_mhz" = {low = 1.0, high = 1e9, step = 1.0}'),
        "objective_bad": _sweep().replace('["latency_us"]', '["speed"]'),
        "sampler_bad": _sweep().replace('"grid"', '"magic"'),
        "hidden_str": TRAIN_SWEEP.format(train='hidden_units = ["a"]'),
        "epochs_huge": TRAIN_SWEEP.format(train="epochs = 100000000000"),
        "lr_inf": TRAIN_SWEEP.format(train="lr = inf"),
        "table_not_table": "study = 5\n",
        "storage_bad": _sweep(study='storage = "nonsense"'),
        "sparsity_nan": _sweep().replace("sparsity = 0.8", "sparsity = nan"),
        "shapes_bad": _sweep().replace(SHAPES, '"nope"'),
        "shapes_neg": _sweep().replace("in = 48", "in = -48"),
        "weights_truncated": _sweep()
        .replace("shapes = " + SHAPES, 'weights = "truncated.npz"')
        .replace("sparsity = 0.8", ""),
        "workload_seed_big": _sweep().replace("sparsity = 0.8", "sparsity = 0.8\nseed = 1e30"),
    }
    for name, text in sweeps.items():
        (d / f"{name}.toml").write_text(text)
    cwd = os.getcwd()
    os.chdir(d)
    try:
        assert main(["sweep", "ok.toml", "--storage", "sqlite:///study.db", "--no-progress"]) == 0
        assert main(["sweep", "ok.toml", "--storage", "journal:///" + str(d / "study.log"),
                     "--no-progress"]) == 0  # fmt: skip
    finally:
        os.chdir(cwd)
    return d


#: (case id, argv, a word the one-line error must contain)
# fmt: off
CASES = [
    # simulate
    ("sim-truncated-npz", "simulate --weights truncated.npz", "truncated.npz"),
    ("sim-empty-npz", "simulate --weights empty.npz", "empty.npz"),
    ("sim-text-npz", "simulate --weights text.npz", "text.npz"),
    ("sim-zip-not-npz", "simulate --weights zip_not_npz.npz", "zip_not_npz.npz"),
    ("sim-mismatched-npz", "simulate --weights mismatched.npz", "mismatched.npz"),
    ("sim-missing-key-npz", "simulate --weights missing_key.npz", "missing_key.npz"),
    ("sim-float-weights", "simulate --weights float_w.npz", "float_w.npz"),
    ("sim-weights-7", "simulate --weights big_w.npz", "big_w.npz"),
    ("sim-npz-bomb", "simulate --weights bomb.npz", "10,000,000,000 weights"),
    ("sim-missing-npz", "simulate --weights nope.npz", "nope.npz"),
    ("sim-dir-npz", "simulate --weights adir", "adir"),
    ("sim-sram-inf", "simulate --workload lfc --set weight_sram_kib_per_pe=inf", "weight_sram"),
    ("sim-clock-inf", "simulate --workload lfc --set clock_mhz=inf", "clock_mhz"),
    ("sim-clock-nan", "simulate --workload lfc --set clock_mhz=nan", "clock_mhz"),
    ("sim-clock-neg", "simulate --workload lfc --set clock_mhz=-5", "clock_mhz"),
    ("sim-dram-tiny", "simulate --workload lfc --set dram_bytes_per_cycle=1e-300", "dram_bytes"),
    ("sim-dram-tiny-no-sram", "simulate --workload lfc --set dram_bytes_per_cycle=1e-300 --set weight_sram_kib_per_pe=0", "dram_bytes"),
    ("sim-npe-huge", "simulate --workload lfc --set n_pe=1000000000", "n_pe"),
    ("sim-npe-float", "simulate --workload lfc --set n_pe=1e9", "n_pe"),
    ("sim-npe-zero", "simulate --workload lfc --set n_pe=0", "n_pe"),
    ("sim-npe-word", "simulate --workload lfc --set n_pe=many", "n_pe"),
    ("sim-fifo-huge", "simulate --workload lfc --set fifo_depth=1000000000000", "fifo_depth"),
    ("sim-set-unknown", "simulate --workload lfc --set warp=9", "warp"),
    ("sim-set-no-eq", "simulate --workload lfc --set n_pe", "n_pe"),
    ("sim-skip-cols-word", "simulate --workload lfc --set skip_empty_columns=maybe", "skip_empty"),
    ("sim-seed-neg", "simulate --workload lfc --seed -1", "seed"),
    ("sim-seed-huge", "simulate --workload lfc --seed 100000000000000000000000", "seed"),
    ("sim-sparsity-nan", "simulate --workload lfc --sparsity nan", "sparsity"),
    ("sim-sparsity-big", "simulate --workload lfc --sparsity 1.5", "sparsity"),
    ("sim-workload-bad", "simulate --workload resnet9000", "resnet9000"),
    ("sim-hw-dev-zero", "simulate --workload lfc --hw /dev/zero", "device"),
    ("sim-tech-dev-zero", "simulate --workload lfc --tech /dev/zero", "device"),
    ("sim-hw-huge-file", "simulate --workload lfc --hw huge.toml", "MiB"),
    ("sweep-dev-zero", "sweep /dev/zero", "device"),
    ("sweep-fifo", "sweep a_fifo", "FIFO"),
    ("sim-many-layers-json", "simulate --workload many_layers.json", "10,000 layers"),
    ("sim-many-layers-npz", "simulate --weights many_layers.npz", "10,000"),
    ("sim-workload-deep-json", "simulate --workload deep.json", "deep"),
    ("sim-hw-deep-toml", "simulate --workload lfc --hw deep.toml", "deep"),
    ("sweep-deep-toml", "sweep deep.toml", "deep"),
    ("export-deep-journal", "export --storage journal://{d}/deep.log --out x10.csv", "journal"),
    ("sim-hw-missing", "simulate --workload lfc --hw missing.toml", "missing.toml"),
    ("sim-hw-dir", "simulate --workload lfc --hw adir", "adir"),
    ("sim-hw-bad-toml", "simulate --workload lfc --hw bad.toml", "bad.toml"),
    ("sim-hw-latin1", "simulate --workload lfc --hw latin1.toml", "latin1.toml"),
    ("sim-hw-inf", "simulate --workload lfc --hw hw_inf.toml", "clock_mhz"),
    ("sim-hw-str", "simulate --workload lfc --hw hw_str.toml", "n_pe"),
    ("sim-tech-missing", "simulate --workload lfc --tech missing.toml", "missing.toml"),
    ("sim-tech-bad", "simulate --workload lfc --tech bad.toml", "bad.toml"),
    ("sim-tech-dir", "simulate --workload lfc --tech adir", "adir"),
    # size
    ("size-latency-nan", "size --workload lfc --sparsity 0.9 --max-latency-us nan", "latency"),
    ("size-latency-neg", "size --workload lfc --sparsity 0.9 --max-latency-us -1", "latency"),
    ("size-area-inf", "size --workload lfc --sparsity 0.9 --max-area-mm2 -inf", "area"),
    ("size-verify-neg", "size --workload lfc --sparsity 0.9 --max-latency-us 9 --max-verify -1", "max-verify"),
    ("size-truncated", "size --weights truncated.npz --max-latency-us 10", "truncated.npz"),
    ("size-seed-neg", "size --workload lfc --sparsity 0.9 --seed -1 --max-latency-us 9", "seed"),
    # train
    ("train-seed-huge", "train --dataset digits --model mlp --seed 1e23 --out r1", "seed"),
    ("train-seed-neg", "train --dataset digits --model mlp --seed -1 --out r2", "seed"),
    ("train-lr-huge", "train --dataset digits --model mlp --lr 1e300 --out r3", "lr"),
    ("train-lr-nan", "train --dataset digits --model mlp --lr nan --out r4", "lr"),
    ("train-hidden-huge", "train --dataset digits --model mlp --hidden 100000000 --out r5", "hidden"),
    ("train-epochs-huge", "train --dataset digits --model mlp --epochs 100000000000 --out r6", "epochs"),
    ("train-epochs-neg", "train --dataset digits --model mlp --epochs -1 --out r7", "epochs"),
    ("train-dataset-bad", "train --dataset imagenet --model mlp --out r8", "imagenet"),
    ("train-model-bad", "train --dataset digits --model gpt --out r9", "gpt"),
    ("train-out-exists", "train --dataset digits --model mlp --epochs 1 --out run_exists", "run_exists"),
    ("train-out-under-file", "train --dataset digits --model mlp --epochs 1 --out a_file/run", "a_file"),
    ("train-show-truncated", "train --show run_truncated", "run_truncated"),
    ("train-show-missing", "train --show nowhere", "nowhere"),
    ("train-data-dir-missing", "train --dataset mnist --data-dir nowhere --out r10", "nowhere"),
    # sweep
    ("sweep-missing", "sweep nope.toml", "nope.toml"),
    ("sweep-dir", "sweep adir", "adir"),
    ("sweep-bad-toml", "sweep bad.toml", "bad.toml"),
    ("sweep-latin1", "sweep latin1.toml", "latin1.toml"),
    ("sweep-step-nan", "sweep step_nan.toml --storage sqlite:///n1.db", "step"),
    ("sweep-step-inf", "sweep step_inf.toml --storage sqlite:///n2.db", "step"),
    ("sweep-high-inf", "sweep high_inf.toml --storage sqlite:///n3.db", "clock_mhz"),
    ("sweep-low-nan", "sweep low_nan.toml --storage sqlite:///n4.db", "clock_mhz"),
    ("sweep-choice-nan", "sweep choice_nan.toml --storage sqlite:///n5.db", "clock_mhz"),
    ("sweep-seed-big", "sweep seed_big.toml --storage sqlite:///n6.db", "seed"),
    ("sweep-seed-neg", "sweep seed_neg.toml --storage sqlite:///n7.db", "seed"),
    ("sweep-trials-huge", "sweep trials_huge.toml --storage sqlite:///n8.db", "trials"),
    ("sweep-preset-5", "sweep preset_5.toml --storage sqlite:///n9.db", "preset"),
    ("sweep-preset-nope", "sweep preset_nope.toml --storage sqlite:///n10.db", "nope"),
    ("sweep-hw-inf", "sweep hw_inf.toml --storage sqlite:///n11.db", "clock_mhz"),
    ("sweep-hw-npe-huge", "sweep hw_npe_huge.toml --storage sqlite:///n12.db", "n_pe"),
    ("sweep-hw-fifo-huge", "sweep hw_fifo_huge.toml --storage sqlite:///n13.db", "fifo_depth"),
    ("sweep-hw-unknown", "sweep hw_unknown.toml --storage sqlite:///n14.db", "warp_drive"),
    ("sweep-skip-cols-str", "sweep hw_skip_cols_str.toml --storage sqlite:///n28.db", "skip_empty"),
    ("sweep-skip-cols-axis", "sweep hw_skip_cols_axis.toml --storage sqlite:///n29.db", "skip_empty"),
    ("sweep-grid-1e10", "sweep grid_1e10.toml --storage sqlite:///n15.db", "grid points"),
    ("sweep-grid-big", "sweep grid_big.toml --storage sqlite:///n16.db", "grid points"),
    ("sweep-objective-bad", "sweep objective_bad.toml --storage sqlite:///n17.db", "speed"),
    ("sweep-sampler-bad", "sweep sampler_bad.toml --storage sqlite:///n18.db", "magic"),
    ("sweep-hidden-str", "sweep hidden_str.toml --storage sqlite:///n19.db", "hidden_units"),
    ("sweep-epochs-huge", "sweep epochs_huge.toml --storage sqlite:///n20.db", "epochs"),
    ("sweep-lr-inf", "sweep lr_inf.toml --storage sqlite:///n21.db", "lr"),
    ("sweep-not-table", "sweep table_not_table.toml --storage sqlite:///n22.db", "study"),
    ("sweep-storage-bad", "sweep storage_bad.toml", "storage"),
    ("sweep-sparsity-nan", "sweep sparsity_nan.toml --storage sqlite:///n23.db", "sparsity"),
    ("sweep-shapes-bad", "sweep shapes_bad.toml --storage sqlite:///n24.db", "nope"),
    ("sweep-shapes-neg", "sweep shapes_neg.toml --storage sqlite:///n25.db", "in"),
    ("sweep-weights-truncated", "sweep weights_truncated.toml --storage sqlite:///n27.db", "truncated.npz"),
    ("sweep-wl-seed-big", "sweep workload_seed_big.toml --storage sqlite:///n26.db", "seed"),
    ("sweep-jobs-0", "sweep ok.toml --storage sqlite:///study.db --jobs 0", "jobs"),
    ("sweep-jobs-huge", "sweep ok.toml --storage sqlite:///study.db --jobs 100000", "jobs"),
    ("sweep-storage-word", "sweep ok.toml --storage nonsense", "storage"),
    ("sweep-storage-memory", "sweep ok.toml --storage sqlite:///:memory:", "memory"),
    ("sweep-storage-dir", "sweep ok.toml --storage sqlite:///adir", "adir"),
    ("sweep-storage-device", "sweep ok.toml --storage sqlite:////dev/null", "device"),
    ("sweep-journal-device", "sweep ok.toml --storage journal:///dev/null", "device"),
    ("dash-storage-fifo", "dash --storage journal://{d}/a_fifo --port 8128", "FIFO"),
    ("sweep-storage-other-db", "sweep ok.toml --storage sqlite:///other.db", "other.db"),
    ("sweep-storage-garbage", "sweep ok.toml --storage sqlite:///garbage.db", "garbage.db"),
    ("sweep-journal-garbage", "sweep ok.toml --storage journal://garbage.log", "garbage.log"),
    ("sweep-different", "sweep step_nan.toml --storage sqlite:///study.db", "step"),
    ("sweep-storage-under-file", "sweep ok.toml --storage sqlite:///a_file/x.db", "a_file"),
    # export
    ("export-onto-study", "export --storage sqlite:///study.db --out study.db --format csv", "own storage"),
    ("export-onto-wal", "export --storage sqlite:///study.db --out study.db-wal --format csv", "own storage"),
    ("export-onto-journal", "export --storage journal://{d}/study.log --out study.log --format csv", "storage"),
    ("export-existing", "export --storage sqlite:///study.db --out good.npz --format csv", "--overwrite"),
    ("export-dir", "export --storage sqlite:///study.db --out adir", "directory"),
    ("export-device", "export --storage sqlite:///study.db --out /dev/null --overwrite", "device"),
    ("export-fifo", "export --storage sqlite:///study.db --out a_fifo --overwrite", "FIFO"),
    ("export-under-file", "export --storage sqlite:///study.db --out a_file/x.csv", "a_file"),
    ("export-missing-study", "export --storage sqlite:///nope.db --out x1.csv", "nope.db"),
    ("export-other-db", "export --storage sqlite:///other.db --out x2.csv", "other.db"),
    ("export-empty-db", "export --storage sqlite:///plain.db --out x3.csv", "plain.db"),
    ("export-garbage-db", "export --storage sqlite:///garbage.db --out x4.csv", "garbage.db"),
    ("export-missing-journal", "export --storage journal://{d}/nope.log --out x5.csv", "nope.log"),
    ("export-garbage-journal", "export --storage journal://{d}/garbage.log --out x6.csv", "garbage"),
    ("export-study-nope", "export --storage sqlite:///study.db --study nope --out x7.csv", "nope"),
    ("export-format-bad", "export --storage sqlite:///study.db --out x8.xls --format xls", "xls"),
    ("export-storage-word", "export --storage nonsense --out x9.csv", "storage"),
    # dash (fails before serving)
    ("dash-host-bad", "dash --storage sqlite:///study.db --host 999.1.1.1 --port 8123", "999.1.1.1"),
    ("dash-host-unknown", "dash --storage sqlite:///study.db --host no.such.host.invalid", "host"),
    ("dash-refresh-inf", "dash --check --storage sqlite:///study.db --refresh-s inf", "refresh"),
    ("dash-refresh-nan", "dash --check --storage sqlite:///study.db --refresh-s nan", "refresh"),
    ("train-limit-1", "train --dataset digits --model mlp --hidden 4 --epochs 1 --train-limit 1 --out r11", "train_limit"),
    ("train-limit-val", "train --dataset digits --model mlp --hidden 4 --epochs 1 --train-limit 2 --val-fraction 0.5 --out r12", "train_limit"),
    ("dash-port-0", "dash --storage sqlite:///study.db --port 0", "port"),
    ("dash-port-huge", "dash --storage sqlite:///study.db --port 70000", "port"),
    ("dash-missing", "dash --check --storage sqlite:///nope.db --port 8124", "nope.db"),
    ("dash-other-db", "dash --storage sqlite:///other.db --port 8125", "other.db"),
    ("dash-empty-db", "dash --storage sqlite:///plain.db --port 8126", "plain.db"),
    ("dash-missing-journal", "dash --check --storage journal://{d}/nope.log --port 8127", "nope.log"),
    # the entry point itself
    ("no-such-command", "frobnicate", "frobnicate"),
    ("train-no-such-flag", "train --frobnicate", "frobnicate"),
]
# fmt: on


def _file_digest(path: str) -> str:
    """Bytes of a file; for a SQLite study its rows, since SQLite may fold its WAL into
    the main file (a checkpoint) at any later close without changing one row."""
    if not os.path.isfile(path):
        return f"special {os.stat(path).st_mode:o}"  # a FIFO: reading it would block
    if path.endswith(".db"):
        try:
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                rows = "\n".join(con.iterdump())
            finally:
                con.close()
            return "rows:" + hashlib.sha256(rows.encode()).hexdigest()
        except sqlite3.DatabaseError:
            pass  # not a database (or garbage): compare its bytes
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def _tree_digest(d) -> dict:
    out = {}
    for root, _, files in os.walk(d):
        for f in files:
            p = os.path.join(root, f)
            if p.endswith(("-shm", "-wal")):  # SQLite's own bookkeeping beside a study
                continue
            out[os.path.relpath(p, d)] = _file_digest(p)
    return out


def run_cli(scratch, argv: list[str], capsys) -> tuple[int, str]:
    cwd = os.getcwd()
    os.chdir(scratch)
    try:
        try:
            rc = main(argv)
        except SystemExit as exc:  # argparse
            rc = exc.code
    finally:
        os.chdir(cwd)
    return rc, capsys.readouterr().err


def assert_clean_refusal(rc, err: str, word: str | None = None) -> None:
    assert rc == 2, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    if word is not None:
        assert word.lower() in err.lower(), err


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_hostile_input_is_one_clean_line_and_changes_no_file(scratch, case, capsys):
    _, command, word = case
    argv = command.replace("{d}", str(scratch)).split()
    before = _tree_digest(scratch)
    rc, err = run_cli(scratch, argv, capsys)
    after = _tree_digest(scratch)
    assert_clean_refusal(rc, err, word)
    assert {k: v for k, v in after.items() if k in before} == before  # nothing changed
    assert set(after) == set(before), f"created {set(after) - set(before)}"


# -- random values ------------------------------------------------------------------------------
FIELDS = ["n_pe", "lanes_per_pe", "clock_mhz", "fifo_depth", "weight_sram_kib_per_pe",
          "dram_bytes_per_cycle", "act_bits", "index_bits", "zero_skip", "tech_node_nm"]  # fmt: skip
NASTY = st.one_of(
    st.sampled_from(["inf", "-inf", "nan", "1e309", "-0", "0", "1e-300", "", "[]", "true", "x"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=8),
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(field=st.sampled_from(FIELDS), value=NASTY)
def test_any_hw_override_is_either_simulated_or_refused_cleanly(scratch, field, value, capsys):
    if "\x00" in value:
        return  # argv cannot hold NUL bytes
    rc, err = run_cli(scratch, ["simulate", "--workload", "lfc", "--fidelity", "analytical",
                                "--json", "--set", f"{field}={value}"], capsys)  # fmt: skip
    if rc != 0:
        assert_clean_refusal(rc, err)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    key=st.sampled_from(["seed", "trials", "population", "fidelity", "sampler"]),
    value=st.one_of(
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(alphabet="abc", max_size=3),
        st.booleans(),
    ),
)
def test_any_study_value_is_accepted_or_refused_before_the_study_exists(scratch, key, value):
    from accelerators import InputError
    from codesign.sweep import parse_spec

    raw = {
        "study": {"name": "h", "sampler": "random", "trials": 2, key: value},
        "workload": {"shapes": "lfc", "sparsity": 0.9},
        "search": {"hw.n_pe": [8, 16]},
    }
    try:
        parse_spec(raw)
    except InputError as exc:
        assert str(exc) and "\n" not in str(exc)


def _toml_value(v) -> str:
    import json
    import math

    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(v)  # int and str (JSON string escapes are TOML's basic string escapes)


SCALAR = st.one_of(
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["weights", "none", "both", "csc", "eie", "", "x"]),
    st.booleans(),
)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    hw_key=st.sampled_from(FIELDS + ["weight_format", "broadcast_acts_per_cycle", "nope"]),
    hw_value=SCALAR,
    axis=st.sampled_from(["hw.n_pe", "hw.fifo_depth", "hw.clock_mhz", "hw.zero_skip", "hw.x"]),
    choices=st.lists(SCALAR, min_size=0, max_size=3),
)
def test_any_sweep_file_through_the_cli_runs_or_is_refused_creating_nothing(
    scratch, tmp_path_factory, hw_key, hw_value, axis, choices, capsys
):
    """Random ``[hw]`` values and search axes, through ``codesign sweep`` itself: the sweep
    runs, or one clean line and exit 2 with no study file made."""
    d = tmp_path_factory.mktemp("sweepfuzz")
    text = SWEEP.format(
        study="",
        shapes=SHAPES,
        hw=f"{hw_key} = {_toml_value(hw_value)}",
        search=f'"{axis}" = {_toml_value(choices)}',
    ).replace('"hw.n_pe" = [1, 2]\n', "")
    (d / "f.toml").write_text(text)
    rc, err = run_cli(
        d, ["sweep", "f.toml", "--storage", "sqlite:///f.db", "--no-progress"], capsys
    )
    if rc != 0:
        assert_clean_refusal(rc, err)
        assert not (d / "f.db").exists(), err
