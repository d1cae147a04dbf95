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
