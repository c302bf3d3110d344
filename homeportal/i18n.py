"""Content kept in both UI languages: models store `<name>_ru` and `<name>_kk` and expose
`<name>` as a `Localized` attribute that follows the active language."""

from django.utils.translation import get_language


def localized(obj, base: str) -> str:
    """`<base>_kk` in Kazakh when it is filled in, else `<base>_ru`."""
    if get_language() == "kk":
        value = getattr(obj, f"{base}_kk", "")
        if value:
            return value
    return getattr(obj, f"{base}_ru")


class Localized:
    """A read-only model attribute: `title = Localized("title")` reads title_kk / title_ru."""

    def __init__(self, base: str):
        self.base = base

    def __set_name__(self, owner, name):
        self.base = self.base or name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        return localized(obj, self.base)


def in_both_languages(text) -> tuple[str, str]:
    """`text` (a lazy string, or a callable that builds the string with gettext) rendered in
    Russian and in Kazakh: what a stored two-language row (a notification) keeps."""
    from django.utils import translation

    out = []
    for language in ("ru", "kk"):
        with translation.override(language):
            out.append(str(text() if callable(text) else text))
    return out[0], out[1]


def language_of(user, default: str | None = None) -> str:
    """The language a document or message for `user` is made in: the user's own (User.language,
    which the ҚАЗ/РУС switch and the profile set), else `default`, else the site's default."""
    from django.conf import settings

    languages = dict(settings.LANGUAGES)
    for candidate in (getattr(user, "language", None), default):
        if candidate in languages:
            return candidate
    return settings.LANGUAGE_CODE
