"""«Субсидирование»: the second service on the same wizard — its create modal and list, the loan
stage's format-logical control (ru/kk, at the field), the subsidy route through moderation, BPMS
and the signed agreement, which becomes a subsidy contract that «Субсидирование» appeals list."""

import base64

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import translation

from applications import definitions, selectors, services
from applications.models import Application, ConsentType, DecisionDocument, DocumentType, Status
from applications.tests.factories import PDF_BYTES, ApplicationFactory, valid_subsidy_data
from applications.tests.test_workflow import WORKING, developer_signer, sign_with_demo_key
from cabinets.models import Contract
from tests.factories import ContractFactory

pytestmark = pytest.mark.django_db


def loan_form(**overrides):
    data = valid_subsidy_data()
    data["loan"] = {**data["loan"], **{f"loan-{k}": v for k, v in overrides.items()}}
    return definitions.LOAN.bind(data["loan"], context=data)


def schedule_formset(rows, **loan):
    data = valid_subsidy_data()
    data["loan"] = {**data["loan"], **{f"loan-{k}": v for k, v in loan.items()}}
    data["schedule"] = rows
    return definitions.SCHEDULE.bind(rows, context=data)


def test_valid_subsidy_tabs():
    data = valid_subsidy_data()
    for code in definitions.SUBSIDY.tabs:
        form = definitions.SUBSIDY.tabs[code].bind(data[code], context=data)
        assert form.is_valid(), (code, form.errors)


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_loan_rules_at_the_field_in_both_languages(language):
    with translation.override(language):
        cases = {
            "subsidised_rate": ({"subsidised_rate": "20"}, "The rate to subsidise cannot exceed the nominal rate of the loan."),
            "amount": ({"amount": "0"}, "The amount must be greater than zero."),
            "bank_bik": ({"bank_bik": "XXXXKZKX"}, None),  # not a bank of the list
            "nominal_rate": ({"nominal_rate": "150"}, "Enter a rate greater than 0 and not above 100 %."),
            "term_months": ({"term_months": "0"}, "Enter the term in months, from 1 to 360."),
            "agreement_date": ({"agreement_date": "2999-01-01"}, "The date cannot be in the future."),
        }
        for name, (overrides, message) in cases.items():
            form = loan_form(**overrides)
            assert not form.is_valid() and name in form.errors, name
            if message:
                assert form.errors[name] == [translation.gettext(message)]
        if language == "kk":  # the Kazakh catalogue is used, not the English msgid
            assert translation.gettext("The amount must be greater than zero.") != "The amount must be greater than zero."


def test_schedule_sum_and_dates_are_checked_against_the_loan():
    ok = schedule_formset([{"date": "2025-03-01", "amount": "1000000000"}, {"date": "2025-09-01", "amount": "500000000"}])
    assert ok.is_valid()
    short = schedule_formset([{"date": "2025-03-01", "amount": "1000000000"}])
    assert not short.is_valid()
    assert "1\u00a0500\u00a0000\u00a0000,00" in short.non_form_errors()[0]
    early = schedule_formset([{"date": "2025-01-01", "amount": "1500000000"}])
    assert not early.is_valid() and "date" in early.forms[0].errors
    late = schedule_formset([{"date": "2028-03-01", "amount": "1500000000"}])  # after 36 months
    assert not late.is_valid() and "date" in late.forms[0].errors
    # Changing the loan amount makes the schedule incomplete again (🟢 off).
    app = ApplicationFactory(service="subsidy", data=valid_subsidy_data())
    assert selectors.tab_is_valid(app, "schedule")
    app.data["loan"]["loan-amount"] = "2000000000"
    assert not selectors.tab_is_valid(app, "schedule")


