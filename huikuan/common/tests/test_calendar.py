import datetime as dt

import pytest

from huikuan.common.calendar import calendar_warning, is_working_day, next_working_day
from huikuan.common.models import HolidayOverride


@pytest.mark.django_db
def test_national_day_rolls_to_first_working_day():
    assert next_working_day(dt.date(2026, 10, 1)) == dt.date(2026, 10, 8)


@pytest.mark.django_db
def test_make_up_working_sunday_is_a_working_day():
    # 2026-09-20 is a Sunday worked in exchange for the National Day holiday (调休)
    assert dt.date(2026, 9, 20).weekday() == 6
    assert is_working_day(dt.date(2026, 9, 20))
    assert next_working_day(dt.date(2026, 9, 20)) == dt.date(2026, 9, 20)


@pytest.mark.django_db
def test_ordinary_weekend_rolls_to_monday():
    assert next_working_day(dt.date(2026, 3, 7)) == dt.date(2026, 3, 9)


@pytest.mark.django_db
def test_override_table_wins():
    HolidayOverride.objects.create(date=dt.date(2026, 3, 9), is_working_day=False, note="test closure")
    HolidayOverride.objects.create(date=dt.date(2026, 3, 8), is_working_day=True, note="make-up day")
    assert next_working_day(dt.date(2026, 3, 7)) == dt.date(2026, 3, 8)


@pytest.mark.django_db
def test_warns_when_next_year_schedule_missing():
    far = dt.date(2098, 11, 15)
    assert calendar_warning(far) is not None
    HolidayOverride.objects.create(date=dt.date(2099, 1, 1), is_working_day=False, note="元旦")
    assert calendar_warning(far) is None
    assert calendar_warning(dt.date(2098, 6, 1)) is None


@pytest.mark.django_db
def test_holidays_command_edits_the_override_table(capsys):
    from django.core.management import call_command

    call_command("holidays", "off", "2099-02-10", "2099-02-11", note="春节")
    call_command("holidays", "work", "2099-02-08", note="调休上班")  # a Sunday worked
    assert next_working_day(dt.date(2099, 2, 10)) == dt.date(2099, 2, 12)
    assert is_working_day(dt.date(2099, 2, 8))
    call_command("holidays", "remove", "2099-02-08")
    assert not HolidayOverride.objects.filter(date=dt.date(2099, 2, 8)).exists()
    call_command("holidays", "list", "--year", "2099")
    assert "春节" in capsys.readouterr().out
