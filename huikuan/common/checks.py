"""Deployment checks (``manage.py check --deploy``) beyond Django's own."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def default_secret_key(app_configs, **kwargs):
    """Django's own check only looks at the key's length and characters, which the built-in key passes."""
    if settings.SECRET_KEY == getattr(settings, "DEFAULT_SECRET_KEY", None):
        return [Error("HUIKUAN_SECRET_KEY is not set: the built-in demo key is public, so sessions, password "
                      "resets and signed links could be forged.",
                      hint="Set HUIKUAN_SECRET_KEY to a long random value, e.g. "
                           "python -c 'import secrets; print(secrets.token_urlsafe(50))'.",
                      id="huikuan.E001")]
    return []
