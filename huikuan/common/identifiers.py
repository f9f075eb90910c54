"""统一社会信用代码 (GB 32100-2015), pinyin initials and phone normalisation."""

from __future__ import annotations

import phonenumbers
from pypinyin import Style, lazy_pinyin

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_CHARS.index(ch) * w for ch, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


def is_valid_uscc(code: str) -> bool:
    code = (code or "").strip().upper()
    if len(code) != 18 or any(ch not in USCC_CHARS for ch in code):
        return False
    return uscc_check_char(code[:17]) == code[17]


def pinyin_initials(text: str) -> str:
    """'上海华东机械有限公司' -> 'shhdjxyxgs'; latin letters and digits are kept as-is (lowercased)."""
    out = []
    for part in lazy_pinyin(text or "", style=Style.FIRST_LETTER, errors=lambda s: list(s)):
        out.extend(ch.lower() for ch in part if ch.isalnum())
    return "".join(out)


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
