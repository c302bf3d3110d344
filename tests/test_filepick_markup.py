"""Every file input the portal renders is wrapped in the file picker (#14,
templates/includes/filepick.html): the page's «Выберите файл» / «Файл не выбран» instead of the
browser's own caption, the input's name kept by its field label. The browser side:
tests/browser/test_filepick.py."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

ROOT = Path(__file__).resolve().parent.parent
SKIP = {".venv", "var", "node_modules", "staticfiles", "tests"}


def test_every_template_file_input_is_in_a_picker():
    found = []
    for path in ROOT.rglob("*.html"):
        if SKIP & set(path.relative_to(ROOT).parts) or path.name == "filepick.html":
            continue
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r'<input[^>]*type="file"[^>]*>', text):
            found.append(path.name)
            after = text[match.end():match.end() + 400]
            assert '"includes/filepick.html"' in after, (path, match.group(0))
            assert '<div class="filepick">' in text[max(0, match.start() - 200):match.start()], path
    assert len(found) >= 3, found  # the key file, the appeal slot, the application field
    for path in list((ROOT / "static/js").glob("*.js")):
        assert 'type = "file"' not in path.read_text(encoding="utf-8"), path  # no script-made file inputs


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_the_verifier_renders_its_files_in_pickers(lang):
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    html = client.get("/signing/verify/").content.decode()
    with translation.override(lang):
        choose, none = translation.gettext("Choose file"), translation.gettext("No file chosen")
    assert choose != "Choose file" and none != "No file chosen"
    for name in ("id_file", "id_data"):
        assert re.search(rf'<div class="filepick"><input type="file" name="\w+"[^>]*aria-labelledby="{name}_label"[^>]*id="{name}"', html), name
        assert f'<label for="{name}" id="{name}_label">' in html
        assert re.search(rf'<label for="{name}" class="btn btn-outline filepick-button" aria-hidden="true">{choose}</label>', html)
        assert f'id="{name}_chosen" data-filepick-name data-filepick-empty="{none}">{none}</span>' in html
