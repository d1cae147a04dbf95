import subprocess
import sys


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "codesign.cli.main", *args], capture_output=True, text=True
    )


def test_help_lists_every_command():
    out = run("--help")
    assert out.returncode == 0
    for name in ("train", "simulate", "sweep", "size", "export", "dash"):
        assert name in out.stdout


def test_unknown_command_is_one_line_and_exit_2():
    out = run("frobnicate")
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and "frobnicate" in out.stderr


def test_an_unknown_flag_names_its_sub_command():
    out = run("simulate", "--workload", "lfc", "--wrokers", "2")
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr == "codesign simulate: error: unrecognized arguments: --wrokers 2\n"
    top = run("--wrokers")
    assert (
        top.returncode == 2 and top.stderr == "codesign: error: unrecognized arguments: --wrokers\n"
    )
