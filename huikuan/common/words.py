"""人民币大写: amounts in Chinese capital numerals, wrapping cn2an.

cn2an truncates beyond two decimals, rejects separators and omits the prefix; we round half-up to
the fen first, pass a plain string and add 人民币 / 负 ourselves.
"""


import cn2an

from .money import round_money, to_decimal


def rmb_upper(amount, *, prefix: bool = True) -> str:
    value = round_money(to_decimal(amount))
    negative = value < 0
    value = abs(value)
    if value == 0:
        text = "零元整"
    else:
        text = cn2an.an2cn(format(value, "f"), "rmb")
    if negative:
        text = "负" + text
    return ("人民币" + text) if prefix else text
