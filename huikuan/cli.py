"""The `huikuan` command: every operator task, honouring DATABASE_URL.

    huikuan demo [--no-serve]     migrate, load demo data (once), serve on 127.0.0.1:8000
    huikuan serve [--port N]      run the web UI (and, as they arrive, the worker and schedule)
    huikuan check-ledger          verify every denormalised balance; non-zero exit on a difference
    huikuan <django command>      any management command (migrate, createsuperuser, ...)
"""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
