"""Every ЭЦП action of the portal signed in Debian's Chromium by both client paths of issue #11 —
NCALayer (the emulator over wss://, answering by itself) and the key file opened in the page —
and in both languages: registration (the AUTH challenge), the licence agreement, login by ЭЦП,
password reset by key, an application's consent, the guarantee and the subsidy application
(«Подписание заявки»), an appeal, a pledge agreement, an АВР and an appeal's ДС. Then the refusals
the earlier modules leave out (a revoked key and an individual's key through NCALayer, an
individual's key file at registration in Kazakh).

Each action is a row: `arrange` brings the object to the state where the signature is asked,
`open` walks the page to the ЭЦП panel, `check` asserts what the server stored (status, the
signature with the right person, the PAdES revision verified). By default every action runs twice,
ncalayer-ru + keyfile-kk or ncalayer-kk + keyfile-ru, so each action is covered by both paths and
in both languages; SIGN_EVERY_ACTION=full runs all four."""

import dataclasses
import os
import re
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from cabinets.demo import DEMO_COMPANY_BIN, DEMO_DEVELOPER_BIN
from signing import pki
from signing.models import Signature
from tests.browser.keyfile import sign_with_key_file
from tests.browser.signing_paths import (
    AUTH_OIDS,
    PATHS,
    SIGN_OIDS,
    Signer,
    choose_ecp,
    demo_person,
    iin_of,
    speak,
    t,
)
from tests.factories import OrganizationFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HEAD = "ДЕМОВ АЛЕКСЕЙ ПЕТРОВИЧ"  # company_head_auth / company_head_sign


@dataclasses.dataclass
class World:
    page: object
    lang: str
    signer: Signer
    login: Callable
    company: object = None
    user: object = None
    state: dict = dataclasses.field(default_factory=dict)

    def t(self, msgid, context=None):
        return t(self.lang, msgid, context)


def _company():
    return OrganizationFactory(bin=DEMO_COMPANY_BIN, name_ru="ТОО «Демо Уполномоченная Компания»",
                               name_kk="«Демо Уәкілетті Компания» ЖШС")


def _signed_by_head(on_complete, *, slug="company_head_sign"):
    """The one signature of the request's completion, by the key's person (ФИО, IIN, BIN)."""
    person = demo_person(slug)
    signature = Signature.objects.get(signing_request__on_complete=on_complete)
    assert (signature.signer_name, signature.signer_iin, signature.signer_bin) == (
        person["person"], person["iin"], person["bin"])
    return signature


def _pdf(title):
    from django.utils import timezone

    from signing.services import pdf_render

    return pdf_render(template_name="signing/pdf/demo_document.html", context={
        "title": title, "organization_name": "ТОО «Демо Уполномоченная Компания»", "organization_bin": DEMO_COMPANY_BIN,
        "created": timezone.now(), "number": title})


def _pades_verified(signed_document, slugs):
    """The document's PAdES revisions: one per party, each valid, by the key's person."""
    from signing.verification import verify_upload

    signed_document.refresh_from_db()
    report = verify_upload(bytes(signed_document.pades_pdf))
    assert [s.indication for s in report.signatures] == ["TOTAL-PASSED"] * len(slugs), report
    people = [demo_person(slug) for slug in slugs]
    assert [(s.signer_name, s.bin) for s in report.signatures] == [(p["person"], p["bin"]) for p in people]


# --- registration, the licence agreement, login, password reset ------------------------------------


def registration_open(w):
    w.page.goto("/register/")
    w.page.get_by_role("button", name=w.t("Continue")).click()
    return w.page.locator("#modal-root")


def registration_check(w):
    from cabinets.models import LoginChallenge, RegistrationDraft

    page, iin = w.page, iin_of("company_head_auth")
    expect(page.locator("#id_iin")).to_have_value(iin)  # the form, read from the certificate
    expect(page.locator("#id_bin")).to_have_value(DEMO_COMPANY_BIN)
    expect(page.locator("#id_surname")).to_have_value("ДЕМОВ")
    challenge = LoginChallenge.objects.get(purpose=LoginChallenge.Purpose.REGISTER)
    assert challenge.signer_iin == iin and challenge.signer_bin == DEMO_COMPANY_BIN and challenge.used_at
    assert RegistrationDraft.objects.get().iin == iin
    _signed_by_head("cabinets:login_challenge_signed", slug="company_head_auth")
    w.signer.check_asked(oids=AUTH_OIDS)


