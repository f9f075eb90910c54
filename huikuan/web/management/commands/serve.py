from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the Huikuan web UI with waitress (production-grade WSGI, static files by WhiteNoise)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8)
        parser.add_argument("--no-migrate", action="store_true")

    def handle(self, *args, host, port, threads, no_migrate, **opts):
        if not no_migrate:
            call_command("migrate", interactive=False, verbosity=0)
        from waitress import serve

        from config.wsgi import application

        self.stdout.write(f"Huikuan on http://{host}:{port}/  (database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]})")
        serve(application, host=host, port=port, threads=threads, ident="huikuan")
