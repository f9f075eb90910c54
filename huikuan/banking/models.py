"""Cash application: company bank accounts, bank statement import and parsing, matching, review queue, reconciliation."""

from django.db import models  # noqa: F401
