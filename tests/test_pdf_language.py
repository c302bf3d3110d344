"""Issue #14 item 1: every PDF the portal makes is in the reader's language, or Kazakh and
Russian side by side where one document serves all parties (docs/accessibility.md, «PDFs»).

Each PDF is rendered for a Kazakh-speaking user and read back with pdftotext: the Kazakh text is
there and none of the portal's own Russian template vocabulary is (user data, which the user
typed, is kept in Kazakh or neutral here so that only the template's words are judged). For
the bilingual ones the left (Kazakh) column is read alone and must be free of Russian too."""

import datetime
import re
import shutil
import subprocess

import pytest
from django.utils import timezone, translation

from appeals import services as appeal_services
from appeals.tests.factories import AppealFactory
from applications import services as app_services
from applications.tests.factories import ApplicationFactory, ConsentTypeFactory
from signing.services import pdf_render
from tests.factories import OrganizationFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils")]

# The portal's own Russian words (PDF templates, statuses, labels): none may stand in a Kazakh text.
RUSSIAN_VOCABULARY = [
    "Уполномоченная", "Застройщик", "застройщик", "Договор", "договор", "Документ", "Наименование", "Заявка",
    "заявк", "Заключение", "Модератор", "Соответствует", "Замечание", "Статус", "Уведомление", "отказ",
    "Основание", "подписан", "Залогодатель", "Залогодержатель", "Предмет", "Получатель", "Субсидирующая",
    "Обращение", "обращени", "Заявитель", "Категория", "Подтверждающие", "Идентификатор", "согласие",
    "Подтвержд", "Личн", "Жилищн", "Казахстанская", "АО «", "БИН", "Дата", "проект", "Стороны", "Дополнительное",
    "Приложите", "да", "нет", "от ",
]
KAZAKH_LETTERS = re.compile(r"[әғқңөұүһі]", re.IGNORECASE)


