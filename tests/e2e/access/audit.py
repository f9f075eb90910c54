"""URL × role rows of the internal audit report and the audit-log search (issue 15 point 6): administrator
and auditor only; everyone else is refused (403, recorded as a failed permission attempt)."""

from tests.e2e.access import only

AUDIT = {"admin", "auditor"}

ROWS = {
    "insight:audit": ("/kpis/audit/", only(AUDIT), 302),
    "insight:audit-search": ("/kpis/audit/events/", only(AUDIT), 302),
    "api:audit-events": ("/api/v1/audit/events/", only(AUDIT), 401),
    "api:audit-report": ("/api/v1/audit/report/", only(AUDIT), 401),
}


def objects(*, world, company, customer, users, finance):
    return {}
