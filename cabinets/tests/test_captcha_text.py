"""Issue #14 item 8: «Я не робот» has a non-visual alternative (WCAG 1.1.1) — a text question,
read by a screen reader as the field's label, answered in digits, single use like the picture."""

import re

import pytest
from django.conf import settings

from cabinets.models import RegistrationDraft
from cabinets.tests.test_registration import URL, _key, _sign_agreement, stub_cert  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

RU_NUMBERS = ["один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"]
KK_NUMBERS = ["бір", "екі", "үш", "төрт", "бес", "алты", "жеті", "сегіз", "тоғыз"]


def _question(page: str, pattern: str, numbers: list[str]) -> int:
    label = re.search(r'<label for="id_captcha">([^<]*)', page).group(1)
    a, b = re.search(pattern, label).groups()
    return numbers.index(a) + 1 + numbers.index(b) + 1


def _contacts(client, answer):
    return client.post(URL, {"action": "contacts", "email": "head@new.kz", "mobile": "+77011112233", "captcha": answer})


def test_the_text_question_replaces_the_picture_and_passes(client, stub_cert):  # noqa: F811
    _key(client)
    _sign_agreement(RegistrationDraft.objects.get())
    page = client.get(URL + "?captcha=text").content.decode()
    assert 'id="captcha-image"' not in page and "Показать картинку" in page
    total = _question(page, r"Я не робот: Сколько будет (\w+) плюс (\w+)\? Введите ответ цифрами\.", RU_NUMBERS)
    assert 'inputmode="numeric"' in page
    assert _contacts(client, str(total)).status_code == 302
    assert RegistrationDraft.objects.get().step != "form"


def test_a_wrong_answer_uses_the_question_up(client, stub_cert):  # noqa: F811
    _key(client)
    _sign_agreement(RegistrationDraft.objects.get())
    page = client.get(URL + "?captcha=text").content.decode()  # the mode stays for the session
    total = _question(page, r"Сколько будет (\w+) плюс (\w+)\?", RU_NUMBERS)
    page = _contacts(client, str(total + 1)).content.decode()
    assert "Ответ неверный. Ответьте на новый вопрос." in page
    assert RegistrationDraft.objects.get().step == "form"
    new_total = _question(page, r"Сколько будет (\w+) плюс (\w+)\?", RU_NUMBERS)  # a new question came with it
    assert _contacts(client, str(new_total)).status_code == 302


def test_the_question_is_in_kazakh_and_the_picture_comes_back(client, stub_cert):  # noqa: F811
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "kk"
    _key(client)
    page = client.get(URL + "?captcha=text").content.decode()
    _question(page, r"Мен робот емеспін: (\w+) қосу (\w+) неше болады\? Жауапты цифрмен жазыңыз\.", KK_NUMBERS)
    page = client.get(URL + "?captcha=image").content.decode()
    assert 'id="captcha-image"' in page and "?captcha=text" in page
