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

    def handle(self, *args, host, port, threads, no_migrate, no_worker, **opts):
        if not no_migrate:
            call_command("migrate", interactive=False, verbosity=0)
        if not no_worker:
            worker = subprocess.Popen([sys.executable, "-m", "huikuan.cli", "db_worker", "--interval", "2"])
            atexit.register(worker.terminate)
        from waitress import serve

        from config.wsgi import application

        engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        self.stdout.write(f"Huikuan on http://{host}:{port}/  (database: {engine})")
        serve(application, host=host, port=port, threads=threads, ident="huikuan")
