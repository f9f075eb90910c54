"""`huikuan serve` and the schedule loop of `huikuan daily --every`."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests import dbtemplate

ROOT = Path(__file__).resolve().parents[3]


class _Stop(Exception):
    pass


@pytest.mark.django_db
def test_daily_every_keeps_running_after_a_failed_run(monkeypatch, company):
    calls, sleeps = [], []

    def fake_jobs(comp, day):
        calls.append(day)
        if len(calls) == 1:
            raise RuntimeError("first run fails")
        return []

    def fake_sleep(seconds):
        sleeps.append(seconds)
        if len(sleeps) == 2:
            raise _Stop

    monkeypatch.setattr("huikuan.web.management.commands.daily.daily_jobs", fake_jobs)
    monkeypatch.setattr("huikuan.web.management.commands.daily.time.sleep", fake_sleep)
    # the loop closes its connections between runs; the test's own connection must stay open
    monkeypatch.setattr("huikuan.web.management.commands.daily.connections.close_all", lambda: None)
    with pytest.raises(_Stop):
        call_command("daily", "--every", "300", "--verbosity", "0")
    assert len(calls) == 2 and sleeps == [300, 300]


def test_serve_refuses_nonsense_counts():
    with pytest.raises(CommandError):
        call_command("serve", "--processes", "0", "--no-migrate")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(sys.platform == "win32", reason="gunicorn is POSIX only")
def test_serve_with_two_processes_answers(tmp_path):
    """The multi-process server (gunicorn) really starts and serves pages. Its database is a copy of the run's
    migrated template (serve's own migrate then has nothing to do); the SIGTERM test below starts from an empty
    file, as `make demo` on a fresh machine does."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": dbtemplate.migrated_sqlite(tmp_path / "serve.sqlite3"), "HUIKUAN_DATA_DIR": str(tmp_path),
           "HUIKUAN_SECRET_KEY": "test-" + "k" * 60}
    proc = subprocess.Popen(
        [sys.executable, "-m", "huikuan.cli", "serve", "--port", str(port), "--processes", "2", "--threads", "2",
         "--no-worker", "--no-schedule"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline, page = time.monotonic() + 300, b""  # slow on a busy machine
        while time.monotonic() < deadline and not page:
            assert proc.poll() is None, proc.stdout.read().decode()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=5) as resp:
                    page = resp.read()
            except OSError:
                time.sleep(0.5)
        assert b"<form" in page
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/customers/", timeout=5)
        assert refused.value.code in (401, 403)
    finally:
        proc.terminate()
        try:
            proc.wait(60)  # gunicorn stops its workers first; slow on a busy machine
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM and /proc are POSIX")
def test_sigterm_stops_the_worker_and_the_schedule_too(tmp_path):
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}", "HUIKUAN_DATA_DIR": str(tmp_path),
           "HUIKUAN_SECRET_KEY": "test-" + "k" * 60}
    proc = subprocess.Popen([sys.executable, "-m", "huikuan.cli", "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline, children = time.monotonic() + 300, []
        while time.monotonic() < deadline and len(children) < 2:
            time.sleep(0.5)
            children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        assert len(children) == 2  # the task worker and `daily --every 300`
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(os.path.exists(f"/proc/{c}") and
                                                  "Z" not in open(f"/proc/{c}/stat").read().split()[2] for c in children):
            time.sleep(0.2)
        assert not any(os.path.exists(f"/proc/{c}") and "Z" not in open(f"/proc/{c}/stat").read().split()[2]
                       for c in children)
    finally:
        if proc.poll() is None:
            proc.kill()