def agreement_open(w):
    """The licence agreement is signed on the registration form, after the challenge (same path)."""
    w.signer.sign(registration_open(w), "company_head_auth")
    page = w.page
    expect(page.locator("#id_iin")).to_have_value(iin_of("company_head_auth"))
    page.locator("#id_email").fill("head@demo-company.kz")
    page.get_by_role("button", name=w.t("Sign with EDS/QR")).click()
    return choose_ecp(page.locator("#modal-root"), w.lang)


def agreement_check(w):
    from cabinets.models import RegistrationDraft

    expect(w.page.locator("#agreement-signed")).to_be_visible()
    expect(w.page.locator("#id_email")).to_have_value("head@demo-company.kz")  # what was typed survives
    draft = RegistrationDraft.objects.get()
    signature = _signed_by_head("cabinets:registration_agreement_signed")
    assert draft.agreement_signature_id == signature.pk and draft.agreement_signed_at
    w.signer.check_asked(oids=SIGN_OIDS, bin_=DEMO_COMPANY_BIN)


def login_arrange(w):
    w.user = UserFactory(organization=_company(), iin=iin_of("company_head_auth"))


def login_open(w):
    w.page.goto("/login/?tab=eds")
    w.page.get_by_role("button", name=w.t("Log in with the EDS")).click()
    return w.page.locator("#modal-root")


def login_check(w):
    from cabinets.models import LoginChallenge

    expect(w.page.get_by_role("heading", name=w.t("Profile"))).to_be_visible()
    expect(w.page.locator("#profile-iin")).to_have_text(w.user.iin)
    assert LoginChallenge.objects.get(purpose=LoginChallenge.Purpose.LOGIN).used_at
    w.user.refresh_from_db()
    assert w.user.last_login is not None
    w.signer.check_asked(oids=AUTH_OIDS)


def reset_open(w):
    w.page.goto("/password-reset/")
    w.page.locator("#reset-eds").get_by_role("button", name=w.t("Continue")).click()
    return w.page.locator("#modal-root")


def reset_check(w):
    page = w.page
    page.locator("#id_password1").fill("Eds-reset1!")
    page.locator("#id_password2").fill("Eds-reset1!")
    page.get_by_role("button", name=w.t("Save the new password")).click()
    expect(page).to_have_url(re.compile(r"/login/\?tab=bin"))
    w.user.refresh_from_db()
    assert w.user.check_password("Eds-reset1!")
    w.signer.check_asked(oids=AUTH_OIDS)


# --- applications: a consent, «Подписание заявки» (guarantee, subsidy), pledge agreement, АВР -------


def _signed_in_company(w, slug="company_head_sign"):
    w.company = _company()
    w.user = UserFactory(organization=w.company, iin=iin_of(slug), language=w.lang)
    w.login(w.page, w.user)


def consent_arrange(w, slug="company_head_sign"):
    from applications import services
    from applications.models import ConsentType, Provider

    _signed_in_company(w, slug)
    w.state["consent_type"] = ConsentType.objects.create(
        name_ru="Согласие на сбор и обработку персональных данных",
        name_kk="Дербес деректерді жинауға және өңдеуге келісім", provider=Provider.COMPANY)
    w.state["application"] = services.application_create(organization=w.company, actor=w.user)


def consent_open(w):
    page, ct = w.page, w.state["consent_type"]
    page.goto(f"/applications/{w.state['application'].public_id}/stage/4/")
    row = page.locator(f"tr[data-consent='{ct.pk}']")
    expect(row).to_contain_text(w.t("Not signed"))
    row.get_by_role("button", name=w.t("Form the consent")).click()
    page.locator(f"tr[data-consent='{ct.pk}']").get_by_role("button", name=w.t("Sign with EDS/QR")).click()
    return choose_ecp(page.get_by_role("dialog"), w.lang)


def consent_check(w):
    from applications.models import ConsentDocument

    ct = w.state["consent_type"]
    expect(w.page.get_by_role("dialog")).to_have_count(0)
    expect(w.page.locator(f"tr[data-consent='{ct.pk}']")).to_contain_text(w.t("Signed"))
    consent = ConsentDocument.objects.get(application=w.state["application"], consent_type=ct)
    signature = _signed_by_head("applications:consent_signed")
    assert consent.signed_at and consent.signer_name == HEAD and consent.signature_id == signature.pk
    w.signer.check_asked(oids=SIGN_OIDS, bin_=DEMO_COMPANY_BIN)