def test_subsidy_list_create_modal_and_stage_two(company, company_user, client):
    client.force_login(company_user)
    ContractFactory(organization=company, kind="guarantee", number="ДЛГ-1", project_name="ЖК «Демо»")
    subsidy_contract = ContractFactory(organization=company, kind="subsidy", number="СУБ-7", project_name="ЖК «Демо»")
    page = client.get(reverse("applications:subsidy_list")).content.decode()
    assert "Создать заявку" in page and reverse("applications:subsidy_create") in page
    modal = client.get(reverse("applications:subsidy_create"), HTTP_HX_REQUEST="true").content.decode()
    assert "Создание заявки на субсидирование" in modal
    assert "Заявка подается в рамках действующего договора субсидирования?" in modal
    assert "СУБ-7" in modal and "ДЛГ-1" not in modal  # the service's own contracts
    response = client.post(reverse("applications:subsidy_create"), {"under_contract": "yes", "contract": subsidy_contract.pk})
    app = Application.objects.get()
    assert response.status_code == 302 and app.service == "subsidy" and app.contract == subsidy_contract
    # The project is prefilled, with the guarantee contract of the same project.
    assert app.data["loan"] == {"loan-financed_project": "ЖК «Демо»", "loan-guarantee_contract": "ДЛГ-1 / " +
                                Contract.objects.get(number="ДЛГ-1").signed_on.strftime("%d.%m.%Y")}
    listing = client.get(reverse("applications:subsidy_list")).content.decode()
    assert "На создании" in listing and str(app.public_id) in listing
    assert str(app.public_id) not in client.get(reverse("applications:list")).content.decode()
    stage2 = client.get(reverse("applications:stage", args=[app.public_id, 2])).content.decode()
    assert "Информация о кредите" in stage2 and "Условия кредита" in stage2 and "График выдачи кредита" in stage2
    assert "HSBKKZKX — АО «Народный Банк Казахстана»" in stage2
    # A wrong rate: the message at the field, everything typed kept.
    posted = {"tab": "loan", "action": "save", **valid_subsidy_data()["loan"], "loan-subsidised_rate": "25"}
    page = client.post(reverse("applications:stage", args=[app.public_id, 2]), posted, follow=True).content.decode()
    assert "Субсидируемая ставка не может превышать номинальную ставку по кредиту." in page
    app.refresh_from_db()
    assert app.data["loan"]["loan-subsidised_rate"] == "25" and app.data["loan"]["loan-agreement_number"] == "КД-2025/17"
    # The schedule: «+ Добавить ещё» adds a block of the repeatable tab on stage 2.
    add = {"tab": "schedule", "ds-TOTAL_FORMS": "1", "ds-INITIAL_FORMS": "0", "ds-0-date": "2025-03-01",
           "ds-0-amount": "100", "ds-ADD": "1"}
    page = client.post(reverse("applications:stage", args=[app.public_id, 2]), add).content.decode()
    assert page.count('class="repeat-block"') == 2 and "Выдача 2" in page


def complete_subsidy(company, user):
    """A subsidy application with every part filled by both parties (the lists are migration 0007's)."""
    app = ApplicationFactory(organization=company, service="subsidy", data=valid_subsidy_data())
    services.application_save_tab(application=app, tab="developer", values=app.data["developer"], actor=user)
    invitation = services.invitation_send(application=app, actor=user)
    developer_user = services.invitation_accept(invitation=invitation, signer=developer_signer())
    app.refresh_from_db()
    for dt in DocumentType.objects.filter(service="subsidy"):
        who = user if dt.provider == "company" else developer_user
        services.file_upload(application=app, document_type=dt, uploaded_file=ContentFile(PDF_BYTES, name="d.pdf"),
                             actor=who, provider=dt.provider)
    for ct in ConsentType.objects.filter(service="subsidy"):
        who = user if ct.provider == "company" else developer_user
        consent = services.consent_form(application=app, consent_type=ct, actor=who)
        services.consent_mark_signed(consent=consent, signer_name=who.full_name, actor=who)
    return app, developer_user


