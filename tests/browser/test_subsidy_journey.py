"""«Субсидирование» in a real browser, in Russian at 1366 px and in Kazakh at 390 px: the УК
creates the application from «Создать заявку», goes through the four stages (stage 1's
corporate tabs are guarantee's definitions, already driven field by field in
test_applications_journey.py: here they are stored through the service and the browser does the
developer tab), fills «Информация о кредите» with the format-logical control at the field, invites
the developer, who co-fills its document and consent; moderation in the admin, the УК signs, the
BPMS mock registers, reviews, approves and sends the subsidy agreement; both parties sign it, the
signed agreement is downloaded and verified, and a «Субсидирование» appeal is created on the
subsidy contract it became.

Labels come from the catalogues (the language under test); the statuses are also checked against
the issue's wording literally."""

import re

import pytest
from django.core import mail
from django.utils import translation
from playwright.sync_api import expect

from appeals import services as appeal_services
from applications import services
from applications.models import Application, ConsentType, DecisionDocument, DocumentType, Status
from applications.subsidy_data import SUBSIDY_DOCUMENTS, seed_subsidy_lists
from applications.tests.factories import valid_subsidy_data
from cabinets.demo import DEMO_COMPANY_BIN, DEMO_DEVELOPER_BIN
from cabinets.models import Contract, LegalEntityRecord, User
from signing import pki
from tests.browser.test_appeals_journeys import (  # noqa: F401 - bpms_mock is the real mock process fixture
    _in_thread,
    _pull_feed,
    _send_outbox,
    bpms_mock,
)
from tests.browser.test_applications_journey import _working_day_has_come, open_tab, upload
from tests.factories import ContractFactory, OrganizationFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"ru": {"width": 1366, "height": 900}, "kk": {"width": 390, "height": 844}}
# The issue's status names (the seeds' vocabulary), literally.
STATUSES = {
    "ru": {Status.DRAFT: "На создании", Status.SENT: "Заявка отправлена",
           Status.REGISTERED: "Заявка зарегистрирована", Status.IN_REVIEW: "Заявка на рассмотрении",
           Status.SUBSIDY_APPROVED: "Заявка одобрена, подготовка договора субсидирования",
           Status.AGREEMENT_SIGNING: "Подписание договора субсидирования",
           Status.AGREEMENT_SIGNED: "Договор субсидирования подписан"},
    "kk": {Status.DRAFT: "Жасауда", Status.SENT: "Өтінім жіберілді", Status.REGISTERED: "Өтінім тіркелген",
           Status.IN_REVIEW: "Өтінім қарауда",
           Status.SUBSIDY_APPROVED: "Өтінім мақұлданды, субсидиялау шарты дайындалуда",
           Status.AGREEMENT_SIGNING: "Субсидиялау шартына қол қою",
           Status.AGREEMENT_SIGNED: "Субсидиялау шартына қол қойылды"},
}
PROJECT = "ЖК «Демо-Субсидия»"


class T:
    """The catalogue's text of a msgid in the language under test."""

    def __init__(self, lang):
        self.lang = lang

    def __call__(self, msgid, context=None):
        with translation.override(self.lang):
            return translation.pgettext(context, msgid) if context else translation.gettext(msgid)

    def prefix(self, msgid):
        """The text of a message before its first placeholder."""
        return re.split(r"%\(|\{", self(msgid), maxsplit=1)[0].strip()


@pytest.fixture
def setup(db):
    seed_subsidy_lists(DocumentType, ConsentType)  # migration 0009's lists (a transactional test flushes them)
    company = OrganizationFactory(bin=DEMO_COMPANY_BIN, name_ru="ТОО «Демо Уполномоченная Компания»",
                                  name_kk="«Демо Уәкілетті Компания» ЖШС")
    LegalEntityRecord.objects.create(bin=DEMO_DEVELOPER_BIN, name_ru="ТОО «Демо Застройщик»")
    LegalEntityRecord.objects.create(bin=DEMO_COMPANY_BIN, name_ru=company.name_ru,
                                     legal_address="г. Астана, ул. Достык, 13")
    guarantee = ContractFactory(organization=company, kind="guarantee", number="ДЛГ-23-02-064/147",
                                project_name=PROJECT)
    appeal_services.category_other_ensure()
    moderator = User.objects.create_user("moderator-s", "pw", is_staff=True, is_superuser=True)
    return {"company": company, "guarantee": guarantee, "moderator": moderator}


def _context(browser, live_server, lang):
    context = browser.new_context(base_url=live_server.url, locale="ru-RU" if lang == "ru" else "kk-KZ",
                                  accept_downloads=True, viewport=VIEWPORTS[lang])
    context.set_default_timeout(15_000)
    return context


