#!/usr/bin/env python
"""Translation catalogues: `update` re-extracts every msgid into the ru and kk .po files;
`check` does the same and fails when any msgid lacks a ru or kk translation (or is fuzzy), or
when the terminology check (scripts/terminology.py, docs/glossary.md) finds a clash.

Used by `make lint` / `make test`. Run from the project root with the venv's python.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LANGS = ["ru", "kk"]
IGNORE = [".venv", "var", "static", "node_modules", "bench", "docs", "tests", "*/tests/*", "staticfiles"]


def makemessages(root: Path = ROOT) -> None:
    cmd = [sys.executable, "manage.py", "makemessages", "--no-location", "--no-obsolete", "--no-wrap"]
    for lang in LANGS:
        cmd += ["-l", lang]
    for pattern in IGNORE:
        cmd += ["-i", pattern]
    subprocess.run(cmd, cwd=root, check=True, stdout=subprocess.DEVNULL)


def po_entries(path: Path):
    """(msgid, msgstr-list, fuzzy) per entry; enough of the .po grammar for a completeness check."""
    text = path.read_text(encoding="utf-8")
    for block in re.split(r"\n\s*\n", text):
        lines = [ln for ln in block.splitlines() if ln.strip()]
        if not lines:
            continue
        fuzzy = any(ln.startswith("#,") and "fuzzy" in ln for ln in lines)
        current, parts = None, {}
        for ln in lines:
            if ln.startswith("#"):
                continue
            m = re.match(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?) "(.*)"$', ln)
            if m:
                current = m.group(1)
                parts[current] = m.group(2)
            elif ln.startswith('"') and current:
                parts[current] += ln[1:-1]
        if "msgid" not in parts or parts["msgid"] == "":
            continue
        strs = [v for k, v in parts.items() if k.startswith("msgstr")]
        yield parts["msgid"], strs, fuzzy


def check(root: Path) -> int:
    problems = []
    po_files = sorted(root.glob("*/locale/*/LC_MESSAGES/django.po")) + sorted(root.glob("locale/*/LC_MESSAGES/django.po"))
    po_files = [p for p in po_files if ".venv" not in p.parts]
    seen_langs = {p.parts[-3] for p in po_files}
    for lang in LANGS:
        if lang not in seen_langs:
            problems.append(f"no {lang} catalogue at all")
    total = 0
    for po in po_files:
        for msgid, strs, fuzzy in po_entries(po):
            total += 1
            if fuzzy or not strs or any(s == "" for s in strs):
                problems.append(f"{po.relative_to(root)}: {'fuzzy' if fuzzy else 'untranslated'}: {msgid[:90]!r}")
    if problems:
        print(f"Translations incomplete ({len(problems)} of {total} entries):")
        for p in problems:
            print("  " + p)
        return 1
    print(f"Translations complete: {total} entries in {len(po_files)} catalogues (ru, kk).")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import terminology  # one translation per msgid, docs/glossary.md followed (issue #14)

    return terminology.main(root)


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "homeportal.settings")
    action = sys.argv[1] if len(sys.argv) > 1 else "check"
    if action == "update":
        makemessages()
        sys.exit(0)
    # check: extract into a copy of the tree, so the working catalogues are never rewritten.
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "src"
        shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv", "var", ".git", "node_modules", "*.pyc", "__pycache__"))
        makemessages(copy)
        sys.exit(check(copy))
