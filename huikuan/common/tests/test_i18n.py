"""The staff UI is fully translated into simplified Chinese.

1. Every gettext string in the code has a reviewed, non-fuzzy zh_Hans translation: makemessages is run
   on a copy of the package (the real catalog is never touched) and the result must have no gaps.
2. The committed .mo files say the same as their .po files (someone edited a .po and forgot
   compilemessages, the product would still show the old text).
3. Rendered pages in zh-hans show the Chinese navigation and none of the English labels.
"""

import gettext
import os
import re
import shutil
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

BASE = Path(settings.BASE_DIR)
PACKAGE = BASE / "huikuan"
LOCALE = PACKAGE / "locale"
ZH_PO = LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.po"
MAKEMESSAGES = ["makemessages", "-l", "zh_Hans", "--no-location", "-d", "django",
                "--ignore=tests", "--ignore=__pycache__"]


def _require(tool):
    if shutil.which(tool):
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{tool} (GNU gettext) is required in CI")
    pytest.skip(f"{tool} (GNU gettext) is not installed; install gettext to check the catalogs")


# --- a tiny .po reader ----------------------------------------------------------------------------------

def _unquote(s):
    s = s.strip()
    assert s.startswith('"') and s.endswith('"'), s
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r"}
    return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), "\\" + m.group(1)), s[1:-1])


def parse_po(text):
    """Entries of a .po file: dicts with msgctxt, msgid, msgid_plural, msgstr {index: text}, fuzzy.

    Obsolete entries (``#~``) are not returned; the header (msgid "") is.
    """
    entries = []
    for block in re.split(r"\n[ \t]*\n", text.strip("\n")):
        entry = {"msgctxt": None, "msgid": None, "msgid_plural": None, "msgstr": {}, "fuzzy": False}
        key = None
        obsolete = False
        for line in block.splitlines():
            if line.startswith("#~"):
                obsolete = True
            elif line.startswith("#,"):
                entry["fuzzy"] |= "fuzzy" in [f.strip() for f in line[2:].split(",")]
            elif line.startswith("#"):
                continue
            elif m := re.match(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*\")\s*$", line):
                word, index, rest = m.groups()
                if word.startswith("msgstr"):
                    key = ("msgstr", int(index or 0))
                    entry["msgstr"][key[1]] = _unquote(rest)
                else:
                    key = (word, None)
                    entry[word] = _unquote(rest)
            elif line.startswith('"') and key is not None:
                if key[0] == "msgstr":
                    entry["msgstr"][key[1]] += _unquote(line)
                else:
                    entry[key[0]] += _unquote(line)
            elif line.strip():
                raise AssertionError(f"unexpected line in .po: {line!r}")
        if not obsolete and entry["msgid"] is not None:
            entries.append(entry)
    return entries


def _label(entry):
    return (f"[{entry['msgctxt']}] " if entry["msgctxt"] else "") + entry["msgid"]


def test_parse_po_reads_plurals_contexts_fuzzy_and_continuations():
    entries = parse_po('msgid ""\nmsgstr ""\n"Language: zh\\n"\n\n'
                       '#, fuzzy, python-format\nmsgid "%(n)s row"\nmsgid_plural "%(n)s rows"\nmsgstr[0] "%(n)s 行"\n\n'
                       'msgctxt "verb"\nmsgid "Post"\nmsgstr ""\n"记账"\n\n'
                       '#~ msgid "Gone"\n#~ msgstr "旧"\n')
    header, plural, post = entries
    assert header["msgstr"][0] == "Language: zh\n"
    assert plural["fuzzy"] and plural["msgid_plural"] == "%(n)s rows" and plural["msgstr"] == {0: "%(n)s 行"}
    assert post["msgctxt"] == "verb" and post["msgstr"] == {0: "记账"} and not post["fuzzy"]
    assert len(entries) == 3


# --- 1. nothing untranslated -----------------------------------------------------------------------------

