"""The cabinet pages of «Мои заявки» → «Гарантирование»."""

import re

import pytest
from django.urls import reverse

from applications import services
from applications.models import Application, ApplicationHistory, Status
from applications.tests.factories import ApplicationFactory, valid_tab_data
from cabinets.models import Contract
from tests.factories import ContractFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def stage_url(app, stage, tab=None):
    url = reverse("applications:stage", args=[app.public_id, stage])
    return url + (f"?tab={tab}" if tab else "")


def test_list_shows_the_seed_columns_and_actions(company_client, company):
    app = ApplicationFactory(organization=company, project_name="ЖК «Нурлы»")
    sent = ApplicationFactory(organization=company, project_name="ЖК «Отправлен»", status=Status.SENT)
    response = company_client.get(reverse("applications:list"))
    html = response.content.decode()
    for heading in ("№ и дата регистрации", "Наименование проекта", "Срок исполнения", "Статус заявки",
                    "История заявки", "Действия", "Создать заявку"):
        assert heading in html
    assert "ЖК «Нурлы»" in html and "ЖК «Отправлен»" in html
    assert reverse("applications:delete", args=[app.public_id]) in html
    assert reverse("applications:delete", args=[sent.public_id]) not in html
    assert "Заявка отправлена" in html


def test_list_runs_a_constant_number_of_queries(company_client, company, django_assert_max_num_queries):
    contract = ContractFactory(organization=company)
    Application.objects.bulk_create(
        [Application(organization=company, project_name=f"Проект {i}", contract=contract if i % 2 else None)
         for i in range(1000)]
    )
    with django_assert_max_num_queries(8) as captured:
        response = company_client.get(reverse("applications:list"))
    assert response.status_code == 200
    small_count = len(captured.captured_queries)
    html = response.content.decode()
    assert html.count("data-application=") == 20 and "Страница 1 из более чем 11" in html  # the count is bounded (homeportal.pagination)
    last = company_client.get(reverse("applications:list"), {"page": 50}).content.decode()
    assert last.count("data-application=") == 20 and ">981</a>" in last
    Application.objects.all().delete()
    ApplicationFactory(organization=company)
    with django_assert_max_num_queries(small_count):
        company_client.get(reverse("applications:list"))


def test_create_new_project_opens_the_form(company_client, company, registry):
    response = company_client.post(reverse("applications:create"), {"under_contract": "no"})
    app = Application.objects.get(organization=company)
    assert response.status_code == 302 and response["Location"] == stage_url(app, 1)
    assert app.contract is None and app.status == Status.DRAFT
    assert app.data["company"]["company-bin"] == company.bin
    assert app.data["company"]["company-legal_address"].startswith("Казахстан, город Астана")
    assert ApplicationHistory.objects.filter(application=app, event="created").exists()


def test_create_under_an_existing_contract_prefills(company_client, company):
    contract = ContractFactory(organization=company, project_name="Многоквартирный жилой комплекс")
    other = ContractFactory(organization=OrganizationFactory())
    page = company_client.get(reverse("applications:create"))
    assert contract.number in page.content.decode() and other.number not in page.content.decode()
    company_client.post(reverse("applications:create"), {"under_contract": "yes", "contract": str(other.pk)})
    assert not Application.objects.exists()  # someone else's contract is not a choice
    company_client.post(reverse("applications:create"), {"under_contract": "yes", "contract": str(contract.pk)})
    app = Application.objects.get()
    assert app.contract == contract and app.project_name == "Многоквартирный жилой комплекс"
    assert app.data["project"]["project-project_name"] == contract.project_name


def test_create_with_a_contract_concluded_outside_the_portal(company_client, company):
    response = company_client.post(reverse("applications:create"), {
        "under_contract": "yes", "other_contract": "yes", "contract_number": "ДЛГ 99-99-999/999",
        "contract_date": "2025-07-08", "contract_project": "Тестовый проект",
    })
    assert response.status_code == 302
    contract = Contract.objects.get(organization=company, number="ДЛГ 99-99-999/999")
    assert contract.is_active and contract.concluded_outside_portal
    assert Application.objects.get().contract == contract


