"""URL × role rows of the salespeople's results and commission screens (see tests/e2e/access/__init__.py)."""

from tests.e2e.access import OK_ALL, only, post_only

MANAGE = {"admin", "finance"}

ROWS = {
    "insight:people": ("/kpis/people/", OK_ALL, 302),
    "insight:dashboard-strip": ("/kpis/dashboard-strip/", OK_ALL, 302),
    "insight:commission-run": ("/kpis/commission/run/", post_only(MANAGE), 302),
    "insight:commission-rules": ("/kpis/commission/rules/", only(MANAGE), 302),
    # sales_east's statement: finance-wide roles and sales_east's manager see it, sales_west does not
    "insight:commission-statement": ("/kpis/commission/{cms}/", {**OK_ALL, "sales_west": 404}, 302),
}


def objects(*, world, company, customer, users, finance):
    import datetime as dt

    from huikuan.insight.models import CommissionStatement

    st = CommissionStatement.objects.create(company=company, salesperson=users["sales_east"], month=dt.date(2026, 3, 1),
                                            month_end=dt.date(2026, 3, 31))
    return {"cms": st.pk}
