"""``codesign dash`` as a user runs it: real processes, real ports, real SQLite."""

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from codesign.cli._dash import address_problem, port_is_free


def run(*args, timeout=60):
    return subprocess.run(
        [sys.executable, "-m", "codesign.cli.main", "dash", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_check_prints_a_table_and_json(study_url):
    out = run("--storage", study_url, "--check")
    assert out.returncode == 0, out.stderr
    assert "train" in out.stdout and "36 (36 shown, 0 failed" in out.stdout
    assert " mm^2" in out.stdout and " us" in out.stdout and " uJ" in out.stdout
    out = run("--storage", study_url, "--check", "--json")
    summary = json.loads(out.stdout)
    assert summary["study"] == "train" and summary["n_trials"] == 36 and summary["n_shown"] == 36


def test_check_reads_a_journal_study(journal_study_url):
    """Issue 11 item 11: ``codesign dash`` reads the journal file ``run_sweep`` wrote."""
    out = run("--storage", journal_study_url, "--check", "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["n_trials"] == 16 and summary["n_shown"] == 16


def test_user_mistakes_are_one_line_and_exit_2(tmp_path):
    out = run("--storage", f"sqlite:///{tmp_path / 'none.db'}", "--check")
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "not found" in out.stderr
    out = run("--port", "70000")
    assert out.returncode == 2 and "--port = 70000" in out.stderr
    out = run("--refresh-s", "0")
    assert out.returncode == 2 and "--refresh-s" in out.stderr


def test_busy_port_is_refused(study_url):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert not port_is_free("127.0.0.1", port)
        out = run("--storage", study_url, "--port", str(port))
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert f"port {port} on 127.0.0.1 is busy" in out.stderr


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgresql://bob:s3cret@localhost/sweeps", "No module named"),  # no driver installed
        ("nosuchdb://localhost/sweeps", "Can't load plugin"),
    ],
)
def test_a_database_whose_driver_cannot_load_is_refused_not_waited_for(url, says):
    """A database server not up yet is waited for; a driver that is not installed never comes."""
    out = run("--storage", url, "--port", str(free_port()), timeout=30)
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert says in out.stderr and "s3cret" not in out.stderr and out.stdout == ""


@pytest.mark.parametrize(
    ("host", "says"),
    [
        ("999.1.1.1", "is not an IP address or a host name this machine can resolve"),
        ("no-such-host.invalid", "is not an IP address or a host name this machine can resolve"),
        ("192.0.2.1", "is not an address of this machine"),  # TEST-NET-1: never local
    ],
)
def test_bad_hosts_say_what_they_are(study_url, host, says):
    out = run("--storage", study_url, "--host", host, "--port", str(free_port()))
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert says in out.stderr and "busy" not in out.stderr


def test_a_privileged_port_says_so(monkeypatch):
    """Port 80 as a non-root user: bind raises PermissionError (simulated: tests run as root)."""

    class Refusing(socket.socket):
        def bind(self, addr):
            raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(socket, "socket", Refusing)
    problem = address_problem("127.0.0.1", 80)
    assert "port 80 on 127.0.0.1 needs administrator rights" in problem and "busy" not in problem


@pytest.mark.parametrize("damage", ["pages", "text"])
def test_unreadable_studies_get_clear_messages(study_url, tmp_path, damage):
    import shutil

    damaged = tmp_path / "damaged.db"
    shutil.copy(study_url[len("sqlite:///") :], damaged)
    data = damaged.read_bytes()
    with open(damaged, "r+b") as f:
        if damage == "pages":  # pages in the middle overwritten
            f.seek(len(data) // 2)
            f.write(b"\xff" * 8192)
        else:  # bytes that are not UTF-8 inside a stored JSON text (the page stays valid)
            f.seek(data.index(b'"sparsity"') + 1)
            f.write(b"\xff\xfe")
    out = run("--storage", f"sqlite:///{damaged}", "--check")
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert "damaged" in out.stderr and "max length" not in out.stderr
    assert "restore it from a copy" in out.stderr and len(out.stderr) < 400


@pytest.mark.slow
def test_serves_the_app_without_debug(study_url):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "codesign.cli.main", "dash", "--storage", study_url,
         "--port", str(port), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        layout = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/_dash-layout", timeout=2
                ) as r:
                    layout = r.read().decode()
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        assert layout is not None and '"front"' in layout
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
            page = r.read().decode()
        config = page.split('id="_dash-config" type="application/json">')[1].split("</script>")[0]
        assert json.loads(config)["ui"] is False  # no dev tools: debug is off
        assert not port_is_free("127.0.0.1", port)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert json.loads(out.splitlines()[0])["study"] == "train"
