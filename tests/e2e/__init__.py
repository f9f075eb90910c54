"""Browser journeys (Playwright, Debian's Chromium)."""

import os

# How long a journey waits for a page or an element. Generous because a 2-core machine running the suite
# with xdist (and browsers) can take many seconds per page; a passing journey never waits this long.
TIMEOUT_MS = int(os.environ.get("HUIKUAN_E2E_TIMEOUT_MS", "60000"))


def signed_in_context(browser, live_server, user, language, width, height=900):
    """A new browser context of ``width`` × ``height`` signed in as ``user`` (a session made by Django's test client)
    in ``language``, and its page: (context, page)."""
    from django.conf import settings
    from django.test import Client

    ctx = browser.new_context(viewport={"width": width, "height": height})
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    c = Client()
    c.force_login(user)
    ctx.add_cookies([
        {"name": settings.SESSION_COOKIE_NAME, "value": c.cookies[settings.SESSION_COOKIE_NAME].value,
         "url": live_server.url},
        {"name": "django_language", "value": language, "url": live_server.url},
    ])
    return ctx, page