def _application_to_sign(w, service):
    """An application the moderator passed («Заявка проверена, необходимо подписать»)."""
    from applications import services
    from applications.models import Application, Status

    _signed_in_company(w)
    app = services.application_create(organization=w.company, actor=w.user, service=service)
    Application.objects.filter(pk=app.pk).update(status=Status.TO_SIGN)
    w.state["application"] = app


def application_open(w):
    app = w.state["application"]
    w.page.goto(f"/applications/{app.public_id}/stage/{app.definition.last}/")
    w.page.get_by_role("button", name=w.t("Sign the application")).click()
    return choose_ecp(w.page.get_by_role("dialog"), w.lang)


def application_check(w):
    from applications.models import ApplicationHistory, Status

    app = w.state["application"]
    expect(w.page.get_by_role("dialog")).to_have_count(0)
    app.refresh_from_db()
    assert app.status == Status.SENT and app.sent_at
    signature = _signed_by_head("applications:application_signed")
    signed = app.history.get(event=ApplicationHistory.Event.SIGNED)
    assert signed.signature_id == signature.pk and signed.actor_name.startswith(HEAD)
    w.signer.check_asked(oids=SIGN_OIDS, bin_=DEMO_COMPANY_BIN)


def _decision_document(w, kind, title, service="guarantee"):
    from applications import services

    _signed_in_company(w)
    developer = OrganizationFactory(bin=DEMO_DEVELOPER_BIN, name_ru="ТОО «Демо Застройщик»", kind="developer")
    w.state["developer"] = developer
    app = services.application_create(organization=w.company, actor=w.user, service=service)
    type(app).objects.filter(pk=app.pk).update(developer=developer)
    app.refresh_from_db()
    w.state["application"] = app
    w.state["document"] = services.decision_document_add(application=app, kind=kind, title=title, data=_pdf(title),
                                                         filename=f"{kind}.pdf")


def decision_open(w):
    doc = w.state["document"]
    w.page.goto(f"/applications/{w.state['application'].public_id}/stage/4/")
    card = w.page.locator(".decision-doc", has_text=doc.title)
    expect(card).to_contain_text(w.t("Awaiting signatures"))
    card.get_by_role("button", name=w.t("Sign with EDS/QR")).click()
    return choose_ecp(w.page.get_by_role("dialog"), w.lang)


def decision_check(w):
    from applications.models import DecisionDocument

    doc = w.state["document"]
    card = w.page.locator(".decision-doc", has_text=doc.title)
    expect(card.locator(".signature-table")).to_contain_text(HEAD)
    doc.refresh_from_db()
    assert doc.state == DecisionDocument.State.TO_SIGN  # the developer has not signed yet
    signature = _signed_by_head("applications:decision_document_signed")
    party = doc.signed_document.parties.get(bin=DEMO_COMPANY_BIN)
    assert party.signature_id == signature.pk
    assert doc.signed_document.parties.get(bin=DEMO_DEVELOPER_BIN).signature_id is None
    _pades_verified(doc.signed_document, ["company_head_sign"])
    w.signer.check_asked(oids=SIGN_OIDS, bin_=DEMO_COMPANY_BIN)


def second_party_arrange(w):
    """The company signed the pledge agreement (its PAdES revision); the developer signs after it."""
    from signing.services import signing_request_create
    from signing.tests.helpers import sign_with_demo_key
    from tests.browser.test_appeals_journeys import _in_thread

    _decision_document(w, "pledge", "Договор залога № 8")
    doc = w.state["document"]
    first = signing_request_create(
        subject=doc, document=bytes(doc.signed_document.document), filename=doc.signed_document.filename,
        title_ru=doc.title, title_kk=doc.title, on_complete="applications:decision_document_signed",
        return_url="/", organization=w.company, signer_user=w.user, signed_document=doc.signed_document)
    _in_thread(sign_with_demo_key, signing_request=first, slug="company_head_sign")  # pyHanko: not on Playwright's loop
    w.user = UserFactory(organization=w.state["developer"], iin=iin_of("developer_head_sign"), language=w.lang)
    w.page.context.clear_cookies()
    speak(w.page, w.state["live_server"], w.lang)
    w.login(w.page, w.user)