def sign(page, t, slug):
    """The signing modal by ЭЦП with a demo key file (the same steps as the guarantee journey's
    `sign_in_modal`, in the language under test)."""
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text(t("Choose a signing method"))).to_be_visible()
    dialog.get_by_label(t("via ЭЦП")).check()
    dialog.get_by_role("button", name=t("Continue")).click()
    dialog.get_by_label(t("Choose file")).set_input_files(str(pki.demo_key_path(slug)))
    dialog.get_by_label(t("Password")).fill(pki.DEMO_PASSWORD)
    dialog.get_by_role("button", name=t("Send form")).click()
    # The key file signs in the page (node-forge; a multi-party PDF is prepared by the server first).
    expect(page.get_by_role("dialog")).to_have_count(0, timeout=45_000)


def sign_consent(page, t, consent_type, slug):
    row = page.locator(f"tr[data-consent='{consent_type.pk}']")
    expect(row).to_contain_text(consent_type.name_ru if t.lang == "ru" else consent_type.name_kk)
    row.get_by_role("button", name=t("Form the consent")).click()
    page.locator(f"tr[data-consent='{consent_type.pk}']").get_by_role("button", name=t("Sign with EDS/QR")).click()
    sign(page, t, slug)
    expect(page.locator(f"tr[data-consent='{consent_type.pk}']")).to_contain_text(t("Signed"))


def operator(mock, app, *actions):
    """KZhK's operator acts in BPMS Simbase (the mock's subsidy route); the portal pulls the feed."""
    _send_outbox()
    for action in actions:
        status, answer = mock.call("POST", "/admin/actions", {
            "case_kind": "subsidy", "external_id": str(app.public_id), "action": action,
            "executor": "Сапарова Айгерим Болатовна"})
        assert status == 200, answer
    _in_thread(_pull_feed)


