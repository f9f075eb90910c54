"""Deterministic demo data (minimal first slice: companies, teams, users, terms)."""

from django.db import transaction

from huikuan.accounts.models import Company, Role, Team, User
from huikuan.customers.models import PaymentTerm

DEMO_PASSWORD = "huikuan-demo"

USERS = [
    ("admin", Role.ADMIN, "管理员 Admin", None),
    ("finance", Role.FINANCE, "应收会计 陈敏", None),
    ("credit", Role.CREDIT_MANAGER, "信用经理 王强", None),
    ("collector", Role.COLLECTOR, "催收专员 李娜", None),
    ("sales1", Role.SALESPERSON, "业务员 张伟", "华东组"),
    ("sales2", Role.SALESPERSON, "业务员 刘洋", "华东组"),
    ("sales3", Role.SALESPERSON, "业务员 赵磊", "华南组"),
    ("sales4", Role.SALESPERSON, "业务员 孙丽", "华南组"),
    ("sales5", Role.SALESPERSON, "业务员 周杰", "华南组"),
    ("salesmgr", Role.SALES_MANAGER, "销售经理 吴刚", "华东组"),
    ("legal", Role.LEGAL, "法务 郑律", None),
    ("auditor", Role.AUDITOR, "审计 冯审", None),
]

TERMS = [
    ("N30", "Net 30 / 30天", "net", 30, [], "0", 0),
    ("N60", "Net 60 / 60天", "net", 60, [], "0", 0),
    ("N90", "Net 90 / 90天", "net", 90, [], "0", 0),
    ("EOM30", "月结30天", "eom", 30, [], "0", 0),
    ("S3070", "30% 预付 + 70% 60天", "split", 0, [{"percent": "30", "days": 0}, {"percent": "70", "days": 60}], "0", 0),
    ("D210N30", "2/10 net 30", "net", 30, [], "2", 10),
]


@transaction.atomic
def ensure_demo_data(*, scale: float = 1.0, seed: int = 20261130, stdout=None):
    company, _ = Company.objects.get_or_create(
        code="HK01",
        defaults=dict(name="杭州汇款科技有限公司", name_en="Hangzhou Huikuan Technology Co., Ltd.",
                      credit_code="91330100MA2CFW1X4L", bank_name="招商银行杭州分行",
                      bank_account_name="杭州汇款科技有限公司", bank_account_number="5719 0812 3410 601"),
    )
    teams = {}
    logins = []
    for username, role, display, team_name in USERS:
        team = None
        if team_name:
            team = teams.get(team_name) or Team.objects.get_or_create(name=team_name)[0]
            teams[team_name] = team
        user, created = User.objects.get_or_create(username=username, defaults=dict(role=role, display_name=display, team=team))
        if created:
            user.set_password(DEMO_PASSWORD)
            user.is_superuser = role == Role.ADMIN
            user.save()
            user.companies.add(company)
        logins.append((role.label if hasattr(role, "label") else role, username))
    mgr = User.objects.get(username="salesmgr")
    Team.objects.filter(name="华东组").update(manager=mgr)
    for code, name, kind, days, split, dp, dd in TERMS:
        PaymentTerm.objects.get_or_create(company=company, code=code, defaults=dict(
            name=name, kind=kind, days=days, split_lines=split, discount_percent=dp, discount_days=dd))
    return logins
