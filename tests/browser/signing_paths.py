"""The two client paths of a ЭЦП signature in a browser test (issue #11), for any action's ЭЦП
panel: NCALayer (the emulator of the `ncalayer` fixture, answering by itself with a demo key) or
the key file opened in the page (no NCALayer: the session's closed port). Texts come from the
catalogue in the language under test."""

from django.utils import translation
from playwright.sync_api import expect

from signing import pki
from tests.browser.keyfile import sign_with_key_file

PATHS = ("ncalayer", "keyfile")
SIGN_OIDS = ["1.3.6.1.5.5.7.3.4", "1.2.398.3.3.4.1.2"]  # emailProtection + a legal entity's employee
AUTH_OIDS = ["1.3.6.1.5.5.7.3.2"]  # clientAuth (no BIN: login, registration, password reset)


def t(lang, msgid, context=None):
    with translation.override(lang):
        return translation.pgettext(context, msgid) if context else translation.gettext(msgid)


def demo_person(slug):
    """The demo key's manifest entry: person (ФИО), iin, bin, organization, …"""
    return next(k for k in pki.demo_manifest()["keys"] if k["slug"] == slug)


def iin_of(slug):
    return demo_person(slug)["iin"]


def speak(page, live_server, lang):
    """The portal in `lang` from the first page on (the language cookie)."""
    from django.conf import settings

    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": lang, "url": live_server.url}])


def choose_ecp(dialog, lang):
    """The signing modal's «Выберите способ подписания»: «через ЭЦП», «Продолжить»."""
    expect(dialog.get_by_text(t(lang, "Choose a signing method"))).to_be_visible()
    dialog.locator("input[value=ecp]").check()
    dialog.get_by_role("button", name=t(lang, "Continue")).click()
    expect(dialog.get_by_role("heading", name=t(lang, "Sign using an electronic digital signature (ЭЦП)"))).to_be_visible()
    return dialog


class Signer:
    """Signs in a ЭЦП panel by one path, in one language; `ncalayer` is the fixture's emulator
    (None for the key file)."""

    def __init__(self, path, lang, ncalayer=None):
        assert path in PATHS and (ncalayer is not None) == (path == "ncalayer")
        self.path, self.lang, self.ncalayer = path, lang, ncalayer

    def __repr__(self):
        return f"{self.path}-{self.lang}"

    def status(self, scope):
        return scope.locator("[data-ncalayer-status]")

    def sign(self, scope, slug, *, password=pki.DEMO_PASSWORD):
        """`scope`: the modal or the page showing the ЭЦП panel."""
        lang = self.lang
        if self.path == "ncalayer":
            self.ncalayer.mode(mode="auto", key=slug, password=password)
            expect(self.status(scope)).to_have_text(t(lang, "NCALayer is running: the key and its password stay in NCALayer."))
            expect(scope.locator("[data-keyfile-form]")).to_be_hidden()
            scope.get_by_role("button", name=t(lang, "Sign in NCALayer")).click()
        else:
            expect(self.status(scope)).to_have_text(t(lang, (
                "NCALayer is not running: sign with the key file below, or start NCALayer and reload the page.")))
            sign_with_key_file(scope, pki.demo_key_path(slug), password, send=t(lang, "Send form"))

    def last_request(self):
        """What the page asked NCALayer for the last signature (NCALayer path only)."""
        return [r for r in self.ncalayer.state()["recent"] if r["method"] not in ("getActiveTokens", "changeLocale")][-1]

    def check_asked(self, *, oids, bin_=""):
        """NCALayer path: the page asked basics.sign in the language under test, filtered by purpose and BIN."""
        if self.path != "ncalayer":
            return
        request = self.last_request()
        assert request["module"] == "kz.gov.pki.knca.basics" and request["method"] == "sign", request
        args = request["args"]
        assert args["locale"] == self.lang and args["format"] == "cms"
        assert args["signerParams"]["extKeyUsageOids"] == oids
        assert args["signerParams"].get("bin", "") == bin_
        assert request["answer"] == "result", request
