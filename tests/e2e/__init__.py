"""Browser journeys (Playwright, Debian's Chromium)."""

import os

# How long a journey waits for a page or an element. Generous because a 2-core machine running the suite
# with xdist (and browsers) can take many seconds per page; a passing journey never waits this long.
TIMEOUT_MS = int(os.environ.get("HUIKUAN_E2E_TIMEOUT_MS", "60000"))
