from django.utils import translation

from homeportal.i18n import Localized, localized


class Thing:
    title_ru = "Заявка"
    title_kk = "Өтінім"
    title = Localized("title")


class HalfTranslated:
    title_ru = "Только по-русски"
    title_kk = ""
    title = Localized("title")


def test_localized_follows_the_active_language():
    with translation.override("ru"):
        assert Thing().title == "Заявка"
    with translation.override("kk"):
        assert Thing().title == "Өтінім"
        assert localized(Thing(), "title") == "Өтінім"


def test_an_empty_kazakh_value_falls_back_to_russian():
    with translation.override("kk"):
        assert HalfTranslated().title == "Только по-русски"
