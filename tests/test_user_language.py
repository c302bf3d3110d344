"""Issue #14, language: the ҚАЗ/РУС switch and the profile set User.language; e-mails and
notifications go out in it; text made outside templates (invitation, contract options, actor
labels, admin header) follows the reader's language."""

import re

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import translation

from appeals.forms import AppealStartForm
from appeals.models import AppealCategory
from applications import services as app_services
from applications.tests.factories import ApplicationFactory, valid_tab_data
from cabinets.models import Contract, User
from cabinets.services import notification_send_email_copy, notify_both_languages
from homeportal.history import KZHK_ACTOR, KZHK_BPMS_ACTOR
from tests.factories import ContractFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_switch_saves_the_signed_in_users_language(client):
    user = UserFactory()
    client.force_login(user)
    response = client.post(reverse("set_language"), {"language": "kk", "next": "/profile/"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.language == "kk"
    client.post(reverse("set_language"), {"language": "ru", "next": "/"})
    user.refresh_from_db()
    assert user.language == "ru"


def test_an_anonymous_switch_only_sets_the_cookie(client):
    response = client.post(reverse("set_language"), {"language": "kk", "next": "/"})
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "kk"


def test_the_profile_shows_and_sets_the_language(client):
    user = UserFactory(language="kk")
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "kk"
    page = client.get(reverse("cabinets:profile")).content.decode()
    assert re.search(r'<option value="kk" lang="kk" selected>', page)
    with translation.override("kk"):
        assert translation.gettext("Language of the cabinet, e-mails and notifications") in page


def test_login_on_a_fresh_browser_applies_the_stored_language(client, cabinet_user):
    user = cabinet_user
    User.objects.filter(pk=user.pk).update(language="kk")
    response = client.post("/login/", {"tab": "bin", "bin": user.organization.bin, "password": "Passw0rd!"})
    assert response.status_code == 302, response.content.decode()[:500]
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "kk"


def test_a_language_chosen_before_login_becomes_the_users(client, cabinet_user):
    user = cabinet_user
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "kk"
    client.post("/login/", {"tab": "bin", "bin": user.organization.bin, "password": "Passw0rd!"})
    user.refresh_from_db()
    assert user.language == "kk"


def test_notification_e_mails_go_out_in_each_users_language():
    kk_user = UserFactory(language="kk")
    ru_user = UserFactory(organization=kk_user.organization, language="ru")
    notification = notify_both_languages(organization=kk_user.organization, title=translation.gettext_lazy("Notifications"))
    notification_send_email_copy(notification_id=notification.pk)
    by_address = {m.to[0]: m.subject for m in mail.outbox}
    assert by_address == {kk_user.email: _in("kk", "Notifications"), ru_user.email: _in("ru", "Notifications")}
    assert _in("kk", "Notifications") != _in("ru", "Notifications")


def _in(language, msgid):
    with translation.override(language):
        return translation.gettext(msgid)


def test_the_invitation_says_everything_in_both_languages(django_capture_on_commit_callbacks):
    company_user = UserFactory()
    company = company_user.organization
    app = ApplicationFactory(organization=company)
    app_services.application_save_tab(application=app, tab="developer", values=valid_tab_data()["developer"],
                                      actor=company_user)
    with django_capture_on_commit_callbacks(execute=True):
        app_services.invitation_send(application=app, actor=company_user)
    body = mail.outbox[0].body
    ru, kk = body.split("\n\n")
    link = re.search(r"http\S+/applications/invite/\S+/", ru).group(0)
    for part, name in ((ru, company.name_ru), (kk, company.name_kk)):
        assert link in part and name in part and company.bin in part and app.project_name in part
    assert "7" in kk and "ЭЦҚ" in kk  # the validity and the EDS check, not only the link
    assert _no_russian_only_words(kk) and not _no_russian_only_words(ru)
    assert "/" in mail.outbox[0].subject and _in("kk", "Invitation to a guarantee application") in mail.outbox[0].subject


def _no_russian_only_words(text):
    return not re.search(r"\b(приглашает|заявку|ссылке|действует|застройщика)\b", text)


def test_contract_options_have_no_russian_preposition_in_kazakh():
    contract = ContractFactory(kind=Contract.Kind.GUARANTEE)
    form = AppealStartForm(contracts=Contract.objects.filter(pk=contract.pk), categories=AppealCategory.objects.none())
    with translation.override("kk"):
        label = form.fields["contract"].label_from_instance(contract)
    assert " от " not in label and contract.number in label and "жылғы" in label


def test_kzhk_actor_label_follows_the_language():
    from applications.models import ApplicationHistory

    app = ApplicationFactory()
    entry = ApplicationHistory(application=app, event="status", actor_name=KZHK_ACTOR)
    bpms = ApplicationHistory(application=app, event="status", actor_name=KZHK_BPMS_ACTOR)
    company = ApplicationHistory(application=app, event="status", actor_name=f"Иванов ({app.organization.name_ru})")
    with translation.override("kk"):
        assert entry.actor_display == "«ҚТК» АҚ" and bpms.actor_display.startswith("«ҚТК» АҚ")
        assert app.organization.name_kk in company.actor_display
    with translation.override("ru"):
        assert entry.actor_display == KZHK_ACTOR


def test_admin_header_in_kazakh(admin_client):
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "kk"
    page = admin_client.get("/admin/").content.decode()
    assert "«ҚТК» АҚ — модерация" in page


def test_user_language_rejects_unknown():
    from cabinets.services import CabinetError, user_language_set

    with pytest.raises(CabinetError):
        user_language_set(user=UserFactory(), language="en")
    assert User.objects.count() == 1
