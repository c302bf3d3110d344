"""Issue #14 item 4: the catalogues translate each msgid one way and follow docs/glossary.md
(scripts/terminology.py, run by scripts/translations.py check, i.e. make lint / make test)."""

import shutil
import sys
from pathlib import Path

from django.utils import translation

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import terminology  # noqa: E402


def test_the_catalogues_follow_the_glossary():
    found, n_terms = terminology.problems(ROOT)
    assert found == []
    assert n_terms >= 25


def _tree(tmp_path, entries_by_app: dict, glossary_rows: str = ""):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "glossary.md").write_text(
        "<!-- glossary:start -->\n| ru | kk | code name | source | avoid |\n|---|---|---|---|---|\n"
        + glossary_rows + "<!-- glossary:end -->\n", encoding="utf-8")
    for app, entries in entries_by_app.items():
        for lang in ("ru", "kk"):
            po = tmp_path / app / "locale" / lang / "LC_MESSAGES" / "django.po"
            po.parent.mkdir(parents=True)
            po.write_text("\n\n".join(
                (f'msgctxt "{ctx}"\n' if ctx else "") + f'msgid "{msgid}"\nmsgstr "{texts[lang]}"'
                for ctx, msgid, texts in entries) + "\n", encoding="utf-8")
    return tmp_path


def test_two_kazakh_translations_of_one_msgid_fail(tmp_path):
    root = _tree(tmp_path, {
        "one": [(None, "Application registered", {"ru": "Заявка зарегистрирована", "kk": "Өтінім тіркелген"})],
        "two": [(None, "Application registered", {"ru": "Заявка зарегистрирована", "kk": "Өтінім тіркелді"}),
                ("pagination", "Next", {"ru": "Далее", "kk": "Келесі"})],
    })
    found, _ = terminology.problems(root)
    assert len(found) == 1 and "Application registered" in found[0] and "2 ways" in found[0]


def test_a_msgctxt_keeps_two_meanings_apart(tmp_path):
    root = _tree(tmp_path, {
        "one": [("list", "Position", {"ru": "Позиция", "kk": "Реті"})],
        "two": [("person", "Position", {"ru": "Должность", "kk": "Лауазымы"})],
    })
    assert terminology.problems(root)[0] == []


def test_glossary_terms_and_avoided_variants(tmp_path):
    rows = ("| Черновик | Қаралама | Draft | #14 | Жоба |\n"
            "| Скачать | Жүктеп алу | Download | #14 | Жүктеу |\n")
    root = _tree(tmp_path, {"one": [
        (None, "Draft", {"ru": "Черновик", "kk": "Жоба"}),
        (None, "Save draft", {"ru": "Сохранить черновик", "kk": "Жобаны сақтау"}),
        (None, "Download the SA", {"ru": "Скачать ДС", "kk": "ҚК жүктеу"}),
        (None, "Download", {"ru": "Скачать", "kk": "Жүктеп алу"}),
        (None, "Project name", {"ru": "Название проекта", "kk": "Жобаның атауы"}),
    ]}, rows)
    found, n = terminology.problems(root)
    assert n == 2
    assert len(found) == 3, found
    assert any("'Draft'" in p and "Қаралама" in p for p in found)
    assert any("'Save draft'" in p for p in found) and any("'Download the SA'" in p for p in found)


def test_the_clashes_named_in_the_issue_are_gone():
    with translation.override("kk"):
        assert "Жоба" not in translation.gettext("Draft")
        assert translation.pgettext("appeals", "Download the SA") == "ҚК жүктеп алу"
        assert "арқылы" in translation.gettext("Sign with EDS/QR")
        assert translation.gettext("Send form") == "Нысанды жіберу"
        assert "data-countdown-suffix" in translation.gettext("Get a new QR code in <span data-countdown>%(countdown)s</span>")


def test_the_translations_check_runs_the_terminology_check():
    text = (ROOT / "scripts" / "translations.py").read_text(encoding="utf-8")
    assert "terminology.main(root)" in text
    assert shutil.which("make") is None or "translations.py check" in (ROOT / "Makefile").read_text()
