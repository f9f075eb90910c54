import atexit
import os
import signal
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections


class Command(BaseCommand):
    help = (
        "Serve the Huikuan web UI (static files by WhiteNoise) and run the background task worker "
        "(django-tasks-db) and the daily jobs beside it. One process with threads (waitress) by default; "
        "--processes N starts N worker processes (gunicorn, POSIX only) to use every core."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8, help="threads per process")
        parser.add_argument(
            "--processes", type=int, default=int(os.environ.get("HUIKUAN_WEB_PROCESSES", "1")),
            help="web processes (default 1, or HUIKUAN_WEB_PROCESSES); more than 1 needs gunicorn (Linux, macOS)",
        )
        parser.add_argument("--no-migrate", action="store_true")
        parser.add_argument("--no-worker", action="store_true", help="do not start the task worker")
        parser.add_argument("--no-schedule", action="store_true", help="do not run the daily jobs from this process")
        parser.add_argument("--demo", action="store_true",
                            help="a demo or trial on this machine: allow the built-in secret key (as HUIKUAN_DEMO=1)")

    def handle(self, *args, host, port, threads, processes, no_migrate, no_worker, no_schedule, demo=False, **opts):
        if processes < 1 or threads < 1:
            raise CommandError("--processes and --threads must be at least 1")
        if settings.SECRET_KEY == settings.DEFAULT_SECRET_KEY and not (settings.DEBUG or settings.HUIKUAN_DEMO or demo):
            raise CommandError(
                "HUIKUAN_SECRET_KEY is not set, and the built-in key is public: anyone could forge sessions. Set "
                "HUIKUAN_SECRET_KEY to a long random value (python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
                "see README \"Production\"; for a demo or a trial on this machine use `huikuan demo` or HUIKUAN_DEMO=1.")
        if processes > 1 and sys.platform == "win32":
            raise CommandError("--processes above 1 needs gunicorn, which does not run on Windows; use --threads")
        if not no_migrate:
            call_command("migrate", interactive=False, verbosity=0)
        # SIGTERM (systemd, docker stop, kill) ends the process through SystemExit, so the atexit hooks
        # stop the worker and the schedule too instead of leaving them behind
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        if not no_worker:
            _child([sys.executable, "-m", "huikuan.cli", "db_worker", "--interval", "2"])
        if not no_schedule:
            _child([sys.executable, "-m", "huikuan.cli", "daily", "--every", "300", "--verbosity", "0"])
        # Nothing of this process's database connection may leak into forked web workers.
        connections.close_all()
        from config.wsgi import application

        engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        self.stdout.write(f"Huikuan on http://{host}:{port}/  (database: {engine}, {processes} process(es) × {threads} threads)")
        if processes > 1 and "redis" not in settings.CACHES["default"]["BACKEND"].lower():
            self.stdout.write("Note: without HUIKUAN_REDIS_URL each process keeps its own API throttle counters "
                              "(the per-user rate is then allowed once per process).")
        if processes == 1:
            from waitress import serve

            serve(application, host=host, port=port, threads=threads, ident="huikuan")
        else:
            _Gunicorn(application, gunicorn_options(host=host, port=port, processes=processes, threads=threads)).run()


def gunicorn_options(*, host: str, port: int, processes: int, threads: int) -> dict:
    """gunicorn's settings for ``--processes`` above 1 (environment: HUIKUAN_WEB_KEEPALIVE, HUIKUAN_WEB_CONNECTIONS)."""
    # No keep-alive by default: a kept-alive connection stays with the worker that accepted it, and the load
    # bench's 20 clients ended up on one worker (9 s vs 1 s of CPU); closing after each answer lets every
    # request go to an idle worker (docs/PERFORMANCE.md, API under load).
    keepalive = int(os.environ.get("HUIKUAN_WEB_KEEPALIVE", "0"))
    # A worker accepts a connection only when one of its threads is free or about to be (threads + 1): the
    # rest wait in the kernel's queue, which every worker takes from in arrival order. gunicorn's default
    # (1,000) let a worker accept whatever was waiting and queue it behind its own two threads while the other
    # worker might be idle — the 20-client bench's p95 was ~1.5x what the same CPU gives with a shared queue
    # (docs/PERFORMANCE.md, issue 19). Kept-alive connections count against the limit, so with keep-alive on
    # gunicorn's default stays.
    connections = os.environ.get("HUIKUAN_WEB_CONNECTIONS") or (threads + 1 if not keepalive else 1000)
    return {
        "bind": f"{host}:{port}", "workers": processes, "threads": threads, "worker_class": "gthread",
        "accesslog": None, "errorlog": "-", "loglevel": "warning", "timeout": 120,
        "keepalive": keepalive, "worker_connections": int(connections),
    }


def _child(argv: list[str]) -> None:
    proc = subprocess.Popen(argv)
    atexit.register(proc.terminate)


def _gunicorn_base():
    from gunicorn.app.base import BaseApplication

    return BaseApplication


class _Gunicorn(_gunicorn_base() if sys.platform != "win32" else object):  # type: ignore[misc]
    """gunicorn driven from this command: the already-loaded WSGI application, forked into N workers."""

    def __init__(self, application, options: dict):
        self.application = application
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.application
