"""统一社会信用代码 (GB 32100-2015) with its embedded organisation code (GB 11714-1997), pinyin
initials and phone normalisation."""

from __future__ import annotations

import phonenumbers
from pypinyin import Style, lazy_pinyin

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_CHARS.index(ch) * w for ch, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def org_code_check_char(body8: str) -> str:
    """GB 11714 check character of an organisation code's first 8 characters (digits; letters A=10 … Z=35)."""
    total = sum((int(ch) if ch.isdigit() else ord(ch) - 55) * w for ch, w in zip(body8, ORG_WEIGHTS, strict=True))
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def uscc_problem(code: str) -> str | None:
    """Why ``code`` is not a valid 统一社会信用代码, or None when it is.

    ``"format"``: not 18 characters of the GB 32100 set (digits and capitals without I, O, S, V, Z);
    ``"org_check"``: characters 9–17 are the organisation code (主体标识码, GB 11714) and its own check
    character (the 17th) is wrong; ``"check"``: the 18th character, the check over the first 17, is wrong.
    """
    code = (code or "").strip().upper()
    if len(code) != 18 or any(ch not in USCC_CHARS for ch in code):
        return "format"
    if org_code_check_char(code[8:16]) != code[16]:
        return "org_check"
    if uscc_check_char(code[:17]) != code[17]:
        return "check"
    return None


def is_valid_uscc(code: str) -> bool:
    return uscc_problem(code) is None


def pinyin_initials(text: str) -> str:
    """'上海华东机械有限公司' -> 'shhdjxyxgs'; latin letters and digits are kept as-is (lowercased)."""
    out = []
    for part in lazy_pinyin(text or "", style=Style.FIRST_LETTER, errors=lambda s: list(s)):
        out.extend(ch.lower() for ch in part if ch.isalnum())
    return "".join(out)


def pinyin_full(text: str) -> str:
    """'上海华东机械有限公司' -> 'shanghaihuadongjixieyouxiangongsi' (latin letters and digits kept, lowercased)."""
    return "".join(ch.lower() for part in lazy_pinyin(text or "", errors=lambda s: list(s)) for ch in part if ch.isalnum())


def normalise_phone(raw: str, region: str = "CN") -> str:
    """Return E.164 ('+8613800138000'); raise ValueError when it is not a possible number."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(str(exc)) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("invalid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
