import atexit
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Serve the Huikuan web UI with waitress (static files by WhiteNoise) and run the background "
        "task worker (django-tasks-db) beside it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8)
        parser.add_argument("--no-migrate", action="store_true")
        parser.add_argument("--no-worker", action="store_true", help="do not start the task worker")
        parser.add_argument("--no-schedule", action="store_true", help="do not run the daily jobs from this process")

    def handle(self, *args, host, port, threads, no_migrate, no_worker, no_schedule, **opts):
        if not no_migrate:
            call_command("migrate", interactive=False, verbosity=0)
        if not no_worker:
            worker = subprocess.Popen([sys.executable, "-m", "huikuan.cli", "db_worker", "--interval", "2"])
            atexit.register(worker.terminate)
        if not no_schedule:
            import threading

            threading.Thread(target=_scheduler, name="huikuan-scheduler", daemon=True).start()
        from waitress import serve

        from config.wsgi import application

        engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        self.stdout.write(f"Huikuan on http://{host}:{port}/  (database: {engine})")
        serve(application, host=host, port=port, threads=threads, ident="huikuan")


def _scheduler(interval: float = 300.0) -> None:
    """Call the idempotent ``daily`` command now and every few minutes; each job runs once per date."""
    import time

    from django.db import connection

    while True:
        try:
            call_command("daily", verbosity=0)
        except Exception:  # noqa: BLE001 - a failing job is recorded in JobRun; keep serving
            import logging

            logging.getLogger("huikuan.scheduler").exception("daily run failed")
        finally:
            connection.close()
        time.sleep(interval)