def test_readiness_uses_the_subsidy_definition(company, company_user, registry):
    app, _dev = complete_subsidy(company, company_user)
    readiness = selectors.application_readiness(app)
    assert readiness.complete, readiness.missing
    assert set(readiness.tabs) == {"company", "shareholders", "head", "project", "developer", "loan", "schedule"}
    assert readiness.parts["developer"] == {3: True, 4: True}
    keys = [item["key"] for item in selectors.checklist(app)]
    assert keys[-1] == "loan" and len(keys) == DocumentType.objects.filter(service="subsidy").count() + 1


def test_subsidy_route_to_the_signed_agreement_and_the_appeal(client, company, company_user, registry,
                                                              django_capture_on_commit_callbacks):
    app, dev_user = complete_subsidy(company, company_user)
    with django_capture_on_commit_callbacks(execute=True):
        services.application_send_to_moderation(application=app, actor=company_user, now=WORKING)
    app.refresh_from_db()
    items = [{"name": i["name"], "ok": True, "remark": ""} for i in selectors.checklist(app)]
    services.moderation_decide(application=app, moderator=company_user, items=items, now=WORKING)
    services.application_signed(application=app, actor=company_user)
    app.refresh_from_db()
    assert app.status == Status.SENT
    from bpms_bridge.models import OutboxMessage

    assert OutboxMessage.objects.filter(case_kind="subsidy", case_id=str(app.public_id), kind="submit").exists()
    case = str(app.public_id)
    pdf = base64.b64encode(PDF_BYTES).decode()
    for seq, status, extra in (
        (1, Status.REGISTERED, {"payload": {"registration_number": "СУБ-2026/0001"}}),
        (2, Status.IN_REVIEW, {}),
        (3, Status.SUBSIDY_APPROVED, {}),
        (4, Status.AGREEMENT_SIGNING, {"documents": [{"name": "dogovor.pdf", "content_type": "application/pdf",
                                                      "data_b64": pdf, "kind": "subsidy_agreement",
                                                      "title": "Договор субсидирования"}]}),
    ):
        event = {"seq": seq, "status": status, "occurred_at": "2026-11-20T12:00:00+05:00", **extra}
        event = services.application_prepare_bpms_event(case_id=case, event=event)
        services.application_apply_bpms_event(case_id=case, event=event)
    app.refresh_from_db()
    assert app.status == Status.AGREEMENT_SIGNING
    agreement = DecisionDocument.objects.get(application=app, kind=DecisionDocument.Kind.SUBSIDY_AGREEMENT)
    assert agreement.signed_document.parties.count() == 2
    for user, slug in ((company_user, "company_head_sign"), (dev_user, "developer_head_sign")):
        client.force_login(user)
        client.post(reverse("applications:decision_sign", args=[app.public_id, agreement.pk]))
        assert sign_with_demo_key(client, None, slug).json()["ok"]
    app.refresh_from_db()
    assert app.status == Status.AGREEMENT_SIGNED
    contract = app.issued_contract
    assert (contract.kind, contract.organization, contract.number) == ("subsidy", company, "ДС-СУБ-2026/0001")
    assert contract.amount == 1500000000 and contract.developer == app.developer
    history = [e.label for e in selectors.history_of(app)]
    assert "Заявка одобрена, подготовка договора субсидирования" in history
    assert "Договор субсидирования подписан" in history
    # «Корректировка» → «Субсидирование» lists the contract.
    client.force_login(company_user)
    html = client.get(reverse("appeals:new_contract"), {"kind": "subsidy"}).content.decode()
    assert "ДС-СУБ-2026/0001" in html


def test_another_services_document_or_consent_is_404(company, company_user, client):
    client.force_login(company_user)
    app = ApplicationFactory(organization=company, service="subsidy", data=valid_subsidy_data())
    guarantee_doc = DocumentType.objects.create(stage=3, name_ru="Гарантийный", name_kk="Кепілдік")
    guarantee_consent = ConsentType.objects.create(name_ru="Согласие (гарантирование)", name_kk="Келісім")
    upload = client.post(reverse("applications:upload", args=[app.public_id, guarantee_doc.pk]),
                         {"files": ContentFile(PDF_BYTES, name="a.pdf")})
    assert upload.status_code == 404
    form = client.post(reverse("applications:consent_form", args=[app.public_id, guarantee_consent.pk]))
    assert form.status_code == 404 and not app.consents.exists()


