"""Maintain the zh_Hans gettext catalog from a reviewed translation table.

    python scripts/i18n_fill.py todo  [PO]          list msgids that are untranslated or fuzzy, one per line
    python scripts/i18n_fill.py apply TABLE [PO]    fill those entries from TABLE and clear their fuzzy flags

TABLE is a UTF-8 text file, one entry per line: ``msgid<TAB>msgstr`` (or ``msgid => msgstr``) with
newlines written as ``\\n``
(lines starting with ``#`` and blank lines are ignored). For a plural entry the key is the singular
msgid; Chinese has one plural form, so the one msgstr becomes ``msgstr[0]``. An entry with a context
(pgettext, ``{% translate ... context ... %}``) is keyed ``context\\x04msgid``.

The table wins over the catalog for every msgid it lists; entries it does not list are left alone if
already translated and not fuzzy. A fuzzy entry (msgmerge's guess for a new or
changed string) is only accepted when the table has a reviewed translation for it, otherwise it is
reported and left fuzzy so the catalog test fails until someone translates it.
The PO defaults to huikuan/locale/zh_Hans/LC_MESSAGES/django.po.
"""

import re
import sys
from pathlib import Path

DEFAULT_PO = Path(__file__).resolve().parent.parent / "huikuan" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
HEADER = {
    "Project-Id-Version": "Huikuan",
    "Language-Team": "Huikuan <zh-hans>",
    "Language": "zh_Hans",
    "Plural-Forms": "nplurals=1; plural=0;",
    "Last-Translator": "Huikuan maintainers",
}


def _unquote(s):
    s = s.strip()
    assert s.startswith('"') and s.endswith('"'), s
    return re.sub(r'\\(.)', lambda m: {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}.get(m.group(1), "\\" + m.group(1)), s[1:-1])


def _quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t").replace("\n", "\\n") + '"'


def parse(text):
    """Return a list of entries: dict(comments=[...], flags=set, msgid, msgid_plural, msgstr={index: str}, obsolete)."""
    entries = []
    for block in re.split(r"\n\s*\n", text.strip("\n")):
        e = {"comments": [], "flags": set(), "msgctxt": None, "msgid": None, "msgid_plural": None,
             "msgstr": {}, "obsolete": False}
        key = None
        for line in block.splitlines():
            if line.startswith("#~"):
                e["obsolete"] = True
                e["comments"].append(line)
                continue
            if line.startswith("#,"):
                e["flags"].update(f.strip() for f in line[2:].split(",") if f.strip())
                continue
            if line.startswith("#"):
                e["comments"].append(line)
                continue
            m = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")$', line)
            if m:
                word, idx, rest = m.groups()
                if word.startswith("msgstr"):
                    key = ("msgstr", int(idx) if idx is not None else 0)
                    e["msgstr"][key[1]] = _unquote(rest)
                else:
                    key = (word, None)
                    e[word] = _unquote(rest)
            elif line.startswith('"') and key:
                if key[0] == "msgstr":
                    e["msgstr"][key[1]] += _unquote(line)
                else:
                    e[key[0]] += _unquote(line)
        entries.append(e)
    return entries


def render(entries):
    out = []
    for e in entries:
        if e["obsolete"]:
            out.append("\n".join(e["comments"]))
            continue
        # gettext's order: translator/extracted/reference comments, then the flags, then the previous
        # msgid ("#|" lines, kept for a fuzzy entry) — msgfmt rejects "#|" before "#,"
        lines = [c for c in e["comments"] if not c.startswith("#|")]
        if e["flags"]:
            lines.append("#, " + ", ".join(sorted(e["flags"], key=lambda f: (f != "fuzzy", f))))
        lines += [c for c in e["comments"] if c.startswith("#|")]
        if e["msgctxt"] is not None:
            lines.append("msgctxt " + _quote(e["msgctxt"]))
        if e["msgid"] == "":
            lines.append('msgid ""')
            lines.append('msgstr ""')
            lines.extend(_quote(h + "\n") for h in e["msgstr"][0].splitlines())
        else:
            lines.append("msgid " + _quote(e["msgid"]))
            if e["msgid_plural"] is not None:
                lines.append("msgid_plural " + _quote(e["msgid_plural"]))
                for i in sorted(e["msgstr"]):
                    lines.append(f"msgstr[{i}] " + _quote(e["msgstr"][i]))
            else:
                lines.append("msgstr " + _quote(e["msgstr"].get(0, "")))
        out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


def needs_work(e):
    return (not e["obsolete"] and e["msgid"] != ""
            and ("fuzzy" in e["flags"] or not all(e["msgstr"].values()) or not e["msgstr"]))


def _esc(s):
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _unesc(s):
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "\\": "\\"}.get(m.group(1), "\\" + m.group(1)), s)


def load_table(path):
    table = {}
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        sep = "\t" if "\t" in line else " => "
        if sep not in line:
            raise SystemExit(f"{path}:{n}: no TAB or ' => ' between msgid and msgstr")
        k, v = line.split(sep, 1)
        table[_unesc(k).replace("\\x04", "\x04")] = _unesc(v)
    return table


def fix_header(e):
    lines = e["msgstr"][0].splitlines()
    header = dict(HEADER, **{"PO-Revision-Date": "2026-01-01 00:00+0800"})  # fixed: parallel branches merge
    seen = set()
    for i, line in enumerate(lines):
        name = line.split(":", 1)[0]
        if name in header:
            lines[i] = f"{name}: {header[name]}"
            seen.add(name)
    lines += [f"{k}: {v}" for k, v in header.items() if k not in seen]
    e["msgstr"][0] = "\n".join(lines)
    e["flags"].discard("fuzzy")
    e["comments"] = ["# Huikuan staff UI, simplified Chinese."]


def main(argv):
    if len(argv) < 2 or argv[1] not in ("todo", "apply"):
        raise SystemExit(__doc__)
    if argv[1] == "todo":
        po = Path(argv[2]) if len(argv) > 2 else DEFAULT_PO
        for e in parse(po.read_text(encoding="utf-8")):
            if needs_work(e):
                print(("" if e["msgctxt"] is None else _esc(e["msgctxt"]) + "\\x04") + _esc(e["msgid"]))
        return 0
    table = load_table(argv[2])
    po = Path(argv[3]) if len(argv) > 3 else DEFAULT_PO
    entries = parse(po.read_text(encoding="utf-8"))
    missing = filled = 0
    for e in entries:
        if e["msgid"] == "" and not e["obsolete"]:
            fix_header(e)
            continue
        zh = table.get(e["msgid"] if e["msgctxt"] is None else f"{e['msgctxt']}\x04{e['msgid']}")
        if e["obsolete"] or not (zh or needs_work(e)):
            continue
        if not zh:
            missing += 1
            print("untranslated:", _esc(e["msgid"]), file=sys.stderr)
            continue
        e["msgstr"] = {0: zh}
        e["flags"].discard("fuzzy")
        e["comments"] = [c for c in e["comments"] if not c.startswith("#|")]
        filled += 1
    po.write_text(render(entries), encoding="utf-8")
    print(f"filled {filled}, still untranslated {missing}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
