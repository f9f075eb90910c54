"""Credit management: policy and grades, profiles, scoring, exposure, credit checks, holds, approvals."""

from django.db import models  # noqa: F401
