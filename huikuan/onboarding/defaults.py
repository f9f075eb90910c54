"""What a new company starts with (pure data, no Django models): the starter payment terms.

Credit grades come from ``huikuan.credit`` (``DEFAULT_GRADES``) and the dunning policy from
``huikuan.dunning.defaults``; ``services.apply_company_defaults`` creates all of them. The demo loader
uses the same function, so a set-up company and the demo company start alike.
"""

from __future__ import annotations

# code, name, kind, days, split lines, discount %, discount days
STARTER_TERMS: list[tuple[str, str, str, int, list[dict], str, int]] = [
    ("N30", "Net 30 / 30天", "net", 30, [], "0", 0),
    ("N60", "Net 60 / 60天", "net", 60, [], "0", 0),
    ("N90", "Net 90 / 90天", "net", 90, [], "0", 0),
    ("EOM30", "月结30天", "eom", 30, [], "0", 0),
    ("EOM60", "月结60天", "eom", 60, [], "0", 0),
    ("S3070", "30% 预付 + 70% 60天", "split", 0, [{"percent": "30", "days": 0}, {"percent": "70", "days": 60}], "0", 0),
    ("D210N30", "2/10 net 30", "net", 30, [], "2", 10),
]


def starter_terms() -> list[dict]:
    """The starter terms as editable dicts (the setup page and ``huikuan setup`` start from these)."""
    return [
        {"code": code, "name": name, "kind": kind, "days": days, "split_lines": [dict(x) for x in split],
         "discount_percent": dp, "discount_days": dd}
        for code, name, kind, days, split, dp, dd in STARTER_TERMS
    ]