def test_create_modal_errors_at_the_field(company_client):
    response = company_client.post(reverse("applications:create"), {"under_contract": "yes", "other_contract": "yes"},
                                   HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "modal-backdrop" in html
    assert "Создание заявки на гарантирование" in html
    assert html.count('class="field-error"') >= 3
    assert not Application.objects.exists()


def test_stage1_tabs_and_buttons(company_client, company):
    app = ApplicationFactory(organization=company)
    html = company_client.get(stage_url(app, 1)).content.decode()
    for text in ("Корпоративная информация", "Корпоративная документация", "Документация по проекту",
                 "Предоставление согласий", "Информация об УК", "Состав акционеров / учредителей",
                 "Информация о проекте", "Информация о застройщике", "Далее", "Сохранить черновик",
                 "Наименование обслуживающего банка", "Соответствует юридическому адресу"):
        assert text in html, text
    assert "Назад" not in html.split('class="form-buttons"')[1]


def test_opening_an_unfinished_tab_shows_no_errors_until_a_submit(company_client, company):
    """A draft's tab opened again: no message at a field, and no field marked invalid either
    (Django's aria-invalid would make the page's error summary list fields with nothing to say)."""
    app = ApplicationFactory(organization=company, data={"company": {"company-bin": company.bin}})
    html = company_client.get(stage_url(app, 1)).content.decode()
    assert "Информация об УК" in html and 'name="company-phone"' in html
    assert "aria-invalid" not in html and "field-error" not in html
    checked = company_client.get(stage_url(app, 1), {"check": "1"}).content.decode()  # «проверить»: errors shown
    assert 'aria-invalid="true"' in checked and "field-error" in checked


def test_save_draft_keeps_invalid_values_as_typed(company_client, company):
    app = ApplicationFactory(organization=company)
    data = {**valid_tab_data()["company"], "company-bin": "12345", "company-iik": "KZ00", "tab": "company",
            "action": "save"}
    response = company_client.post(stage_url(app, 1), data, follow=True)
    html = response.content.decode()
    app.refresh_from_db()
    assert app.data["company"]["company-bin"] == "12345"
    assert app.data["company"]["company-iik"] == "KZ00"
    assert 'value="12345"' in html and 'value="KZ00"' in html
    assert "field-error" in html  # the message at the field
    assert "Черновик сохранен" in html or "Черновик сохранён" in html


def test_next_refuses_an_invalid_stage_and_goes_on_when_valid(company_client, company):
    app = ApplicationFactory(organization=company, data={})
    response = company_client.post(stage_url(app, 1), {"tab": "company", "action": "next", "company-bin": "1"})
    assert response.status_code == 200
    assert "field-error" in response.content.decode()
    data = valid_tab_data()
    app.data = {k: v for k, v in data.items() if k != "expertise"}
    app.save()
    post = {**data["company"], "tab": "company", "action": "next"}
    response = company_client.post(stage_url(app, 1), post)
    assert response.status_code == 302 and response["Location"] == stage_url(app, 2)


def test_developer_search_fills_the_name(company_client, company, registry):
    app = ApplicationFactory(organization=company)
    post = {"tab": "developer", "action": "search", "developer-bin": "150240008272"}
    html = company_client.post(stage_url(app, 1), post).content.decode()
    assert "ООО Застройщик" in html
    htmx = company_client.post(reverse("applications:developer_lookup", args=[app.public_id]),
                               {"developer-bin": "150240008272"}, HTTP_HX_REQUEST="true")
    assert "ООО Застройщик" in htmx.content.decode()


def test_another_organizations_application_is_404(client, company):
    app = ApplicationFactory(organization=company)
    stranger = UserFactory()
    client.force_login(stranger)
    for url in (stage_url(app, 1), stage_url(app, 4), reverse("applications:history", args=[app.public_id])):
        assert client.get(url).status_code == 404
    assert client.post(reverse("applications:delete", args=[app.public_id])).status_code == 404
    assert client.post(stage_url(app, 1), {"tab": "company", "action": "save", "company-bin": "x"}).status_code == 404
    app.refresh_from_db()
    assert "x" not in str(app.data)


def test_edit_and_delete_refused_once_sent(company_client, company):
    app = ApplicationFactory(organization=company, status=Status.SENT, data={"company": {"company-bin": "1"}})
    company_client.post(stage_url(app, 1), {"tab": "company", "action": "save", "company-bin": "160340003066"})
    app.refresh_from_db()
    assert app.data["company"]["company-bin"] == "1"
    response = company_client.post(reverse("applications:delete", args=[app.public_id]), follow=True)
    assert Application.objects.filter(pk=app.pk).exists()
    assert "больше нельзя" in response.content.decode()
    draft = ApplicationFactory(organization=company)
    company_client.post(reverse("applications:delete", args=[draft.public_id]))
    assert not Application.objects.filter(pk=draft.pk).exists()
    with pytest.raises(services.ApplicationError):
        services.application_save_tab(application=app, tab="company", values={}, actor=None)


def test_history_page_lists_steps(company_client, company, company_user):
    app = services.application_create(organization=company, actor=company_user)
    services.application_draft_saved(application=app, actor=company_user)
    html = company_client.get(reverse("applications:history", args=[app.public_id])).content.decode()
    assert "История заявки" in html and company_user.surname in html


def test_subsidy_is_an_honest_empty_page(company_client):
    response = company_client.get(reverse("applications:subsidy_list"))
    assert response.status_code == 200 and "empty-state" in response.content.decode()


def test_htmx_tab_switch_answers_the_partial_and_keeps_what_was_typed(company_client, company):
    app = ApplicationFactory(organization=company)
    response = company_client.post(stage_url(app, 1), {"tab": "company", "goto_tab": "head",
                                                       "company-bank_name": "АО «Банк»"},
                                   HTTP_HX_REQUEST="true", follow=True)
    html = response.content.decode()
    assert "<html" not in html and 'name="head-full_name"' in html
    assert response.headers["HX-Push-Url"].endswith("?tab=head")
    app.refresh_from_db()
    assert app.data["company"]["company-bank_name"] == "АО «Банк»"


def test_application_pdf_lists_the_fields_by_their_labels(company):
    from applications.services import application_document_pdf

    app = ApplicationFactory(organization=company, data=valid_tab_data())
    pdf = application_document_pdf(application=app)
    assert pdf.startswith(b"%PDF")


def test_admin_pages_render(admin_client, company):
    app = ApplicationFactory(organization=company, data=valid_tab_data())
    for url in (reverse("admin:applications_application_changelist"),
                reverse("admin:applications_application_changelist") + "?queue=now",
                reverse("admin:applications_application_change", args=[app.pk]),
                reverse("admin:applications_documenttype_changelist"),
                reverse("admin:applications_consenttype_changelist"),
                reverse("admin:applications_decisiondocument_changelist")):
        assert admin_client.get(url).status_code == 200, url


def test_developer_list_is_constant_in_queries_too(client, company, django_assert_max_num_queries):
    developer = OrganizationFactory(kind="developer")
    user = UserFactory(organization=developer)
    others = [OrganizationFactory() for _ in range(5)]
    Application.objects.bulk_create([Application(organization=others[i % 5], developer=developer,
                                                 project_name=f"П {i}") for i in range(300)])
    client.force_login(user)
    with django_assert_max_num_queries(8):
        html = client.get(reverse("applications:list")).content.decode()
    assert html.count("data-application=") == 20 and "Создать заявку" not in html


def test_generated_link_is_shown_once_and_opens_the_invitation(company_client, company, registry):
    app = ApplicationFactory(organization=company, data=valid_tab_data())
    response = company_client.post(stage_url(app, 1), {**valid_tab_data()["developer"], "tab": "developer",
                                                       "action": "generate_link"})
    link = re.search(r'data-generated-link>([^<]+)<', response.content.decode()).group(1)
    path = "/" + link.split("/", 3)[3]
    assert company_client.get(path).status_code == 200
    again = company_client.get(stage_url(app, 1, "developer")).content.decode()
    assert link not in again


def test_admin_shows_the_form_by_labels(admin_client, company):
    app = ApplicationFactory(organization=company, data=valid_tab_data())
    html = admin_client.get(reverse("admin:applications_application_change", args=[app.pk])).content.decode()
    assert "Номер банковского счета (ИИК)" in html and "KZ86125KZT5004100100" in html
    assert "Государственная" in html  # a choice shown by its label


def test_an_application_returned_by_bpms_is_revised_from_its_number_not_deleted(company_client, company):
    """Seed 002: the list's «Редактировать» / «Удалить» are for applications never sent; one KZhK
    returned is opened from its number and revised there (issue #12, defect 3)."""
    from django.utils import timezone

    app = ApplicationFactory(organization=company, status=Status.REVISION, sent_at=timezone.now())
    html = company_client.get(reverse("applications:list")).content.decode()
    assert reverse("applications:delete", args=[app.public_id]) not in html and "Редактировать" not in html
    assert reverse("applications:stage", args=[app.public_id, 1]) in html
    assert company_client.get(reverse("applications:stage", args=[app.public_id, 1])).status_code == 200
    company_client.post(reverse("applications:delete", args=[app.public_id]))
    assert Application.objects.filter(pk=app.pk).exists()


def test_only_the_tabs_own_fields_are_kept(company_client, company):
    app = ApplicationFactory(organization=company)
    company_client.post(stage_url(app, 1), {"tab": "head", "action": "save", "head-full_name": "Демов",
                                            "head-junk": "x" * 5000, "other": "y"})
    app.refresh_from_db()
    assert app.data["head"] == {"head-full_name": "Демов"}


def test_stage_pages_read_documents_and_consents_once(company_client, company, django_assert_max_num_queries,
                                                      settings):
    """The readiness reads every stage's document slots (two queries for all of them) and the
    consents; the stage page shows what it read instead of reading them again (issue #18)."""
    settings.PAGE_CACHE_SECONDS = 0  # the rendering's queries, not a page cache hit's
    from applications.tests.factories import ConsentTypeFactory, DocumentTypeFactory

    app = ApplicationFactory(organization=company, data=valid_tab_data(company_bin=company.bin))
    for stage in (2, 3):
        DocumentTypeFactory(stage=stage)
    ConsentTypeFactory()
    company_client.get(stage_url(app, 1))  # the session's last-seen write happens here
    # user, organization, the application, files + slots, consents + their types, badge (+ decisions)
    budget = {1: 8, 2: 8, 3: 8, 4: 9}
    for stage, most in budget.items():
        with django_assert_max_num_queries(most) as captured:
            response = company_client.get(stage_url(app, stage))
        assert response.status_code == 200
        files = [q["sql"] for q in captured.captured_queries if 'FROM "applications_applicationfile"' in q["sql"]]
        consents = [q["sql"] for q in captured.captured_queries if 'FROM "applications_consentdocument"' in q["sql"]]
        assert len(files) == 1 and len(consents) == 1, (stage, files, consents)
