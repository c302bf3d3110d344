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


SH = {"tab": "shareholders", "sh-TOTAL_FORMS": "1", "sh-INITIAL_FORMS": "0",
      "sh-0-name": "Иванов", "sh-0-bin_iin": "160340003066", "sh-0-share": "50", "sh-0-registered_on": "2016-03-01"}


def test_shareholders_formset_add_and_remove_without_js(company_client, company):
    app = ApplicationFactory(organization=company)
    html = company_client.get(stage_url(app, 1, "shareholders")).content.decode()
    assert "remove_shareholder" not in html and "add_shareholder" not in html
    added = company_client.post(stage_url(app, 1), {**SH, "sh-ADD": "1"})
    app.refresh_from_db()
    assert len(app.data["shareholders"]) == 2 and app.data["shareholders"][0]["name"] == "Иванов"
    assert added.status_code == 200 and 'name="sh-1-name"' in added.content.decode()
    assert 'name="sh-1-DELETE"' in added.content.decode()  # each block's 🗑 is its formset DELETE
    company_client.post(stage_url(app, 1), {**SH, "sh-TOTAL_FORMS": "2", "sh-1-name": "Петров", "sh-0-DELETE": "on"})
    app.refresh_from_db()
    assert [r["name"] for r in app.data["shareholders"]] == ["Петров"]


def test_shareholders_formset_with_htmx_answers_the_stage_partial(company_client, company):
    app = ApplicationFactory(organization=company)
    response = company_client.post(stage_url(app, 1), {**SH, "sh-ADD": "1"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html and 'name="sh-1-name"' in html


@pytest.mark.parametrize("counter", ["٣", "²", "３", "abc", "", "-1"])
def test_damaged_formset_counters_are_a_message_and_keep_the_rows(company_client, company, counter):
    app = ApplicationFactory(organization=company)
    response = company_client.post(stage_url(app, 1), {**SH, "sh-TOTAL_FORMS": counter, "action": "save"},
                                   HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    app.refresh_from_db()
    assert app.data["shareholders"][0]["name"] == "Иванов"  # what was typed is kept
    assert "Иванов" in html and "field-error" in html and "Счётчик блоков формы" in html


def test_a_huge_formset_counter_adds_no_phantom_blocks(company_client, company):
    app = ApplicationFactory(organization=company)
    response = company_client.post(stage_url(app, 1), {**SH, "sh-TOTAL_FORMS": "9" * 20, "action": "save"})
    assert response.status_code == 302
    app.refresh_from_db()
    assert [r["name"] for r in app.data["shareholders"]] == ["Иванов"]


def test_the_last_shareholder_block_is_not_removed(company_client, company):
    app = ApplicationFactory(organization=company)
    company_client.post(stage_url(app, 1), {**SH, "sh-0-DELETE": "on"})
    app.refresh_from_db()
    assert len(app.data["shareholders"]) == 1