def list_row(page, t):
    page.goto("/applications/subsidy/")
    return page.locator("tr", has_text=PROJECT)


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_subsidy_from_create_to_the_signed_agreement_and_an_appeal(browser, live_server, login_browser, setup,
                                                                   tmp_path, request, lang):
    t, names = T(lang), STATUSES[lang]
    mock = request.getfixturevalue("bpms_mock")  # the real mock process (test_appeals_journeys' fixture)
    company = setup["company"]
    user = UserFactory(organization=company, email="uk@demo.kz", language=lang)
    context = _context(browser, live_server, lang)
    page = login_browser(context.new_page(), user)

    # «Заявки → Субсидирование» → «Создать заявку» → «Нет» (a new project).
    page.goto("/applications/subsidy/")
    page.get_by_role("link", name=t("Create application")).click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name=t("Creating a subsidy application"))).to_be_visible()
    expect(dialog).to_contain_text(t("Is the application filed under an existing subsidy contract?"))
    dialog.get_by_label(t("No")).first.check()
    dialog.get_by_role("button", name=t("Create")).click()
    expect(page.get_by_role("tab", name=t("Information about the authorised company"))).to_be_visible()
    app = Application.objects.get(service="subsidy")
    expect(page).to_have_url(re.compile(f"/applications/{app.public_id}/stage/1/"))
    for text in (t("Corporate information"), t("Loan information"), t("Project documentation"),
                 t("Provision of consents")):
        expect(page.locator(".route")).to_contain_text(text)

    # Stage 1: guarantee's corporate tabs (stored through the service, see the docstring); the
    # project name matches the guarantee contract, which then prefills the loan's project.
    data = valid_subsidy_data(developer_bin=DEMO_DEVELOPER_BIN, company_bin=DEMO_COMPANY_BIN)
    data["project"]["project-project_name"] = PROJECT
    for tab in ("company", "shareholders", "head", "project"):
        services.application_save_tab(application=app, tab=tab, values=data[tab], actor=user)
    page.reload()
    tab = open_tab(page, t("Information about the developer"))
    tab.get_by_label(t("BIN")).fill(DEMO_DEVELOPER_BIN)
    tab.get_by_role("button", name=t("Search")).click()
    expect(tab.get_by_label(t("Organization name"))).to_have_value("ТОО «Демо Застройщик»")
    tab.get_by_label(t("Phone number")).fill("+77017654321")
    tab.get_by_label(t("E-mail address")).fill("dev@demo.kz")
    tab.get_by_role("button", name=t("Send an e-mail notification")).click()
    expect(page.locator(".toast")).to_be_visible()
    for msgid in ("Information about the authorised company", "Shareholders / founders", "Head of the executive body",
                  "Project information", "Information about the developer"):
        expect(page.get_by_role("tab", name=t(msgid))).to_have_attribute("data-complete", "1")  # 🟢
    page.get_by_role("button", name=t("Next")).click()

    # Stage 2 «Информация о кредите»: the project prefilled from the guarantee contract; the
    # format-logical control at the field, nothing typed lost.
    expect(page.locator(".route li.current")).to_contain_text(t("Loan information"))
    tab = page.locator("#tab-body")
    expect(tab.get_by_label(t("Project financed by the loan"))).to_have_value(PROJECT)
    expect(tab.get_by_label(t("Guarantee contract of the project"))).to_have_value(re.compile("ДЛГ-23-02-064/147"))
    tab.get_by_label(t("Bank (BIK)")).select_option("HSBKKZKX")
    tab.get_by_label(t("Loan agreement number")).fill("КД-2025/17")
    tab.get_by_label(t("Loan agreement date")).fill("2025-02-01")
    tab.get_by_label(t("Loan amount, KZT")).fill("1500000000")
    tab.get_by_label(t("Loan currency")).select_option("KZT")
    tab.get_by_label(t("Nominal interest rate, %")).fill("19,5")
    tab.get_by_label(t("Rate to subsidise, %")).fill("25")  # above the nominal rate
    tab.get_by_label(t("Loan term, months")).fill("36")
    tab.get_by_label(t("Loan purpose")).fill("Строительство ЖК")
    page.get_by_role("button", name=t("Save draft")).click()
    expect(page.locator("#id_loan-subsidised_rate_error")).to_contain_text(
        t("The rate to subsidise cannot exceed the nominal rate of the loan."))
    expect(page.get_by_label(t("Loan agreement number"))).to_have_value("КД-2025/17")  # kept
    page.get_by_label(t("Rate to subsidise, %")).fill("10")
    tab = open_tab(page, t("Disbursement schedule"))
    expect(page.get_by_role("tab", name=t("Loan terms"))).to_have_attribute("data-complete", "1")
    block = page.locator("fieldset.repeat-block").nth(0)
    block.get_by_label(t("Disbursement date")).fill("2025-03-01")
    block.get_by_label(t("Disbursement amount, KZT")).fill("1000000000")
    page.get_by_role("button", name=t("Save draft")).click()
    expect(page.locator("#tab-body")).to_contain_text(
        t.prefix("The disbursements add up to %(total)s; they must equal the loan amount %(amount)s."))
    page.get_by_role("button", name=t("+ Add more")).click()
    blocks = page.locator("fieldset.repeat-block")
    expect(blocks).to_have_count(2)
    blocks.nth(1).get_by_label(t("Disbursement date")).fill("2025-09-01")
    blocks.nth(1).get_by_label(t("Disbursement amount, KZT")).fill("500000000")
    page.get_by_role("button", name=t("Save draft")).click()
    expect(page.get_by_role("tab", name=t("Disbursement schedule"))).to_have_attribute("data-complete", "1")
    page.get_by_role("button", name=t("Next")).click()

    # Stage 3: the УК's documents (the bank's), the developer's project documents come later.
    expect(page.locator(".route li.current")).to_contain_text(t("Project documentation"))
    company_docs = [(ru if lang == "ru" else kk) for ru, kk, _required, who in SUBSIDY_DOCUMENTS if who == "company"]
    developer_doc = next((ru if lang == "ru" else kk) for ru, kk, _r, who in SUBSIDY_DOCUMENTS if who == "developer")
    for n, name in enumerate(company_docs):
        upload(page, name, tmp_path, f"bank-{n}.pdf")
    page.get_by_role("button", name=t("Next")).click()

    # Stage 4: the УК's consents; sending waits for the developer's part.
    expect(page.locator(".route li.current")).to_contain_text(t("Provision of consents"))
    consents = {ct.provider: ct for ct in ConsentType.objects.filter(service="subsidy")}
    for ct in ConsentType.objects.filter(service="subsidy", provider="company"):
        sign_consent(page, t, ct, "company_head_sign")
    expect(page.get_by_role("button", name=t("Send to moderation"))).to_be_disabled()

    # The developer: the e-mailed link, ЭЦП confirmation, its own cabinet, its part.
    link = re.search(r"https?://\S+/applications/invite/\S+/", mail.outbox[-1].body).group(0)
    dev_context = _context(browser, live_server, lang)
    dev = dev_context.new_page()
    dev.goto("/" + link.split("//", 1)[1].split("/", 1)[1])
    dev.get_by_role("button", name=t("Confirm with EDS")).click()
    sign(dev, t, "developer_head_sign")
    app.refresh_from_db()
    assert app.developer is not None
    dev.goto(f"/applications/{app.public_id}/stage/3/")
    upload(dev, developer_doc, tmp_path, "psd.pdf")
    dev.goto(f"/applications/{app.public_id}/stage/4/")
    sign_consent(dev, t, consents["developer"], "developer_head_sign")

    # The УК sends to moderation; the moderator passes it (checklist from the definition).
    page.reload()
    page.get_by_role("button", name=t("Send to moderation")).click()
    _working_day_has_come(app)
    mod_context = browser.new_context(base_url=live_server.url, locale="ru-RU")
    mod = login_browser(mod_context.new_page(), setup["moderator"])
    mod.goto(f"/admin/applications/application/{app.pk}/moderate/")
    expect(mod.locator("#checklist")).to_contain_text("Условия кредита")
    for box in mod.locator("#checklist input[type=checkbox]").all():
        box.check()
    mod.get_by_role("button", name="Замечаний нет").click()
    expect(mod.locator(".messagelist")).to_be_visible()
    mod_context.close()

    # The УК signs the application: «Заявка отправлена».
    page.goto(f"/applications/{app.public_id}/stage/4/")
    page.get_by_role("button", name=t("Sign the application")).click()
    sign(page, t, "company_head_sign")
    expect(list_row(page, t)).to_contain_text(names[Status.SENT])

    # BPMS Simbase (the mock's subsidy route): registered, in review, approved, the agreement sent.
    operator(mock, app, "register")
    app.refresh_from_db()
    row = list_row(page, t)
    expect(row).to_contain_text(names[Status.REGISTERED])
    expect(row).to_contain_text(app.registration_number)
    expect(row).to_contain_text(app.due_date.strftime("%d.%m.%Y"))  # the regulated term, working days
    operator(mock, app, "assign")
    expect(list_row(page, t)).to_contain_text(names[Status.IN_REVIEW])
    operator(mock, app, "approve")
    expect(list_row(page, t)).to_contain_text(names[Status.SUBSIDY_APPROVED])
    operator(mock, app, "send_agreement")
    expect(list_row(page, t)).to_contain_text(names[Status.AGREEMENT_SIGNING])

    # Both parties sign the subsidy agreement on stage 4.
    for who, slug in ((page, "company_head_sign"), (dev, "developer_head_sign")):
        who.goto(f"/applications/{app.public_id}/stage/4/")
        card = who.locator(".decision-doc", has_text="Договор субсидирования")
        card.get_by_role("button", name=t("Sign with EDS/QR")).click()
        sign(who, t, slug)
    dev_context.close()
    app.refresh_from_db()
    assert app.status == Status.AGREEMENT_SIGNED
    row = list_row(page, t)
    expect(row).to_contain_text(names[Status.AGREEMENT_SIGNED])

    # The history, then the signed agreement downloaded and verified (both parties' signatures).
    row.get_by_role("link", name=t("Application history")).click()
    for status in (Status.SENT, Status.REGISTERED, Status.IN_REVIEW, Status.SUBSIDY_APPROVED,
                   Status.AGREEMENT_SIGNING, Status.AGREEMENT_SIGNED):
        expect(page.locator(".history-table")).to_contain_text(names[status])
    page.goto(f"/applications/{app.public_id}/stage/4/")
    card = page.locator(".decision-doc", has_text="Договор субсидирования")
    expect(card.locator(".signature-table")).to_contain_text("ТОО «Демо Застройщик»")
    with page.expect_download() as info:
        card.get_by_role("link", name=t("Download"), exact=True).first.click()
    page.goto("/signing/verify/")
    page.locator("#id_file").set_input_files(info.value.path())
    page.get_by_role("button", name=t("Verify")).click()
    expect(page.get_by_role("heading", name=t("All signatures are valid; the document is intact."))).to_be_visible()
    for bin_ in (DEMO_COMPANY_BIN, DEMO_DEVELOPER_BIN):
        expect(page.locator(".verify-report")).to_contain_text(bin_)
    agreement = DecisionDocument.objects.get(application=app, kind=DecisionDocument.Kind.SUBSIDY_AGREEMENT)
    assert agreement.state == DecisionDocument.State.SIGNED

    # The agreement is the organization's subsidy contract: «Корректировка» → «Субсидирование» lists it.
    contract = Contract.objects.get(organization=company, kind="subsidy")
    assert app.issued_contract == contract
    page.goto("/appeals/")
    page.get_by_role("link", name=t("Create an appeal", "appeals")).first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("link", name=t("Subsidy", "appeal type")).click()
    expect(page.get_by_role("dialog").get_by_role("link", name=t("Subsidy", "appeal type"))).to_have_attribute(
        "aria-current", "true")
    page.get_by_role("dialog").get_by_role("link", name=t("Next", "appeals")).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label(t("1. Choose the contract under which the appeal to JSC «KZhK» is filed", "appeals")).select_option(
        str(contract.pk))
    dialog.get_by_label(t("2. Choose the appeal category", "appeals")).select_option(label="Иное" if lang == "ru" else "Басқа")
    dialog.get_by_role("button", name=t("Create an appeal", "appeals")).click()
    expect(page.get_by_label(t("Contract number", "appeals"))).to_have_value(contract.number)
    page.screenshot(path=str(tmp_path / f"subsidy-appeal-{lang}.png"), full_page=True)
    context.close()
