"""Issue 19 finding 4: production settings from the environment; `check --deploy` is clean with the
documented production environment; `huikuan serve` refuses the built-in secret key outside demo/debug."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

ROOT = Path(__file__).resolve().parents[3]
# the environment of the README's "Production" section
PRODUCTION = {"HUIKUAN_SECRET_KEY": secrets.token_urlsafe(50), "HUIKUAN_ALLOWED_HOSTS": "ar.example.com",
              "HUIKUAN_HTTPS": "1", "HUIKUAN_PROXY_SSL_HEADER": "1", "HUIKUAN_PROXY_COUNT": "1",
              "HUIKUAN_CSRF_TRUSTED_ORIGINS": "https://ar.example.com"}


def _run(args, env, tmp_path):
    # DJANGO_ALLOW_ASYNC_UNSAFE: set by the browser journeys in this worker process, never in production
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith("HUIKUAN_") and k not in ("REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**clean, "HUIKUAN_DATA_DIR": str(tmp_path), **env})


def test_check_deploy_is_clean_with_the_documented_production_environment(tmp_path):
    r = _run(["check", "--deploy", "--fail-level", "WARNING"], PRODUCTION, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no issues" in r.stdout and "WARNINGS" not in r.stdout + r.stderr


def test_check_deploy_reports_the_built_in_key_and_plain_http(tmp_path):
    r = _run(["check", "--deploy"], {"HUIKUAN_ALLOWED_HOSTS": "ar.example.com"}, tmp_path)
    out = r.stdout + r.stderr
    assert r.returncode != 0
    for check in ("huikuan.E001", "security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in out


def test_production_settings_values(tmp_path):
    code = ("from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
            "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER, s.CSRF_TRUSTED_ORIGINS, "
            "s.REST_FRAMEWORK['NUM_PROXIES'])")
    r = _run(["shell", "--no-imports", "-c", code], PRODUCTION, tmp_path)
    assert r.stdout.strip() == ("True True True 31536000 ('HTTP_X_FORWARDED_PROTO', 'https') "
                                "['https://ar.example.com'] 1"), r.stderr
    r = _run(["shell", "--no-imports", "-c", code], {}, tmp_path)
    assert r.stdout.strip().startswith("False False False 0"), r.stderr


def test_serve_refuses_the_built_in_key_outside_demo_and_debug(settings):
    settings.SECRET_KEY = settings.DEFAULT_SECRET_KEY
    settings.DEBUG = False
    settings.HUIKUAN_DEMO = False
    with pytest.raises(CommandError, match="HUIKUAN_SECRET_KEY"):
        call_command("serve", "--no-migrate")


def test_client_address_behind_proxies(rf, settings):
    from huikuan.accounts.ratelimit import client_address

    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7", REMOTE_ADDR="10.0.0.2")
    settings.HUIKUAN_PROXY_COUNT = 0
    assert client_address(request) == "10.0.0.2"  # X-Forwarded-For is not trusted without a proxy
    settings.HUIKUAN_PROXY_COUNT = 1
    assert client_address(request) == "203.0.113.7"  # not the spoofed first hop


def test_no_model_field_has_a_fixed_date_or_time_default():
    """Django's check fields.W161 warns about a fixed date / time default whenever the check happens to run within
    10 seconds of that moment (a TimeField's default of 08:00 made `check --deploy` fail at 08:00:0x UTC): every
    such default is a callable."""
    import datetime as dt

    from django.apps import apps
    from django.db.models.fields import NOT_PROVIDED

    fixed = [f"{m._meta.label}.{f.name}" for m in apps.get_models() for f in m._meta.get_fields()
             if getattr(f, "default", NOT_PROVIDED) is not NOT_PROVIDED and isinstance(f.default, dt.date | dt.time)]
    assert fixed == []
