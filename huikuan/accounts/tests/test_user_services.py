"""User administration services: validation, duplicates, last-administrator guard, audit, one-time passwords."""

import pytest
from django.db import IntegrityError, transaction

from huikuan.accounts import services
from huikuan.accounts.models import Role, Team, User
from huikuan.common.errors import NotAllowed
from huikuan.common.models import AuditEvent


@pytest.fixture
def admin(users):
    return users["admin"]


def _add(admin, company, **kw):
    values = dict(actor=admin, username="zhangwei", password="Zw-pass-2026", role=Role.SALESPERSON,
                  display_name="张伟", employee_number="E0012", email="zw@example.cn", phone="138 0013 8000",
                  team="华东组", companies=[company])
    values.update(kw)
    return services.create_user(**values)


def test_create_user_with_full_profile_is_audited_and_one_time(admin, company):
    user = _add(admin, company, manager="manager_east")
    user.refresh_from_db()
    assert (user.display_name, user.employee_number, user.phone) == ("张伟", "E0012", "+8613800138000")
    assert user.team.name == "华东组" and user.manager.username == "manager_east"
    assert user.must_change_password and user.check_password("Zw-pass-2026")
    assert list(user.companies.all()) == [company]
    event = AuditEvent.objects.get(verb="accounts.user.created", target_id=user.pk)
    assert event.actor == admin and event.company_id == company.pk
    assert "Zw-pass-2026" not in str(event.data) and "password" not in event.data


def test_full_width_employee_number_is_folded(admin, company):
    assert _add(admin, company, employee_number="Ｅ００１２").employee_number == "E0012"


@pytest.mark.parametrize("field, kw", [
    ("username", {"username": "zhang wei"}),
    ("role", {"role": "boss"}),
    ("email", {"email": "not-an-email"}),
    ("phone", {"phone": "12"}),
    ("password", {"password": "short"}),
    ("employee_number", {"employee_number": "E 12"}),
    ("display_name", {"display_name": "张\x07伟"}),
    ("manager", {"manager": "nobody"}),
])
def test_invalid_input_names_the_field_and_writes_nothing(admin, company, field, kw):
    before = User.objects.count()
    with pytest.raises(services.AccountError) as err:
        _add(admin, company, **kw)
    assert err.value.field == field
    assert User.objects.count() == before
    assert not Team.objects.filter(name="华东组").exists()


def test_duplicate_login_and_employee_number_refused(admin, company):
    _add(admin, company)
    with pytest.raises(services.DuplicateUser) as err:
        _add(admin, company, username="ZhangWei", employee_number="E9")
    assert err.value.field == "username"
    with pytest.raises(services.DuplicateUser) as err:
        _add(admin, company, username="zw2", employee_number="E0012")
    assert err.value.field == "employee_number" and "张伟" in str(err.value)


def test_employee_number_unique_in_the_database_but_blank_repeats(company):
    User.objects.create(username="a", employee_number="")
    User.objects.create(username="b", employee_number="")
    User.objects.create(username="c", employee_number="X1")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="d", employee_number="X1")


def test_only_administrators_manage_users(users, company):
    with pytest.raises(NotAllowed):
        _add(users["finance"], company)


def test_role_change_and_deactivation_keep_one_active_admin(admin, users, company):
    with pytest.raises(services.AccountError):
        services.set_role(actor=None, user_id=admin.pk, role=Role.FINANCE)
    with pytest.raises(services.AccountError):
        services.deactivate_user(actor=admin, user_id=admin.pk)  # not oneself
    new_admin = services.set_role(actor=admin, user_id=users["finance"].pk, role=Role.ADMIN)
    services.deactivate_user(actor=new_admin, user_id=admin.pk)
    admin.refresh_from_db()
    assert not admin.is_active and User.objects.filter(pk=admin.pk).exists()  # never deleted
    assert str(admin) == "admin"  # history keeps the name
    verbs = list(AuditEvent.objects.filter(target_id=admin.pk, target_type="accounts.user").values_list("verb", flat=True))
    assert "accounts.user.deactivated" in verbs
    role_event = AuditEvent.objects.get(verb="accounts.user.role_changed", target_id=users["finance"].pk)
    assert role_event.data == {"before": {"role": "finance"}, "after": {"role": "admin"}}
    with pytest.raises(services.AccountError):
        services.deactivate_user(actor=new_admin, user_id=admin.pk)  # already


def test_reset_and_change_password(admin, users):
    target = users["collector"]
    services.reset_password(actor=admin, user_id=target.pk, password="Temp-2026-x")
    target.refresh_from_db()
    assert target.must_change_password and target.check_password("Temp-2026-x")
    with pytest.raises(services.AccountError) as err:
        services.change_own_password(user_id=target.pk, old_password="wrong", new_password="Mine-2026-y")
    assert err.value.field == "old_password"
    services.change_own_password(user_id=target.pk, old_password="Temp-2026-x", new_password="Mine-2026-y")
    target.refresh_from_db()
    assert not target.must_change_password and target.check_password("Mine-2026-y")


def test_update_profile_records_old_and_new(admin, users):
    user = services.update_user(actor=admin, user_id=users["collector"].pk, display_name="李娜", employee_number="C7")
    assert user.display_name == "李娜"
    event = AuditEvent.objects.get(verb="accounts.user.updated")
    assert event.data["before"]["display_name"] == "collector" and event.data["after"]["employee_number"] == "C7"
    with pytest.raises(services.AccountError):
        services.update_user(actor=admin, user_id=user.pk, manager=user.username)


def test_find_user_by_login_or_employee_number(admin, company):
    user = _add(admin, company)
    assert services.find_user("zhangwei") == user
    assert services.find_user("E0012") == user
    assert services.find_user("nobody") is None