def second_party_check(w):
    from applications.models import DecisionDocument

    doc = w.state["document"]
    card = w.page.locator(".decision-doc", has_text=doc.title)
    expect(card.locator(".signature-table")).to_contain_text("ЖУМАБЕКОВ ЕРЛАН СЕРИКОВИЧ")
    expect(card).to_contain_text(w.t("Signed by all parties"))
    doc.refresh_from_db()
    assert doc.state == DecisionDocument.State.SIGNED
    signature = Signature.objects.get(signing_request__on_complete="applications:decision_document_signed",
                                      signer_bin=DEMO_DEVELOPER_BIN)
    assert signature.signer_name == "ЖУМАБЕКОВ ЕРЛАН СЕРИКОВИЧ"
    assert doc.signed_document.parties.get(bin=DEMO_DEVELOPER_BIN).signature_id == signature.pk
    _pades_verified(doc.signed_document, ["company_head_sign", "developer_head_sign"])
    w.signer.check_asked(oids=SIGN_OIDS, bin_=DEMO_DEVELOPER_BIN)


def invitation_arrange(w):
    """The УК invited the developer (the developer tab filled): the developer opens the e-mailed link."""
    from applications import services
    from applications.tests.factories import valid_tab_data
    from cabinets.models import LegalEntityRecord

    _signed_in_company(w)
    LegalEntityRecord.objects.create(bin=DEMO_DEVELOPER_BIN, name_ru="ТОО «Демо Застройщик»")
    app = services.application_create(organization=w.company, actor=w.user)
    type(app).objects.filter(pk=app.pk).update(data={**app.data, "developer": valid_tab_data()["developer"]})
    app.refresh_from_db()
    w.state["application"] = app
    w.state["invitation"], token = services.invitation_create(application=app, actor=w.user)
    w.state["token"] = token
    w.page.context.clear_cookies()  # the developer has no cabinet yet
    speak(w.page, w.state["live_server"], w.lang)


def invitation_open(w):
    w.page.goto(f"/applications/invite/{w.state['token']}/")
    w.page.get_by_role("button", name=w.t("Confirm with EDS")).click()
    return choose_ecp(w.page.get_by_role("dialog"), w.lang)


def invitation_check(w):
    from cabinets.models import User

    expect(w.page.locator(".toast")).to_contain_text(w.t("The developer's cabinet has been created."))
    invitation, app = w.state["invitation"], w.state["application"]
    invitation.refresh_from_db()
    app.refresh_from_db()
    assert invitation.used_at and app.developer.bin == DEMO_DEVELOPER_BIN
    assert User.objects.get(iin=iin_of("developer_head_sign")).organization == app.developer
    _signed_by_head("applications:invitation_confirmed", slug="developer_head_sign")
    w.signer.check_asked(oids=SIGN_OIDS, bin_=DEMO_DEVELOPER_BIN)


def developer_consent_arrange(w):
    """The УК e-mailed the developer the link to sign the developer's consent («зашифрованная ссылка»)."""
    from applications import services
    from applications.models import ConsentType, Provider

    _signed_in_company(w)
    developer = OrganizationFactory(bin=DEMO_DEVELOPER_BIN, name_ru="ТОО «Демо Застройщик»", kind="developer")
    app = services.application_create(organization=w.company, actor=w.user)
    type(app).objects.filter(pk=app.pk).update(developer=developer)
    app.refresh_from_db()
    ct = ConsentType.objects.create(name_ru="Согласие на получение проектно-сметной документации",
                                    name_kk="ЖСҚ алуға келісім", provider=Provider.DEVELOPER)
    dev_user = UserFactory(organization=developer, iin=iin_of("developer_head_sign"), language=w.lang)
    services.consent_form(application=app, consent_type=ct, actor=dev_user)
    w.state.update(application=app, consent_type=ct, request=services.consent_request_developer_signature(
        application=app, consent_type=ct, actor=w.user))
    w.page.context.clear_cookies()
    speak(w.page, w.state["live_server"], w.lang)
    w.user = dev_user
    w.login(w.page, dev_user)


