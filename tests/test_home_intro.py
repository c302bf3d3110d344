"""The front page's intro names what the portal files: guarantee and subsidy applications and
appeals (issue #14; seed 003 «2.2 Субсидиялау»), in the page language."""

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db

WORDS = {
    "ru": ["заявки на гарантирование", "на субсидирование", "обращения в АО «КЖК»", "ЭЦП"],
    "kk": ["кепілдік беруге", "субсидиялауға өтінімдер", "өтініштер", "ЭЦҚ"],
}


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_the_intro_names_guarantees_subsidies_and_appeals(client, language):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    page = client.get("/").content.decode()
    lead = page.split('<p class="lead">', 1)[1].split("</p>", 1)[0]
    for word in WORDS[language]:
        assert word in lead, (word, lead)
