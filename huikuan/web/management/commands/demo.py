import datetime as dt

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection
from django.utils.translation import gettext as _

from huikuan.common import clock
from huikuan.demo.seed import DEMO_PASSWORD, ensure_demo_data


class Command(BaseCommand):
    help = "Prepare the database with deterministic demo data and serve the web UI."

    def add_arguments(self, parser):
        parser.add_argument("--no-serve", action="store_true", help="only prepare the database")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--scale", type=float, default=1.0, help="multiply customers and documents")
        parser.add_argument("--seed", type=int, default=20261130)
        parser.add_argument("--as-of", type=dt.date.fromisoformat, default=None,
                            help="reference date of the demo history (YYYY-MM-DD; default: today)")

    def handle(self, *args, no_serve, port, scale, seed, as_of=None, **opts):
        call_command("migrate", interactive=False, verbosity=0)
        logins = ensure_demo_data(scale=scale, seed=seed, stdout=self.stdout, as_of=as_of)
        from huikuan.insight.models import ArSnapshot

        if not ArSnapshot.objects.exists():  # the dashboard's monthly trend over the demo's history
            call_command("snapshot_ar", months=18, as_of=(as_of or clock.today()).isoformat(), stdout=self.stdout)
        if connection.vendor == "sqlite":
            with connection.cursor() as cur:  # fresh statistics for the query planner after the bulk load
                cur.execute("ANALYZE")
        self.stdout.write(_("Demo logins (password for all: %(pw)s):") % {"pw": DEMO_PASSWORD})
        for role, username in logins:
            self.stdout.write(f"  {role:<16} {username}")
        if not no_serve:
            call_command("serve", port=port, no_migrate=True, demo=True)