def developer_consent_open(w):
    """The link is a full page (not the modal): «Выберите способ подписания» → the ЭЦП panel."""
    w.page.goto(f"/signing/r/{w.state['request'].public_id}/")
    return choose_ecp(w.page.locator("main"), w.lang)


def developer_consent_check(w):
    from applications.models import ConsentDocument

    ct = w.state["consent_type"]
    expect(w.page.locator(f"tr[data-consent='{ct.pk}']")).to_contain_text(w.t("Signed"))
    consent = ConsentDocument.objects.get(application=w.state["application"], consent_type=ct)
    signature = _signed_by_head("applications:consent_signed", slug="developer_head_sign")
    assert consent.signed_at and consent.signature_id == signature.pk
    w.signer.check_asked(oids=SIGN_OIDS, bin_=DEMO_DEVELOPER_BIN)


# --- appeals: the appeal, the ДС --------------------------------------------------------------------


def _appeal_parties(w):
    from appeals import services
    from tests.factories import ContractFactory

    _signed_in_company(w)
    developer = OrganizationFactory(bin=DEMO_DEVELOPER_BIN, name_ru="ТОО «Демо Застройщик»", kind="developer")
    contract = ContractFactory(organization=w.company, developer=developer, number="ДЛГ-23-02-064/147",
                               kind="guarantee")
    services.category_other_ensure()
    return {"company": w.company, "developer": developer, "contract": contract, "user": w.user}


def appeal_arrange(w):
    from tests.browser.test_appeals_journeys import _ready_appeal

    w.state["appeal"] = _ready_appeal(_appeal_parties(w))


def appeal_open(w):
    page = w.page
    page.goto(f"/appeals/{w.state['appeal'].public_id}/")
    page.get_by_role("button", name=w.t("Sign the application", "appeals")).click()
    consent = page.get_by_role("dialog")
    expect(consent.get_by_role("heading", name=w.t("Conditions and terms of review of the appeal", "appeals"))).to_be_visible()
    consent.get_by_label(w.t(
        "I have read the conditions and terms of review of the appeal and agree with them", "appeals")).check()
    consent.get_by_role("button", name=w.t("Sign the application", "appeals")).click()
    return choose_ecp(page.get_by_role("dialog"), w.lang)


def appeal_check(w):
    from appeals.models import AppealStatus

    expect(w.page.get_by_role("heading", name=w.t("My appeals to JSC «KZhK»", "appeals"))).to_be_visible()
    expect(w.page.locator("tbody tr").first).to_contain_text(w.t("Application sent", "appeal status"))
    appeal = w.state["appeal"]
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.SENT
    assert appeal.signatures.get().signer_name == HEAD
    _signed_by_head("appeals:appeal_signed")
    w.signer.check_asked(oids=SIGN_OIDS, bin_=DEMO_COMPANY_BIN)


def ds_arrange(w):
    from appeals import services
    from appeals.models import AppealStatus
    from appeals.services import Document
    from appeals.transitions import Actor
    from tests.browser.test_appeals_journeys import _ready_appeal

    appeal = _ready_appeal(_appeal_parties(w))
    type(appeal).objects.filter(pk=appeal.pk).update(status=AppealStatus.APPROVED)
    appeal.refresh_from_db()
    services.appeal_transition(appeal, to=AppealStatus.DS_APPLICANT_SIGNING, actor=Actor.BPMS,
                               payload={"document": Document("ДС.pdf", _pdf("ДС-42"))})
    w.state["appeal"] = appeal


def ds_open(w):
    w.page.goto(f"/appeals/{w.state['appeal'].public_id}/ds/")
    w.page.get_by_role("button", name=w.t("Sign the SA", "appeals")).click()
    return choose_ecp(w.page.get_by_role("dialog"), w.lang)


def ds_check(w):
    from appeals.models import AppealSignature, AppealStatus
    from appeals.services import _ds_document

    expect(w.page.locator(".signature-table")).to_contain_text(HEAD)
    expect(w.page.get_by_role("button", name=w.t("Sign the SA", "appeals"))).to_have_count(0)
    appeal = w.state["appeal"]
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.DS_APPLICANT_SIGNING  # the developer's signature is still due
    assert appeal.signatures.get(party=AppealSignature.Party.DS_APPLICANT).signer_name == HEAD
    _signed_by_head("appeals:ds_signed")
    _pades_verified(_ds_document(appeal), ["company_head_sign"])
    w.signer.check_asked(oids=SIGN_OIDS, bin_=DEMO_COMPANY_BIN)


