#!/usr/bin/env python
"""Fill ru/kk msgstr entries from a JSON file, or list what is missing.

    python scripts/po_fill.py missing [DIR]        # JSON skeleton of untranslated msgids under DIR
    python scripts/po_fill.py fill FILE.json [DIR] # {"msgid": {"ru": "...", "kk": "..."}}

DIR defaults to the whole project. A key "context\u0004msgid" fills only that msgctxt's entry
(and wins over a plain "msgid" key). A value may be a list for plural forms. Only empty or fuzzy
entries are filled unless --force is given; fuzzy flags are removed on fill. Catalogues must
have been made with --no-wrap (scripts/translations.py does that).
"""

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def catalogues(base: Path):
    for po in sorted(base.rglob("LC_MESSAGES/django.po")):
        if ".venv" in po.parts or "var" in po.parts:
            continue
        yield po.parts[-3], po


def unquote(s: str) -> str:
    return json.loads(f'"{s}"')


def quote(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)[1:-1]


def split_blocks(text: str):
    return re.split(r"(\n\s*\n)", text)


def _field(block: str, name: str):
    """A field's value, with its continuation lines (a msgid holding a newline spans lines)."""
    m = re.search(rf'^{name} "(.*)"$((?:\n".*"$)*)', block, re.M)
    if not m:
        return None
    return unquote(m.group(1)) + "".join(unquote(ln[1:-1]) for ln in m.group(2).splitlines() if ln)


def parse(block: str):
    """The entry's msgid; with a msgctxt, "context\x04msgid" (gettext's own key form)."""
    msgid = _field(block, "msgid")
    if msgid is None:
        return None
    ctx = _field(block, "msgctxt")
    return f"{ctx}\x04{msgid}" if ctx is not None else msgid


def lookup(mapping: dict, key: str):
    """A context-specific entry ("context\x04msgid" in JSON: "appeals\u0004Save") wins over the plain msgid."""
    if key in mapping:
        return mapping[key]
    return mapping.get(key.split("\x04", 1)[-1])


def is_untranslated(block: str) -> bool:
    if "#, fuzzy" in block or re.search(r"^#,.*fuzzy", block, re.M):
        return True
    return bool(re.search(r'^msgstr(\[\d+\])? ""$', block, re.M)) and not re.search(r'^msgstr(\[\d+\])? "".*\n"', block, re.M)


def missing(base: Path) -> dict:
    out: dict = {}
    for lang, po in catalogues(base):
        for block in split_blocks(po.read_text(encoding="utf-8")):
            msgid = parse(block)
            if msgid and is_untranslated(block):
                out.setdefault(msgid, {})[lang] = ""
    return out


def fill(mapping: dict, base: Path, force: bool) -> int:
    changed = 0
    for lang, po in catalogues(base):
        parts = split_blocks(po.read_text(encoding="utf-8"))
        for i, block in enumerate(parts):
            msgid = parse(block)
            entry = lookup(mapping, msgid) if msgid else None
            if not entry or lang not in entry:
                continue
            if not force and not is_untranslated(block):
                continue
            value = entry[lang]
            if not value:
                continue
            values = value if isinstance(value, list) else None
            block = re.sub(r"^#, fuzzy\n", "", block, flags=re.M)
            block = re.sub(r"^#, fuzzy, ", "#, ", block, flags=re.M)
            block = re.sub(r"^(#,.*?), fuzzy", r"\1", block, flags=re.M)
            block = re.sub(r"^#\| .*\n?", "", block, flags=re.M)

            def repl(m, values=values, value=value):
                idx = m.group(1)
                if idx:
                    n = int(idx[1:-1])
                    v = values[min(n, len(values) - 1)] if values else value
                else:
                    v = values[0] if values else value
                return f'msgstr{idx or ""} "{quote(v)}"'

            block = re.sub(r'^msgstr(\[\d+\])? ".*"$(?:\n".*"$)*', repl, block, flags=re.M)
            parts[i] = block
            changed += 1
        po.write_text("".join(parts), encoding="utf-8")
    return changed


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--force"]
    force = "--force" in sys.argv
    if not args:
        sys.exit(__doc__)
    if args[0] == "missing":
        base = Path(args[1]).resolve() if len(args) > 1 else ROOT
        print(json.dumps(missing(base), ensure_ascii=False, indent=1))
    elif args[0] == "fill":
        mapping = json.loads(Path(args[1]).read_text(encoding="utf-8"))
        base = Path(args[2]).resolve() if len(args) > 2 else ROOT
        print(f"filled {fill(mapping, base, force)} entries")
    else:
        sys.exit(__doc__)
