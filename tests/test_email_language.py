"""Issue #14 («Tests render every PDF and e-mail in kk»): every e-mail and SMS the portal sends
goes out in the recipient's language (User.language, or the language of the page that asked for
a code); a Kazakh-speaking recipient finds none of the portal's own Russian words in it.

The senders are, all of them (grep send_mail / send_sms): one-time codes (otp_send, by e-mail and
SMS, every purpose), the «e-mail changed» warning, the developer invitation (bilingual: its Kazakh
half is judged), the developer's consent-signing link (mail_each_in_own_language) and the e-mail
copy of every notification (notification_send_email_copy), driven here through the domains' own
hooks for every application and appeal status. Same vocabulary as tests/test_pdf_language.py,
plus the words of the e-mails themselves."""

import re
import types

import pytest
from django.core import mail
from django.utils import timezone

from appeals import services as appeal_services
from appeals.models import AppealStatus
from appeals.tests.factories import AppealFactory
from applications import services as app_services
from applications.models import Provider, Status
from applications.tests.factories import ApplicationFactory, ConsentTypeFactory
from cabinets import services as cabinet_services
from cabinets.messaging import LocmemSmsBackend
from cabinets.models import Notification, OneTimeCode, OutboundMessage
from tests.factories import OrganizationFactory, UserFactory
from tests.test_pdf_language import KAZAKH_LETTERS, RUSSIAN_VOCABULARY

pytestmark = pytest.mark.django_db

EMAIL_VOCABULARY = RUSSIAN_VOCABULARY + [
    "Ваш", "Одноразов", "действителен", "Никому", "Приглашение", "приглашает", "ссылк", "изменён", "изменен",
    "Подписание", "просит", "подписать", "Обращение по", "вход", "регистраци", "сброс", "пароля", "электронн",
    "мобильн", "Если это были не вы", "колл-центр", "ожидает", "вашего", "подпись",
]


def _russian_words(text: str) -> list[str]:
    # Short words («да», «нет») whole only: Kazakh «дайындау» starts with «да».
    return [w for w in EMAIL_VOCABULARY
            if re.search(rf"(?<![\w]){re.escape(w)}" + (r"(?![\w])" if len(w.strip()) <= 3 else ""), text)]


def _assert_kazakh(text: str, *, russian: str | None = None) -> None:
    """No Russian word; Kazakh letters, or (for a short title such as «Модерацияда») not the Russian text."""
    flat = " ".join(text.split())
    if russian is None:
        assert KAZAKH_LETTERS.search(flat), flat
    else:
        assert flat != " ".join(russian.split()), flat
    assert _russian_words(flat) == [], flat


def _mails_to(address):
    return [f"{m.subject}\n{m.body}" for m in mail.outbox if address in m.to]


@pytest.fixture
def kk_user():
    org = OrganizationFactory(name_ru="ТОО «Тест»", name_kk="«Тест» ЖШС")
    return UserFactory(organization=org, language="kk", email="kk@example.kz")


@pytest.fixture(autouse=True)
def sms_outbox(settings):
    settings.SMS_BACKEND = "cabinets.messaging.LocmemSmsBackend"
    LocmemSmsBackend.outbox.clear()
    yield LocmemSmsBackend.outbox
    LocmemSmsBackend.outbox.clear()


@pytest.mark.parametrize("purpose", OneTimeCode.Purpose.values)
@pytest.mark.parametrize("channel", [OutboundMessage.Channel.EMAIL, OutboundMessage.Channel.SMS])
def test_one_time_codes_are_kazakh(purpose, channel, sms_outbox):
    recipient = "code@example.kz" if channel == OutboundMessage.Channel.EMAIL else "+77011234567"
    cabinet_services.otp_send(purpose=purpose, channel=channel, recipient=recipient, language="kk", limits_checked=True)
    texts = _mails_to(recipient) if channel == OutboundMessage.Channel.EMAIL else [m["text"] for m in sms_outbox]
    assert len(texts) == 1
    _assert_kazakh(texts[0])