def test_every_string_in_the_code_has_a_chinese_translation(tmp_path):
    _require("xgettext")
    _require("msgmerge")
    copy = tmp_path / "huikuan"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo"))
    shutil.copytree(BASE / "config", tmp_path / "config", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    # The project's settings, but with LOCALE_PATHS pointing into the copy, so makemessages cannot
    # write to the real catalog whatever directory logic it applies.
    (tmp_path / "i18n_check_settings.py").write_text(
        "from config.settings import *  # noqa: F403\n"
        f"LOCALE_PATHS = [{str(copy / 'locale')!r}]\n", encoding="utf-8")
    real_before = ZH_PO.read_bytes()
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="i18n_check_settings",
               PYTHONPATH=os.pathsep.join([str(tmp_path), str(BASE)]))
    result = subprocess.run([sys.executable, str(BASE / "manage.py"), *MAKEMESSAGES],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert ZH_PO.read_bytes() == real_before, "makemessages touched the real catalog"

    entries = parse_po((copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8"))
    messages = [e for e in entries if e["msgid"] != ""]
    assert len(messages) > 500, "makemessages found suspiciously few strings"
    fuzzy = [_label(e) for e in messages if e["fuzzy"]]
    empty = [_label(e) for e in messages if not e["msgstr"] or not all(v.strip() for v in e["msgstr"].values())]
    assert not fuzzy, f"{len(fuzzy)} fuzzy translations (review them, then drop the fuzzy flag): {fuzzy[:20]}"
    assert not empty, (f"{len(empty)} strings have no Chinese translation; run makemessages and translate "
                       f"them in huikuan/locale/zh_Hans/LC_MESSAGES/django.po: {empty[:20]}")
    header = next(e for e in entries if e["msgid"] == "")
    assert not header["fuzzy"]
    assert "nplurals=1" in header["msgstr"][0]
    assert all(list(e["msgstr"]) == [0] for e in messages), "Chinese has exactly one plural form"


# --- 2. compiled catalogs are current ----------------------------------------------------------------------

@pytest.mark.parametrize("language", ["zh_Hans", "en"])
def test_committed_mo_matches_its_po(tmp_path, language):
    _require("msgfmt")
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"{mo} is missing; run manage.py compilemessages"
    fresh = tmp_path / "django.mo"
    result = subprocess.run(["msgfmt", "--check-format", "--check-header", "-o", str(fresh), str(po)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr

    with mo.open("rb") as f:
        committed = gettext.GNUTranslations(f)
    with fresh.open("rb") as f:
        expected = gettext.GNUTranslations(f)
    stale = []
    for e in parse_po(po.read_text(encoding="utf-8")):
        if e["msgid"] == "":
            continue
        if e["msgid_plural"] is not None:
            for n in (1, 2, 5):
                args = (e["msgid"], e["msgid_plural"], n)
                got = committed.npgettext(e["msgctxt"], *args) if e["msgctxt"] else committed.ngettext(*args)
                want = expected.npgettext(e["msgctxt"], *args) if e["msgctxt"] else expected.ngettext(*args)
                if got != want:
                    stale.append(_label(e))
        else:
            got = committed.pgettext(e["msgctxt"], e["msgid"]) if e["msgctxt"] else committed.gettext(e["msgid"])
            want = expected.pgettext(e["msgctxt"], e["msgid"]) if e["msgctxt"] else expected.gettext(e["msgid"])
            if got != want:
                stale.append(_label(e))
    assert not stale, f"{mo} is older than {po.name}; run manage.py compilemessages. Differs: {stale[:20]}"


# --- 3. what staff see -------------------------------------------------------------------------------------

NAV_ENGLISH = ["Dashboard", "Customers", "Documents", "Payments", "Aging", "Statements", "Write-offs",
               "Payment terms", "Sign out", "Select an option"]
PAGES = ["web:dashboard", "web:customer-list", "web:document-list", "web:aging", "web:statement-index",
         "web:customer-create"]


def _visible_text(html):
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S | re.I)
    return unescape(re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize("page", PAGES)
def test_pages_render_in_chinese(client, finance, customer, page):
    client.force_login(finance)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    response = client.get(reverse(page), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    nav = re.search(r'<nav class="mainnav".*?</nav>', html, re.S).group(0)
    for zh in ["工作台", "客户", "应收单据", "收款", "账龄", "对账单", "坏账核销", "发票", "付款条件"]:
        assert zh in nav
    text = _visible_text(html)
    assert "退出登录" in text
    leaked = [w for w in NAV_ENGLISH if re.search(rf"\b{re.escape(w)}\b", text)]
    assert not leaked, f"English labels on the zh-hans page: {leaked}"


def test_english_is_still_available(client, finance, customer):
    """The check above is only meaningful if the same page does say "Customers" in English."""
    client.force_login(finance)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    text = _visible_text(client.get(reverse("web:customer-list"), HTTP_ACCEPT_LANGUAGE="en").content.decode())
    assert "Customers" in text and "Sign out" in text and "退出登录" not in text


# --- 4. no raw code and no English left in the Chinese catalog -------------------------------------------

# Names that are the same in both languages (standards, products, acronyms a Chinese finance user uses as is)
SAME_IN_BOTH = {"API", "MT940", "CAMT.053", "PDF", "XLSX", "CSV", "URL", "SMS", "LPR", "DSO", "CEI", "ADD", "ID"}
_PLACEHOLDERS = re.compile(r"%\(\w+\)[sdfi]|%[sdfi%]|\{\{.*?\}\}|\{%.*?%\}|<[^>]+>|&\w+;")
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
_CODE = re.compile(r"[a-z][a-z0-9]*(?:[._][a-z0-9]+)+")


def catalog_problems(entries) -> tuple[list[str], list[str]]:
    """(msgids that are raw codes, msgids whose Chinese is still English) of the given .po entries."""
    codes, english = [], []
    for e in entries:
        msgid = e["msgid"]
        if not msgid:
            continue
        if _CODE.fullmatch(msgid.strip()):
            codes.append(msgid)
            continue
        words = _PLACEHOLDERS.sub(" ", msgid)
        if msgid.strip() in SAME_IN_BOTH or not re.search(r"[A-Za-z]{2,}", words):
            continue  # a name used as is, or a format with nothing to translate
        if any(not _CJK.search(v) for v in e["msgstr"].values()):
            english.append(msgid)
    return codes, english


def test_catalog_problems_are_found():
    entries = [{"msgid": "statement.issued", "msgstr": {0: "对账单已发出"}},
               {"msgid": "order_released", "msgstr": {0: "x"}},
               {"msgid": "Credit hold placed", "msgstr": {0: "Credit hold placed"}},
               {"msgid": "Bill register", "msgstr": {0: "Bill Register"}},
               {"msgid": "%(kind)s: %(reason)s", "msgstr": {0: "%(kind)s：%(reason)s"}},
               {"msgid": "API", "msgstr": {0: "API"}},
               {"msgid": "Order %(ref)s", "msgstr": {0: "订单 %(ref)s"}}]
    assert catalog_problems(entries) == (["statement.issued", "order_released"], ["Credit hold placed", "Bill register"])


def test_no_raw_code_or_unchanged_english_in_the_chinese_catalog():
    """Issue 12 point 19: a code stored as the message itself, or English copied into zh_Hans, would
    reach a Chinese reader as is."""
    codes, english = catalog_problems(parse_po(ZH_PO.read_text(encoding="utf-8")))
    assert not codes, f"msgids that are raw codes (store a code with its text instead): {codes[:20]}"
    assert not english, f"zh_Hans entries still in English: {english[:20]}"


def test_no_gettext_alias_hides_strings_from_the_catalog():
    """``from django.utils.translation import gettext as _g`` made makemessages skip every ``_g("…")``
    (template errors read English to Chinese users): only the names makemessages knows may be used."""
    known = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext", "pgettext_lazy",
             "npgettext", "npgettext_lazy", "gettext_noop"}
    alias = re.compile(r"from django\.utils\.translation import [^\n]*\b(\w*gettext\w*) as (\w+)")
    bad = []
    for path in PACKAGE.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        for m in alias.finditer(path.read_text(encoding="utf-8")):
            if m.group(2) not in known:
                bad.append(f"{path.relative_to(BASE)}: {m.group(1)} as {m.group(2)}")
    assert not bad, bad