def _text(pdf: bytes, *, left_half: bool = False) -> str:
    args = ["pdftotext", "-q", "-r", "72"]
    if left_half:  # A4 is 595 pt wide: the Kazakh column ends before the middle
        args += ["-x", "0", "-y", "0", "-W", "296", "-H", "842"]
    return subprocess.run([*args, "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def _russian_words(text: str) -> list[str]:
    return [w for w in RUSSIAN_VOCABULARY if re.search(rf"(?<![\w]){re.escape(w)}", text)]


def _assert_kazakh(pdf: bytes, *phrases: str, left_half: bool = False):
    text = _text(pdf, left_half=left_half)
    assert KAZAKH_LETTERS.search(text), text
    flat = " ".join(text.split())
    for phrase in phrases:
        assert phrase in flat, (phrase, flat)
    assert _russian_words(flat) == [], flat
    return flat


@pytest.fixture
def kk_user():
    org = OrganizationFactory(name_ru="ТОО «Тест»", name_kk="«Тест» ЖШС")
    return UserFactory(organization=org, language="kk")


@pytest.fixture
def application(kk_user):
    developer = OrganizationFactory(kind="developer", name_ru="ТОО «Құрылыс»", name_kk="«Құрылыс» ЖШС")
    return ApplicationFactory(organization=kk_user.organization, created_by=kk_user, developer=developer,
                              project_name="«Арман» ТК", registration_number="ҚТК-001")


@pytest.fixture
def no_kzhk_stamp(monkeypatch):
    """The KZhK stamp is bilingual by design (one for every reader): judge the document under it."""
    monkeypatch.setattr(app_services, "_pdf_issue_by_kzhk", lambda *, pdf, title: pdf)
    monkeypatch.setattr(appeal_services, "_pdf_issue_by_kzhk", lambda *, pdf, title: pdf)


def test_the_application_pdf_is_in_the_signers_language(application):
    pdf = app_services.application_document_pdf(application=application)  # the author's language: kk
    text = _assert_kazakh(pdf, "Кепілдікке өтінім", "Уәкілетті компания: «Тест» ЖШС", "Құрылыс салушы: «Құрылыс» ЖШС",
                          "Жобаның атауы", "Құжаттар")
    assert "БСН" in text
    ru = _text(app_services.application_document_pdf(application=application, language="ru"))
    assert "Уполномоченная компания: ТОО «Тест»" in " ".join(ru.split())


def test_the_consent_is_in_the_signers_language(application, kk_user):
    consent_type = ConsentTypeFactory(name_ru="Согласие на сбор сведений", name_kk="Мәліметтерді жинауға келісім",
                                      text_ru="Текст согласия", text_kk="Келісім мәтіні")
    doc = app_services.consent_form(application=application, consent_type=consent_type, actor=kk_user)
    _assert_kazakh(doc.pdf.read(), "Мәліметтерді жинауға келісім", "Келісім мәтіні", "«Қазақстан Тұрғын үй Компаниясы» АҚ-ға")


def test_the_conclusion_and_the_refusal_are_in_the_recipients_language(application, no_kzhk_stamp):
    moderator = UserFactory()
    with translation.override("kk"):
        pdf = pdf_render(template_name="applications/pdf/conclusion.html", context={
            "application": application, "moderator": moderator, "now": timezone.now(),
            "items": [{"name": "Құжат 1", "ok": False, "remark": "Қол қойылмаған"}, {"name": "Құжат 2", "ok": True}]})
    _assert_kazakh(pdf, "Құжаттардың жиынтықтылығын тексеру", "«ҚТК» АҚ модераторы", "Өтінім тексерілді, пысықтау қажет",
                   "жоқ", "иә")
    assert app_services.recipient_language(application) == "kk"
    notice = app_services._rejection_notice(application, comment="Кепіл жеткіліксіз", now=timezone.now())
    _assert_kazakh(notice.content, "Бас тарту туралы хабарлама", "теріс шешім қабылдады", "Негіздеме: Кепіл жеткіліксіз")


def test_a_kazakh_speaking_moderation_gets_a_kazakh_conclusion(application, monkeypatch):
    """Through the service: the conclusion is rendered in the author's language."""
    seen = []
    monkeypatch.setattr(app_services, "_pdf_render", lambda **kw: seen.append(translation.get_language()) or b"%PDF")
    monkeypatch.setattr(app_services, "_pdf_issue_by_kzhk", lambda *, pdf, title: pdf)
    application.status = app_services.Status.ON_MODERATION
    application.save(update_fields=["status"])
    app_services.moderation_decide(application=application, moderator=UserFactory(),
                                   items=[{"name": "Құжат", "ok": False, "remark": "—"}])
    assert seen == ["kk"]


def test_the_developer_confirmation_is_in_the_readers_language(application):
    from applications.models import DeveloperInvitation

    invitation = DeveloperInvitation.objects.create(application=application, bin="150240008272", email="d@example.kz",
                                                    token_hash="x" * 64, expires_at=timezone.now() + datetime.timedelta(days=1))
    from applications.views import _invitation_document

    with translation.override("kk"):
        pdf = _invitation_document(invitation)
    _assert_kazakh(pdf, "Құрылыс салушының деректерін растау", "жеке кабинетін құруды растаймын")


@pytest.mark.parametrize("template, phrases", [
    ("applications/pdf/pledge.html", ["Кепіл шарты", "Кепіл беруші: «Құрылыс» ЖШС", "Кепіл ұстаушы"]),
    ("applications/pdf/subsidy_agreement.html", ["Субсидиялау шарты", "Субсидия алушы: «Тест» ЖШС", "Субсидиялаушы тарап"]),
])
def test_agreements_for_all_parties_are_kazakh_and_russian_side_by_side(application, template, phrases):
    application.data = {"loan": {"loan-agreement_number": "7", "loan-amount": "100", "loan-term_months": "12"}}
    pdf = app_services._decision_pdf(application, template, comment="", now=timezone.now())
    _assert_kazakh(pdf, *phrases, left_half=True)
    whole = " ".join(_text(pdf).split())
    assert "АО «Казахстанская Жилищная Компания»" in whole and "ТОО «Тест»" in whole


def test_the_appeal_pdf_is_in_the_signers_language():
    org = OrganizationFactory(name_ru="ТОО «Тест»", name_kk="«Тест» ЖШС")
    appeal = AppealFactory(organization=org, change_subject="Пайдалануға беру мерзімі", value_from="31.12.2025",
                           value_to="30.06.2026", justification="Лифтілерді жеткізу мерзімі ауысты")
    pdf = appeal_services.appeal_pdf(appeal=appeal, language="kk")
    _assert_kazakh(pdf, "«Қазақстан Тұрғын үй Компаниясы» АҚ-ға өтініш", "Өтініш беруші", "Шарт нөмірі", "Түзету санаты",
                   "Растайтын құжаттар")
    assert "Мерзімді өзгерту" in " ".join(_text(pdf).split())  # the category's Kazakh name


def test_appeal_notices_and_the_ds_are_kazakh_and_russian_side_by_side(no_kzhk_stamp):
    from appeals import demo

    org = OrganizationFactory(name_ru="ТОО «Тест»", name_kk="«Тест» ЖШС")
    appeal = AppealFactory(organization=org, change_subject="Пайдалануға беру мерзімі", value_to="30.06.2026")
    ds = demo._ds_pdf(appeal)
    _assert_kazakh(ds, "Қосымша келісім", "«Тест» ЖШС", "шарттың тараптары келісімге келді", left_half=True)
    assert "Дополнительное соглашение" in _text(ds)
    notice = demo._kzhk_pdf(appeal, demo.pgettext_lazy("pdf", "Notice that the appeal needs to be revised"),
                            [demo.pgettext_lazy("pdf", "Attach the engineering company's conclusion.")])
    _assert_kazakh(notice, "Өтінішті пысықтау қажеттігі туралы хабарлама", "қорытындысын қоса беріңіз", left_half=True)
    assert "Уведомление о необходимости доработки" in " ".join(_text(notice).split())


def test_the_validation_report_and_the_demo_document_carry_both_languages():
    """Documents for any reader (a bank, a court): every line in Russian and Kazakh."""
    with translation.override("kk"):
        report = pdf_render(template_name="signing/pdf/validation_report.html", context={
            "record": {"file_name": "a.pdf", "file_size": 1, "file_sha256": "0" * 64}, "number": "1", "rows": [],
            "result": {}, "created": timezone.now()})
        demo_doc = pdf_render(template_name="signing/pdf/demo_document.html", context={
            "title": "Сынақ құжаты", "organization_name": "«Тест» ЖШС", "organization_bin": "1", "created": timezone.now(),
            "number": "1"})
    report_text = " ".join(_text(report).split())
    assert "Электрондық цифрлық қолтаңбаларды тексеру хаттамасы" in report_text and "Протокол проверки" in report_text
    assert "Бұл сынақ құжаты" in " ".join(_text(demo_doc).split())