def test_the_e_mail_changed_warning_is_kazakh(kk_user):
    code = {}
    real_generate = cabinet_services.otp_rules.code_generate

    def generate():
        code["value"] = real_generate()
        return code["value"]

    cabinet_services.otp_rules.code_generate = generate
    try:
        cabinet_services.otp_send(purpose=OneTimeCode.Purpose.PROFILE_EMAIL, channel=OutboundMessage.Channel.EMAIL,
                                  recipient="new@example.kz", context=str(kk_user.pk), language="kk",
                                  limits_checked=True)
    finally:
        cabinet_services.otp_rules.code_generate = real_generate
    cabinet_services.profile_contact_change_confirm(user=kk_user, kind="email", new_value="new@example.kz",
                                                    code=code["value"])
    warnings = _mails_to("kk@example.kz")
    assert len(warnings) == 1 and "new@example.kz" in warnings[0]
    _assert_kazakh(warnings[0])


def test_the_invitations_kazakh_half_is_kazakh(kk_user, django_capture_on_commit_callbacks):
    from applications.tests.factories import valid_tab_data

    app = ApplicationFactory(organization=kk_user.organization, created_by=kk_user, project_name="«Арман» ТК")
    app_services.application_save_tab(application=app, tab="developer", values=valid_tab_data()["developer"],
                                      actor=kk_user)
    with django_capture_on_commit_callbacks(execute=True):
        invitation = app_services.invitation_send(application=app, actor=kk_user)
    message = mail.outbox[-1]
    assert invitation.email in message.to
    _ru, kk = message.body.split("\n\n")
    _assert_kazakh(f"{message.subject.split(' / ')[1]}\n{kk}")


def test_the_developers_consent_link_is_kazakh(kk_user, django_capture_on_commit_callbacks):
    developer = OrganizationFactory(kind="developer", name_ru="ТОО «Құрылыс»", name_kk="«Құрылыс» ЖШС")
    dev_user = UserFactory(organization=developer, language="kk", email="dev@example.kz")
    app = ApplicationFactory(organization=kk_user.organization, created_by=kk_user, developer=developer,
                             project_name="«Арман» ТК")
    consent_type = ConsentTypeFactory(provider=Provider.DEVELOPER, name_ru="Согласие застройщика",
                                      name_kk="Құрылыс салушының келісімі")
    app_services.consent_form(application=app, consent_type=consent_type, actor=kk_user)
    with django_capture_on_commit_callbacks(execute=True):
        app_services.consent_request_developer_signature(application=app, consent_type=consent_type, actor=kk_user)
    texts = _mails_to(dev_user.email)
    assert len(texts) == 1 and "Құрылыс салушының келісімі" in texts[0]
    _assert_kazakh(texts[0])


def _notification_mails(organization, email):
    mail.outbox.clear()
    for notification in Notification.objects.filter(organization=organization, emailed_at__isnull=True):
        cabinet_services.notification_send_email_copy(notification_id=notification.pk)
    return _mails_to(email)


@pytest.mark.parametrize("status", Status.values)
def test_application_status_notifications_are_kazakh(kk_user, status):
    app = ApplicationFactory(organization=kk_user.organization, created_by=kk_user, project_name="«Арман» ТК")
    ru_user = UserFactory(organization=kk_user.organization, language="ru", email="ru@example.kz")
    app_services._notify_parties(types.SimpleNamespace(obj=app, target=status))
    texts = _notification_mails(kk_user.organization, kk_user.email)
    assert len(texts) == 1
    _assert_kazakh(texts[0], russian=_mails_to(ru_user.email)[0])


@pytest.mark.parametrize("status", AppealStatus.values)
def test_appeal_status_notifications_are_kazakh(kk_user, status):
    developer = OrganizationFactory(kind="developer", name_ru="ТОО «Құрылыс»", name_kk="«Құрылыс» ЖШС")
    dev_user = UserFactory(organization=developer, language="kk", email="dev@example.kz")
    appeal = AppealFactory(organization=kk_user.organization)
    appeal.contract.developer = developer
    appeal.contract.save(update_fields=["developer"])
    step = types.SimpleNamespace(obj=appeal, source=AppealStatus.DRAFT, target=status, now=timezone.now())
    appeal_services._after_transition(step)
    texts = _notification_mails(kk_user.organization, kk_user.email)
    assert len(texts) == 1
    _assert_kazakh(texts[0])
    for text in _notification_mails(developer, dev_user.email):
        _assert_kazakh(text)


def test_the_check_catches_a_russian_message(sms_outbox):
    """The control: the same code in Russian is caught by the vocabulary."""
    cabinet_services.otp_send(purpose=OneTimeCode.Purpose.LOGIN, channel=OutboundMessage.Channel.EMAIL,
                              recipient="ru@example.kz", language="ru", limits_checked=True)
    with pytest.raises(AssertionError):
        _assert_kazakh(_mails_to("ru@example.kz")[0])
