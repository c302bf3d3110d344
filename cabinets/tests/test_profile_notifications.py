import pytest
from django.urls import reverse

from cabinets import services
from cabinets.models import (
    FaqEntry,
    FaqGroup,
    Notification,
    Survey,
    SurveyChoice,
    SurveyQuestion,
    SurveyResponse,
)
from cabinets.tests.helpers import last_email_code, last_sms_code
from tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def _notification(organization, **kw):
    return Notification.objects.create(organization=organization, title_ru="Заявка принята", title_kk="Өтінім қабылданды",
                                       **kw)


def test_profile_shows_the_seed_fields(cabinet_client, cabinet_user):
    body = cabinet_client.get(reverse("cabinets:profile")).content.decode()
    for label in ("БИН", "Наименование организации", "ИИН", "Фамилия", "Имя", "Отчество", "Мобильный номер"):
        assert label in body, label
    assert cabinet_user.organization.bin in body and cabinet_user.iin in body


def test_profile_of_staff_without_organization_is_404(client, django_user_model):
    staff = django_user_model.objects.create_user("staff", "x", is_staff=True)
    client.force_login(staff)
    assert client.get(reverse("cabinets:profile")).status_code == 404


def test_email_change_needs_password_and_code(cabinet_client, cabinet_user):
    url = reverse("cabinets:profile")
    wrong = cabinet_client.post(url, {"action": "send", "kind": "email", "new_value": "new@example.kz", "password": "nope"})
    assert "Неверный пароль" in wrong.content.decode()
    cabinet_client.post(url, {"action": "send", "kind": "email", "new_value": "new@example.kz", "password": "Passw0rd!"})
    code = last_email_code("new@example.kz")
    bad = "000000" if code != "000000" else "111111"
    assert "Неверный код" in cabinet_client.post(url, {"action": "confirm", "code": bad}).content.decode()
    cabinet_user.refresh_from_db()
    assert cabinet_user.email != "new@example.kz"
    response = cabinet_client.post(url, {"action": "confirm", "code": code}, follow=True)
    old_email = cabinet_user.email
    cabinet_user.refresh_from_db()
    assert cabinet_user.email == "new@example.kz"
    assert 'class="verified"' in response.content.decode()
    from django.core import mail

    assert mail.outbox[-1].to == [old_email] and "new@example.kz" in mail.outbox[-1].body


def test_mobile_change_by_sms_code(cabinet_client, cabinet_user):
    url = reverse("cabinets:profile")
    bad = cabinet_client.post(url, {"action": "send", "kind": "mobile", "new_value": "12345", "password": "Passw0rd!"})
    assert "+7" in bad.content.decode()
    cabinet_client.post(url, {"action": "send", "kind": "mobile", "new_value": "8 (702) 555-44-33", "password": "Passw0rd!"})
    cabinet_client.post(url, {"action": "confirm", "code": last_sms_code("+77025554433")})
    cabinet_user.refresh_from_db()
    assert cabinet_user.mobile == "+77025554433"