@dataclasses.dataclass(frozen=True)
class Action:
    name: str
    key: str
    open: Callable
    check: Callable
    arrange: Callable = lambda w: None
    ncalayer_lang: str = "ru"  # the default matrix: NCALayer in this language, the key file in the other


ACTIONS = [
    Action("registration", "company_head_auth", registration_open, registration_check),
    Action("licence_agreement", "company_head_sign", agreement_open, agreement_check, ncalayer_lang="kk"),
    Action("login", "company_head_auth", login_open, login_check, login_arrange),
    Action("password_reset", "company_head_auth", reset_open, reset_check, login_arrange, ncalayer_lang="kk"),
    Action("consent", "company_head_sign", consent_open, consent_check, consent_arrange),
    Action("guarantee_application", "company_head_sign", application_open, application_check,
           lambda w: _application_to_sign(w, "guarantee"), ncalayer_lang="kk"),
    Action("subsidy_application", "company_head_sign", application_open, application_check,
           lambda w: _application_to_sign(w, "subsidy")),
    Action("appeal", "company_head_sign", appeal_open, appeal_check, appeal_arrange, ncalayer_lang="kk"),
    Action("pledge_agreement", "company_head_sign", decision_open, decision_check,
           lambda w: _decision_document(w, "pledge", "Договор залога № 7")),
    Action("avr", "company_head_sign", decision_open, decision_check,
           lambda w: _decision_document(w, "avr", "Акт выполненных работ № 3"), ncalayer_lang="kk"),
    Action("subsidy_agreement", "company_head_sign", decision_open, decision_check,
           lambda w: _decision_document(w, "subsidy_agreement", "Договор субсидирования № 5", "subsidy"),
           ncalayer_lang="kk"),
    Action("pledge_agreement_second_party", "developer_head_sign", decision_open, second_party_check,
           second_party_arrange),
    Action("developer_invitation", "developer_head_sign", invitation_open, invitation_check, invitation_arrange,
           ncalayer_lang="kk"),
    Action("developer_consent_link", "developer_head_sign", developer_consent_open, developer_consent_check,
           developer_consent_arrange),
    Action("supplementary_agreement", "company_head_sign", ds_open, ds_check, ds_arrange, ncalayer_lang="kk"),
]


def _matrix():
    full = os.environ.get("SIGN_EVERY_ACTION") == "full"
    for action in ACTIONS:
        for path in PATHS:
            for lang in ("ru", "kk"):
                if full or (lang == action.ncalayer_lang) == (path == "ncalayer"):
                    yield pytest.param(action, path, lang, id=f"{action.name}-{path}-{lang}")


@pytest.fixture
def world(request, page, live_server, login_browser):
    def make(path, lang):
        ncalayer = request.getfixturevalue("ncalayer") if path == "ncalayer" else None
        speak(page, live_server, lang)
        return World(page=page, lang=lang, signer=Signer(path, lang, ncalayer), login=login_browser,
                     state={"live_server": live_server})

    return make


@pytest.mark.parametrize(("action", "path", "lang"), list(_matrix()))
def test_sign(world, action, path, lang):
    w = world(path, lang)
    action.arrange(w)
    scope = action.open(w)
    expect(w.page.locator("html")).to_have_attribute("lang", lang)
    w.signer.sign(scope, action.key)
    action.check(w)


def test_every_action_is_covered_by_both_paths_and_both_languages():
    seen = {(p.values[0].name, p.values[1]) for p in _matrix()}
    langs = {(p.values[0].name, p.values[2]) for p in _matrix()}
    for action in ACTIONS:
        assert {(action.name, "ncalayer"), (action.name, "keyfile")} <= seen
        assert {(action.name, "ru"), (action.name, "kk")} <= langs


# --- refusals the other modules leave out --------------------------------------------------------------
# Already covered: the key file's wrong password, revoked, individual and AUTH-for-signing keys
# (test_keyfile_signing.py::test_refusals_in_the_modal, ru/kk); NCALayer's «Отмена», its wrong
# password and no NCALayer → the key-file form (test_ncalayer_signing.py, ru/kk).