def test_one_url_shape_for_both_services_and_old_links_lead_there(company, company_user, client):
    client.force_login(company_user)
    guarantee = ApplicationFactory(organization=company)
    subsidy = ApplicationFactory(organization=company, service="subsidy", data=valid_subsidy_data())
    for app in (guarantee, subsidy):
        url = reverse("applications:stage", args=[app.public_id, 2])
        assert url == f"/applications/{app.public_id}/stage/2/"
        assert client.get(url).status_code == 200
        # An address of the old shape (sent in e-mails before): permanent, the query kept; a POST keeps its method.
        old = client.get(f"/applications/guarantee/{app.public_id}/stage/2/?tab=loan")
        assert (old.status_code, old["Location"]) == (301, f"{url}?tab=loan")
        post = client.post(f"/applications/guarantee/{app.public_id}/moderation/")
        assert (post.status_code, post["Location"]) == (308, reverse("applications:send_to_moderation",
                                                                     args=[app.public_id]))
    assert client.get("/applications/guarantee/").status_code == 200  # the lists keep their service's address
    assert client.get("/applications/subsidy/").status_code == 200


def test_the_mock_routes_share_one_review_route():
    from bpms_mock import routes

    common = {"register", "assign", "revision", "reject", "approve"}
    for kind in ("appeal", "application", "subsidy"):
        assert common <= set(routes.ROUTES[kind]["actions"]), kind
    assert routes.ROUTES["application"]["actions"]["approve"]["final"] is True
    assert "final" not in routes.ROUTES["subsidy"]["actions"]["approve"]
    assert routes.ROUTES["subsidy"]["autopilot"] == ["register", "assign", "approve", "send_agreement"]
    assert routes.allowed_actions("subsidy", "subsidy_approved") == ["send_agreement"]


@pytest.mark.parametrize(("language", "label"), [("ru", "Заявка рассмотрена, необходимо доработать"),
                                                 ("kk", "Өтінім қаралды, пысықтау қажет")])
def test_subsidy_status_names_are_the_issues(language, label):
    app = ApplicationFactory.build(service="subsidy", status=Status.REVISION)
    with translation.override(language):
        assert app.status_label == label
        names = [definitions.SUBSIDY.status_label(s) for s in (Status.DRAFT, Status.SUBSIDY_APPROVED)]
    assert names == {"ru": ["На создании", "Заявка одобрена, подготовка договора субсидирования"],
                     "kk": ["Жасауда", "Өтінім мақұлданды, субсидиялау шарты дайындалуда"]}[language]


def test_the_bank_list_is_well_formed():
    """The seeds have no bank list (seed 003 only names the «БИК» field): the data file is ours.
    Each entry is a Kazakh BIC (SWIFT form, country code KZ), once, with a ru and a kk name."""
    from cabinets.validators import validate_bik

    banks = definitions.banks()
    assert len(banks) == 22
    for bank in banks:
        validate_bik(bank["bik"])
        assert bank["bik"][4:6] == "KZ" and bank["name_ru"] and bank["name_kk"], bank
    assert len({b["bik"] for b in banks}) == len(banks)
    assert definitions.bank_name("HSBKKZKX", "kk") == "«Қазақстан Халық Банкі» АҚ"


def test_each_service_is_a_bpms_case_kind_whose_review_ends_at_the_decision():
    from bpms_bridge.registry import case_kind

    assert case_kind("application").final_statuses == {"rejected", "approved"}
    assert case_kind("subsidy").final_statuses == {"rejected", "subsidy_approved", "agreement_signing",
                                                       "agreement_signed"}
