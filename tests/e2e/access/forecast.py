"""URL × role rows of the cash-in forecast screens (see tests/e2e/access/__init__.py).

The forecast page is scoped (a salesperson sees their customers' part); computing one and the company-wide
backtest are for finance-wide roles. The rows behind a bar of one salesperson's line are a 404 for a reader whose
forecast has no such line (``huikuan/prediction/tests/test_forecast_items.py``)."""

from tests.e2e.access import OK_ALL, only, post_only

BUILD = {"admin", "finance", "credit_manager"}

ROWS = {
    "forecast:page": ("/forecast/", OK_ALL, 302),
    "forecast:build": ("/forecast/build/", post_only(BUILD), 302),
    "forecast:job": ("/forecast/jobs/{forecast_job}/", only(BUILD), 302),
    "forecast:backtest": ("/forecast/backtest/", only(BUILD | {"auditor"}), 302),
    # the rows behind a bar: the whole first week, every reader's own part (sales_west: none of it, an empty list)
    "forecast:items": ("/forecast/items/?as_of=2026-03-02&week=0", OK_ALL, 302),
    "api:forecast": ("/api/v1/forecast/", OK_ALL, 401),
}


def objects(*, world, company, customer, users, finance):
    import datetime as dt

    from huikuan.prediction.forecast import build_forecast
    from huikuan.prediction.models import ForecastJob

    build_forecast(company=company, as_of=dt.date(2026, 3, 2), actor=finance)  # the API answers 404 without one
    job = ForecastJob.objects.create(company=company, as_of=dt.date(2026, 3, 2), status="done", phase="done",
                                     created_by=finance)
    return {"forecast_job": job.pk}