def _refused(scope, lang, msgid):
    """The portal's refusal in the panel (at «Выберите файл» for the key file, under the NCALayer
    button otherwise), and nothing signed."""
    error = scope.locator("#id_key_file_error, #id_signing_error")
    expect(error).to_have_text(t(lang, msgid))
    assert not Signature.objects.exists()


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_a_revoked_key_in_ncalayer_is_refused(world, lang):
    """NCALayer signs with whatever key the person holds (it does not check revocation): the portal
    refuses the revoked certificate and the consent stays unsigned."""
    from applications.models import ConsentDocument

    w = world("ncalayer", lang)
    consent_arrange(w, "revoked_sign")  # NCALayer offers only the signed-in person's keys (signerParams.iin)
    scope = consent_open(w)
    w.signer.sign(scope, "revoked_sign")
    _refused(scope, lang, "The certificate has been revoked.")
    assert not ConsentDocument.objects.get().signed_at
    w.signer.check_asked(oids=SIGN_OIDS, bin_=DEMO_COMPANY_BIN)


@pytest.mark.parametrize(("path", "lang"), [(p, lang) for p in PATHS for lang in ("ru", "kk")])
def test_registration_refuses_an_individuals_key(world, path, lang):
    """Registration asks for an AUTH key with no BIN (the organization is read from the
    certificate), so NCALayer offers an individual's key too: the portal refuses it, by either path."""
    from cabinets.models import RegistrationDraft

    w = world(path, lang)
    scope = registration_open(w)
    w.signer.sign(scope, "individual_auth")
    _refused(scope, lang, "This is an individual's certificate; a legal entity's certificate is required.")
    assert not RegistrationDraft.objects.exists()
    w.signer.check_asked(oids=AUTH_OIDS)


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_ncalayer_answers_stay_under_its_button_when_the_key_file_form_is_open(world, lang):
    """«Подписать файлом ключа» opened the form beside NCALayer's button, then the person signed in
    NCALayer after all: the portal's refusal speaks of NCALayer's signature under its button, not at
    «Выберите файл» (it was put there before)."""
    w = world("ncalayer", lang)
    consent_arrange(w, "revoked_sign")
    scope = consent_open(w)
    w.signer.ncalayer.mode(mode="auto", key="revoked_sign", password=pki.DEMO_PASSWORD)
    expect(w.signer.status(scope)).to_have_text(t(lang, "NCALayer is running: the key and its password stay in NCALayer."))
    scope.get_by_role("link", name=t(lang, "Use a key file instead")).click()
    expect(scope.locator("[data-keyfile-form]")).to_be_visible()
    scope.get_by_role("button", name=t(lang, "Sign in NCALayer")).click()
    expect(scope.locator("[data-ncalayer-box] #id_signing_error")).to_have_text(t(lang, "The certificate has been revoked."))
    expect(scope.locator("#id_key_file_error")).to_have_count(0)
    assert not Signature.objects.exists()


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_ncalayer_gone_after_the_probe_leaves_the_key_file(world, lang):
    """NCALayer answered the probe, then went away while asked to sign (closed or crashed: the
    WebSocket closes under the request): the panel says so and shows the key-file form, which signs."""
    w = world("ncalayer", lang)
    consent_arrange(w)

    def quit_on_sign(ws):  # NCALayer itself, until a signing call arrives
        server = ws.connect_to_server()
        ws.on_message(lambda message: ws.close() if '"sign"' in str(message) else server.send(message))

    w.page.route_web_socket(re.compile(r"^wss?://127\.0\.0\.1:\d+/?$"), quit_on_sign)
    scope = consent_open(w)
    w.signer.ncalayer.mode(mode="auto", key="company_head_sign", password=pki.DEMO_PASSWORD)
    expect(w.signer.status(scope)).to_have_text(t(lang, "NCALayer is running: the key and its password stay in NCALayer."))
    scope.get_by_role("button", name=t(lang, "Sign in NCALayer")).click()
    expect(scope.locator("#id_signing_error")).to_have_text(t(
        lang, "NCALayer does not answer: start NCALayer and try again, or sign with the key file below."))
    assert not Signature.objects.exists()
    sign_with_key_file(scope, pki.demo_key_path("company_head_sign"), pki.DEMO_PASSWORD, send=t(lang, "Send form"))
    expect(w.page.get_by_role("dialog")).to_have_count(0)
    _signed_by_head("applications:consent_signed")