def test_notifications_list_mark_read_and_404_for_other_organization(cabinet_client, cabinet_user):
    mine = _notification(cabinet_user.organization, link="/appeals/")
    theirs = _notification(OrganizationFactory())
    body = cabinet_client.get(reverse("cabinets:notifications")).content.decode()
    assert f"notification-{mine.pk}" in body and f"notification-{theirs.pk}" not in body
    assert cabinet_client.post(reverse("cabinets:notification_read", args=[theirs.pk])).status_code == 404
    assert cabinet_client.get(reverse("cabinets:notification_open", args=[theirs.pk])).status_code == 404
    response = cabinet_client.post(reverse("cabinets:notification_read", args=[mine.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'id="unread-count"' in response.content.decode()
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.read_at is not None and theirs.read_at is None


def test_notification_open_follows_local_link_only(cabinet_client, cabinet_user):
    local = _notification(cabinet_user.organization, link="/appeals/")
    evil = _notification(cabinet_user.organization, link="https://evil.example/")
    assert cabinet_client.get(reverse("cabinets:notification_open", args=[local.pk])).url == "/appeals/"
    assert cabinet_client.get(reverse("cabinets:notification_open", args=[evil.pk])).url == reverse("cabinets:notifications")


def test_notification_list_query_count(cabinet_client, cabinet_user, django_assert_max_num_queries):
    for _ in range(15):
        _notification(cabinet_user.organization)
    with django_assert_max_num_queries(8):
        cabinet_client.get(reverse("cabinets:notifications"))


def _survey():
    survey = Survey.objects.create(title_ru="Качество услуг", title_kk="Қызмет сапасы")
    SurveyQuestion.objects.create(survey=survey, position=1, kind="text", text_ru="Ваши предложения", text_kk="Ұсыныстарыңыз")
    single = SurveyQuestion.objects.create(survey=survey, position=2, kind="single", text_ru="Оценка", text_kk="Баға")
    good = SurveyChoice.objects.create(question=single, text_ru="Хорошо", text_kk="Жақсы")
    SurveyChoice.objects.create(question=single, text_ru="Плохо", text_kk="Нашар")
    multi = SurveyQuestion.objects.create(survey=survey, position=3, kind="multiple", text_ru="Каналы", text_kk="Арналар",
                                          required=False)
    email = SurveyChoice.objects.create(question=multi, text_ru="Почта", text_kk="Пошта")
    sms = SurveyChoice.objects.create(question=multi, text_ru="СМС", text_kk="СМС")
    yes_no = SurveyQuestion.objects.create(survey=survey, position=4, kind="yes_no", text_ru="Рекомендуете?", text_kk="Ұсынасыз ба?")
    return survey, single, good, multi, [email, sms], yes_no


def test_survey_filled_once_per_organization(cabinet_client, cabinet_user):
    survey, single, good, multi, channels, yes_no = _survey()
    url = reverse("cabinets:survey", args=[survey.pk])
    text_q = survey.questions.get(kind="text")
    missing = cabinet_client.post(url, {f"q{single.pk}": str(good.pk)})
    assert "Ответьте на этот вопрос" in missing.content.decode()
    assert not SurveyResponse.objects.exists()
    cabinet_client.post(url, {f"q{text_q.pk}": "Всё хорошо", f"q{single.pk}": str(good.pk),
                              f"q{multi.pk}": [str(c.pk) for c in channels], f"q{yes_no.pk}": "yes"})
    response = SurveyResponse.objects.get(organization=cabinet_user.organization)
    assert response.answers.get(question=multi).choices.count() == 2
    assert response.answers.get(question=yes_no).text == "yes"
    colleague = UserFactory(organization=cabinet_user.organization)
    cabinet_client.force_login(colleague)
    page = cabinet_client.get(url).content.decode()
    assert "survey-filled" in page and "Хорошо" in page and "Почта, СМС" in page
    with pytest.raises(services.CabinetError):
        services.survey_response_submit(survey=survey, organization=cabinet_user.organization, user=colleague, answers={})
    assert "Заполнена" in cabinet_client.get(reverse("cabinets:surveys")).content.decode()


def test_a_post_to_a_survey_answered_meanwhile_redirects_with_a_message(cabinet_client, cabinet_user):
    """The colleague's page was open when the organization answered: its submit is told so (POST →
    redirect, never the form again) and the stored answers stay as they were."""
    survey, single, good, *_ = _survey()
    url = reverse("cabinets:survey", args=[survey.pk])
    text_q = survey.questions.get(kind="text")
    services.survey_response_submit(survey=survey, organization=cabinet_user.organization, user=cabinet_user,
                                    answers={single.pk: [good.pk], text_q.pk: "Первый ответ"})
    late = cabinet_client.post(url, {f"q{single.pk}": str(good.pk), f"q{text_q.pk}": "Второй"})
    assert late.status_code == 302 and late["Location"] == url
    page = cabinet_client.get(url).content.decode()
    assert "Ваша организация уже заполнила эту анкету." in page
    assert SurveyResponse.objects.get().answers.get(question=text_q).text == "Первый ответ"


def test_unpublished_survey_is_404(cabinet_client):
    survey = Survey.objects.create(title_ru="Черновик", title_kk="Жоба", is_published=False)
    assert cabinet_client.get(reverse("cabinets:survey", args=[survey.pk])).status_code == 404


def test_faq_grouped_in_both_languages(client):
    group = FaqGroup.objects.create(title_ru="Регистрация", title_kk="Тіркеу")
    FaqEntry.objects.create(group=group, question_ru="Как войти?", question_kk="Қалай кіруге болады?",
                            answer_ru="По БИН и паролю.", answer_kk="БСН және пароль арқылы.")
    FaqEntry.objects.create(group=group, question_ru="Скрыто", question_kk="Жасырын", answer_ru="-", answer_kk="-",
                            is_published=False)
    body = client.get(reverse("cabinets:faq")).content.decode()
    assert "Регистрация" in body and "Как войти?" in body and "Скрыто" not in body
    client.cookies["homeportal_language"] = "kk"
    body = client.get(reverse("cabinets:faq")).content.decode()
    assert "Тіркеу" in body and "Қалай кіруге болады?" in body


def test_admin_created_notification_goes_through_the_service(admin_client, cabinet_user, mailoutbox):
    from unittest import mock

    with mock.patch("cabinets.services.enqueue_on_commit") as delay:
        admin_client.post(reverse("admin:cabinets_notification_add"), {
            "organization": cabinet_user.organization.pk, "title_ru": "Тест", "title_kk": "Тест", "body_ru": "Текст",
            "body_kk": "Мәтін", "link": "", "created_at_0": "01.01.2026", "created_at_1": "10:00:00",
        })
    notification = Notification.objects.get(organization=cabinet_user.organization)
    from cabinets.tasks import send_notification_email

    delay.assert_called_once_with(send_notification_email, (notification.pk,))
    services.notification_send_email_copy(notification_id=notification.pk)
    services.notification_send_email_copy(notification_id=notification.pk)  # idempotent
    assert [m.to for m in mailoutbox] == [[cabinet_user.email]]


def test_profile_reauth_wrong_password_limit_logs_out(cabinet_client):
    url = reverse("cabinets:profile")
    for _ in range(4):
        body = cabinet_client.post(url, {"action": "send", "kind": "email", "new_value": "n@example.kz",
                                         "password": "nope"}).content.decode()
        assert "Неверный пароль" in body
    response = cabinet_client.post(url, {"action": "send", "kind": "email", "new_value": "n@example.kz", "password": "nope"})
    assert response.status_code == 302 and cabinet_client.get(url).status_code == 302


def test_profile_shows_only_the_signed_in_user(cabinet_client, cabinet_user):
    other = UserFactory(surname="Чужой")
    body = cabinet_client.get(reverse("cabinets:profile") + f"?user={other.pk}&pk={other.pk}").content.decode()
    assert other.iin not in body and other.organization.bin not in body and "Чужой" not in body


def test_idle_session_ends(cabinet_client, settings):
    import time

    assert cabinet_client.get(reverse("cabinets:profile")).status_code == 200
    session = cabinet_client.session
    session["_last_seen"] = int(time.time()) - settings.SESSION_IDLE_TIMEOUT - 5
    session.save()
    assert cabinet_client.get(reverse("cabinets:profile")).status_code == 302


def test_purge_keeps_fresh_and_finished_records():
    import datetime

    from django.utils import timezone

    from cabinets.models import LoginChallenge, OneTimeCode, RegistrationDraft

    now = timezone.now()
    old = now - datetime.timedelta(days=2)
    services.otp_send(purpose="login", channel="email", recipient="a@b.kz", now=old)
    services.otp_send(purpose="login", channel="email", recipient="c@d.kz", now=now)
    LoginChallenge.objects.create(token="t1", nonce="n", created_at=old)
    RegistrationDraft.objects.create(token="d1", bin="1", iin="1", organization_name="x", created_at=old)
    RegistrationDraft.objects.create(token="d2", bin="1", iin="2", organization_name="x", created_at=old, step="done")
    assert services.auth_records_purge(now=now) == 3
    assert OneTimeCode.objects.count() == 1 and list(RegistrationDraft.objects.values_list("token", flat=True)) == ["d2"]


def test_unread_badge_counts_only_the_organizations_unread_ones(django_assert_num_queries):
    from django.utils import timezone

    from cabinets.selectors import unread_notification_count

    org, other = OrganizationFactory(), OrganizationFactory()
    make = lambda organization, n, read=None: Notification.objects.bulk_create(  # noqa: E731
        [Notification(organization=organization, title_ru="т", title_kk="т", read_at=read) for _ in range(n)])
    with django_assert_num_queries(1):
        assert unread_notification_count(organization=org) == "0"
    make(org, 3)
    make(org, 4, read=timezone.now())
    make(other, 200)
    assert unread_notification_count(organization=org) == "3"
    make(org, 96)
    assert unread_notification_count(organization=org) == "99"
    make(org, 1)
    assert unread_notification_count(organization=org) == "99+"
    assert unread_notification_count(organization=other) == "99+"
