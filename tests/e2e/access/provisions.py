"""URL × role rows of the bad-debt provision screens and API (see tests/e2e/access/__init__.py)."""

from tests.e2e.access import GET_405, only

VIEW = {"admin", "finance", "credit_manager", "auditor"}

ROWS = {
    "insight:provisions": ("/kpis/provisions/", only(VIEW), 302),
    "insight:provision-matrix": ("/kpis/provisions/matrix/", only(VIEW), 302),
    "insight:provision-assessments": ("/kpis/provisions/assessments/", only(VIEW), 302),
    "insight:provision-assessment-decide": ("/kpis/provisions/assessments/{pva}/decide/", GET_405, 302),
    "api:provisions": ("/api/v1/provisions/", only(VIEW), 401),
}


def objects(*, world, company, customer, users, finance):
    import datetime as dt

    from huikuan.insight.models import ProvisionAssessment

    a = ProvisionAssessment.objects.create(company=company, customer=customer, rate=100, reason="破产",
                                           valid_from=dt.date(2026, 1, 1), requested_by=finance)
    return {"pva": a.pk}
