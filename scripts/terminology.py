#!/usr/bin/env python
"""Terminology check (issue #14): the catalogues translate one way and follow docs/glossary.md.

    python scripts/terminology.py [ROOT]     # exit 1 and a list of problems, else a one-line summary

1. The same msgid (with its msgctxt) has one kk translation in every catalogue (first-letter case
   aside; Russian may differ where the grammatical gender follows the noun: «Создан» / «Создано»).
2. A catalogue entry whose Russian text is exactly a glossary term has the glossary's Kazakh.
3. An entry whose Russian text contains a glossary term never uses one of the term's «avoid»
   Kazakh variants (e.g. «Жоба» for «Черновик» clashes with «жоба», project).

scripts/translations.py check runs it, so `make lint` and `make test` fail on a clash.
"""

import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LANGS = ("ru", "kk")


def _unquote(s: str) -> str:
    return s.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def entries(po: Path):
    """(msgctxt or None, msgid, first msgstr) per entry, continuation lines joined."""
    for block in re.split(r"\n\s*\n", po.read_text(encoding="utf-8")):
        parts, current = {}, None
        for ln in block.splitlines():
            if ln.startswith("#"):
                continue
            m = re.match(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?) "(.*)"$', ln)
            if m:
                current = m.group(1)
                parts[current] = _unquote(m.group(2))
            elif ln.startswith('"') and current:
                parts[current] += _unquote(ln[1:-1])
        if parts.get("msgid"):
            yield parts.get("msgctxt"), parts["msgid"], parts.get("msgstr", parts.get("msgstr[0]", ""))


def catalogues(root: Path):
    out = []
    for lang in LANGS:
        out += [(lang, p) for p in sorted(root.glob(f"*/locale/{lang}/LC_MESSAGES/django.po"))
                if ".venv" not in p.parts]
        own = root / "locale" / lang / "LC_MESSAGES" / "django.po"
        if own.exists():
            out.append((lang, own))
    return out


def glossary(root: Path) -> list[dict]:
    """The rows of the table between the glossary markers in docs/glossary.md."""
    path = root / "docs" / "glossary.md"
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    m = re.search(r"<!-- glossary:start -->(.*?)<!-- glossary:end -->", text, re.S)
    rows = []
    for line in (m.group(1) if m else "").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 5 or set(cells[0]) <= set("-: ") or cells[0] == "ru":
            continue
        avoid = [a.strip().strip("«»") for a in cells[4].split(",") if a.strip() and a.strip() != "—"]
        rows.append({"ru": cells[0].strip("«»"), "kk": cells[1].strip("«»"), "code": cells[2].strip("`"),
                     "avoid": avoid})
    return rows


def _contains(text: str, term: str) -> bool:
    """`term` at a word start in `text` (Kazakh adds suffixes, so the end is open)."""
    return re.search(r"(?<![\w])" + re.escape(term.lower()), text.lower()) is not None


def problems(root: Path = ROOT) -> tuple[list[str], int]:
    seen: dict = defaultdict(lambda: defaultdict(set))  # (lang, ctx, msgid) -> msgstr -> files
    pairs = defaultdict(dict)  # (ctx, msgid, file stem) -> lang -> msgstr
    for lang, po in catalogues(root):
        app = po.relative_to(root).parts[0]
        for ctx, msgid, msgstr in entries(po):
            if msgstr:
                seen[(lang, ctx, msgid)][msgstr].add(str(po.relative_to(root)))
                pairs[(ctx, msgid, app)][lang] = msgstr
    out = []
    for (lang, ctx, msgid), variants in sorted(seen.items(), key=lambda kv: (kv[0][0], kv[0][1] or "", kv[0][2])):
        if lang == "kk" and len({v[:1].lower() + v[1:] for v in variants}) > 1:
            shown = "; ".join(f"«{v}» ({', '.join(sorted(f))})" for v, f in sorted(variants.items()))
            out.append(f"{lang}: {msgid!r}{f' [{ctx}]' if ctx else ''} is translated {len(variants)} ways: {shown}")
    rows = glossary(root)
    for (_ctx, msgid, app), texts in sorted(pairs.items(), key=lambda kv: (kv[0][2], kv[0][0] or "", kv[0][1])):
        ru, kk = texts.get("ru", ""), texts.get("kk", "")
        if not ru or not kk:
            continue
        for row in rows:
            if ru.lower().rstrip(".") == row["ru"].lower() and kk.lower().rstrip(".") != row["kk"].lower():
                out.append(f"{app}: «{ru}» ({msgid!r}) is «{kk}» in kk, the glossary says «{row['kk']}»")
            elif _contains(ru, row["ru"]):
                bad = [a for a in row["avoid"] if _contains(kk, a)]
                if bad:
                    out.append(f"{app}: «{ru}» ({msgid!r}) uses «{bad[0]}» in kk: the glossary says «{row['kk']}»"
                               f" for «{row['ru']}»")
    return out, len(rows)


def main(root: Path = ROOT) -> int:
    found, n_terms = problems(root)
    if found:
        print(f"Terminology: {len(found)} problems (docs/glossary.md, {n_terms} terms):")
        for p in found:
            print("  " + p)
        return 1
    print(f"Terminology: one translation per msgid, {n_terms} glossary terms followed.")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else ROOT))
