from decimal import Decimal as D

import pytest

from huikuan.common.identifiers import is_valid_uscc, normalise_phone, pinyin_initials
from huikuan.common.money import from_minor, money, round_money, to_minor
from huikuan.common.words import rmb_upper


@pytest.mark.parametrize(
    "amount,words",
    [
        ("1409.50", "壹仟肆佰零玖元伍角"),
        ("16409.02", "壹万陆仟肆佰零玖元零贰分"),
        ("325.04", "叁佰贰拾伍元零肆分"),
        ("6007.14", "陆仟零柒元壹角肆分"),
        ("100000", "壹拾万元整"),
        ("5002", "伍仟零贰元整"),
        ("15.80", "壹拾伍元捌角"),
        ("100010.01", "壹拾万零壹拾元零壹分"),
        ("0.05", "伍分"),
        ("-12.50", "负壹拾贰元伍角"),
    ],
)
def test_rmb_upper_golden(amount, words):
    assert rmb_upper(D(amount), prefix=False) == words
    assert rmb_upper(D(amount)) == "人民币" + words


def test_rmb_upper_rounds_half_up_first():
    assert rmb_upper(D("10.005"), prefix=False) == "壹拾元零壹分"


def test_round_half_up_and_scale():
    assert round_money(D("10.005")) == D("10.01")
    assert round_money(D("2.5"), "JPY") == D("3.00")
    with pytest.raises(ValueError):
        money("1.005")
    with pytest.raises(ValueError):
        money("1.5", "JPY")
    with pytest.raises(TypeError):
        money(1.5)
    assert money("１，２３４．５０") == D("1234.50")
    assert to_minor(D("12.34")) == 1234 and from_minor(1234) == D("12.34")


def test_uscc_checksum():
    assert is_valid_uscc("91350100M000100Y43")
    assert not is_valid_uscc("91350100M000100Y44")
    assert not is_valid_uscc("91350100M000100Y4")
    assert not is_valid_uscc("91350100M000100I43")


def test_uscc_checks_the_embedded_organisation_code():
    from huikuan.common.identifiers import org_code_check_char, uscc_check_char, uscc_problem

    assert org_code_check_char("55138508") == "2" and org_code_check_char("M000100Y") == "4"  # GB 11714
    assert uscc_problem("91110108551385082Q") is None
    # a right 18th character over a wrong organisation check character (…X4 should be …X7)
    wrong = "91330100MA2CFW1X4" + uscc_check_char("91330100MA2CFW1X4")
    assert uscc_problem(wrong) == "org_check" and not is_valid_uscc(wrong)
    assert uscc_problem("91350100M000100Y44") == "check" and uscc_problem("9135") == "format"


def test_pinyin_and_phone():
    assert pinyin_initials("上海华东机械有限公司") == "shhdjxyxgs"
    assert normalise_phone("138 0013 8000") == "+8613800138000"
    with pytest.raises(ValueError):
        normalise_phone("12345")
