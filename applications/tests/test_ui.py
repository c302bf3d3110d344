"""Defects of the guarantee screens (#12): one invitation link whichever button, the create
modal's «Создать», numeric fields that keep what was typed, the shareholders formset."""

import re

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

from applications.models import DeveloperInvitation
from applications.tests.factories import ApplicationFactory, valid_tab_data

pytestmark = pytest.mark.django_db


def stage_url(app, stage, tab=None):
    url = reverse("applications:stage", args=[app.public_id, stage])
    return url + (f"?tab={tab}" if tab else "")


def _developer_post(action):
    return {**valid_tab_data()["developer"], "tab": "developer", "action": action}


def _shown_link(response) -> str:
    return re.search(r"data-generated-link>([^<]+)<", response.content.decode()).group(1)


def _path(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def test_the_generated_link_still_opens_after_the_email_is_sent(company_client, company, registry,
                                                                django_capture_on_commit_callbacks):
    app = ApplicationFactory(organization=company, data=valid_tab_data())
    link = _shown_link(company_client.post(stage_url(app, 1), _developer_post("generate_link")))
    with django_capture_on_commit_callbacks(execute=True):
        company_client.post(stage_url(app, 1), _developer_post("send_invitation"))
    assert link in mail.outbox[0].body  # one invitation, one link
    assert company_client.get(_path(link)).status_code == 200
    assert _shown_link(company_client.post(stage_url(app, 1), _developer_post("generate_link"))) == link
    assert DeveloperInvitation.objects.filter(application=app).count() == 1


def test_a_changed_developer_gets_a_new_link_and_the_old_one_dies(company_client, company, registry,
                                                                  django_capture_on_commit_callbacks):
    app = ApplicationFactory(organization=company, data=valid_tab_data())
    first = _shown_link(company_client.post(stage_url(app, 1), _developer_post("generate_link")))
    post = {**_developer_post("generate_link"), "developer-email": "other@demo.kz"}
    second = _shown_link(company_client.post(stage_url(app, 1), post))
    assert first != second
    assert company_client.get(_path(first)).status_code == 404
    assert company_client.get(_path(second)).status_code == 200


def test_letters_in_a_numeric_field_are_kept_and_called_out(company_client, company):
    app = ApplicationFactory(organization=company, data=valid_tab_data())
    post = {**valid_tab_data()["project"], "tab": "project", "action": "save",
            "project-ms_buildings": "12a", "project-cost": "10 000 000,50"}
    response = company_client.post(stage_url(app, 1), post, follow=True)
    html = response.content.decode()
    app.refresh_from_db()
    assert app.data["project"]["project-ms_buildings"] == "12a"  # stored as typed
    field = re.search(r'<input[^>]*name="project-ms_buildings"[^>]*>', html).group(0)
    assert 'type="text"' in field and 'inputmode="numeric"' in field and 'value="12a"' in field
    assert 'pattern="[0-9]*"' in field
    block = re.search(r'data-field="project-ms_buildings".*?</div>', html, re.S).group(0)
    assert "Введите только цифры." in block and "Обязательное поле" not in block
    cost = re.search(r'data-field="project-cost".*?</div>', html, re.S).group(0)
    assert 'inputmode="decimal"' in cost and "field-error" not in cost  # spaces and a comma are a number


def test_numeric_message_in_kazakh(company_client, company):
    app = ApplicationFactory(organization=company, data=valid_tab_data())
    company_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "kk"
    post = {**valid_tab_data()["project"], "tab": "project", "action": "save", "project-ms_floors": "бес"}
    html = company_client.post(stage_url(app, 1), post, follow=True).content.decode()
    block = re.search(r'data-field="project-ms_floors".*?</div>', html, re.S).group(0)
    assert "Тек цифрларды енгізіңіз." in block and 'value="бес"' in block


@pytest.mark.parametrize("value", ["１２", "٣", "1.5", "-3"])
def test_non_ascii_or_fractional_digits_are_not_a_whole_number(value):
    from applications.forms import WholeNumberField

    field = WholeNumberField(required=False)
    with pytest.raises(Exception, match="digits only|цифр"):
        field.clean(value)


def _create_button(html: str) -> str:
    return re.search(r"<div[^>]*data-create-actions[^>]*>", html).group(0)


def test_create_shows_only_after_a_choice_without_js(company_client, company):
    from tests.factories import ContractFactory

    contract = ContractFactory(organization=company)
    url = reverse("applications:create")
    html = company_client.get(url).content.decode()
    assert " hidden" in _create_button(html)  # no «Создать» before Да/Нет
    assert 'name="step" value="choose"' in html  # the no-JS way to tell the choice
    no = company_client.post(url, {"under_contract": "no", "step": "choose"})
    assert no.status_code == 200 and " hidden" not in _create_button(no.content.decode())
    yes = company_client.post(url, {"under_contract": "yes", "step": "choose"}).content.decode()
    assert " hidden" in _create_button(yes) and "field-error" not in yes  # choosing is not submitting
    picked = company_client.post(url, {"under_contract": "yes", "contract": str(contract.pk), "step": "choose"})
    assert " hidden" not in _create_button(picked.content.decode())
    other = company_client.post(url, {"under_contract": "yes", "other_contract": "yes", "step": "choose"})
    assert " hidden" not in _create_button(other.content.decode())
    from applications.models import Application

    assert not Application.objects.exists()


def test_the_modal_is_a_partial_of_the_create_page(company_client):
    url = reverse("applications:create")
    modal = company_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in modal and "modal-backdrop" in modal and "data-create-actions" in modal
    page = company_client.get(url).content.decode()
    assert "<html" in page and "modal-backdrop" not in page and "data-create-actions" in page
