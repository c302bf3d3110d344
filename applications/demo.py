"""Demo data of the guarantee and subsidy applications (run by `manage.py seed_demo`, idempotent):
the document and consent lists staff maintain in admin, and a few applications of the demo УК."""

import datetime

from django.utils import timezone

from cabinets.demo import DEMO_COMPANY_BIN, DEMO_DEVELOPER_BIN
from cabinets.models import Contract, Organization
from homeportal.history import KZHK_ACTOR

from .models import Application, ApplicationHistory, ConsentType, DocumentType, Provider, ServiceCode, Status
from .services import developer_attach_if_known
from .subsidy_data import seed_subsidy_lists

DOCUMENT_TYPES = [
    # stage, order, name_ru, name_kk, required, provider
    (2, 10, "Устав организации", "Ұйымның жарғысы", True, Provider.COMPANY),
    (2, 20, "Справка о государственной регистрации (перерегистрации) юридического лица",
     "Заңды тұлғаны мемлекеттік тіркеу (қайта тіркеу) туралы анықтама", True, Provider.COMPANY),
    (2, 30, "Решение уполномоченного органа о назначении первого руководителя",
     "Бірінші басшыны тағайындау туралы уәкілетті органның шешімі", True, Provider.COMPANY),
    (2, 40, "Финансовая отчетность за последний отчетный год", "Соңғы есепті жылғы қаржылық есептілік", True,
     Provider.COMPANY),
    (2, 50, "Устав застройщика", "Құрылыс салушының жарғысы", True, Provider.DEVELOPER),
    (2, 60, "Лицензия застройщика на строительно-монтажные работы",
     "Құрылыс салушының құрылыс-монтаж жұмыстарына лицензиясы", True, Provider.DEVELOPER),
    (2, 70, "Иные корпоративные документы", "Өзге корпоративтік құжаттар", False, Provider.COMPANY),
    (3, 10, "ПСД с положительным заключением комплексной вневедомственной экспертизы (файлы)",
     "Кешенді ведомстводан тыс сараптаманың оң қорытындысы бар ЖСҚ (файлдар)", True, Provider.DEVELOPER),
    (3, 20, "Правоустанавливающие документы на земельный участок",
     "Жер учаскесіне құқық белгілейтін құжаттар", True, Provider.DEVELOPER),
    (3, 30, "Уведомление о начале производства строительно-монтажных работ",
     "Құрылыс-монтаж жұмыстарын жүргізудің басталғаны туралы хабарлама", True, Provider.DEVELOPER),
    (3, 40, "Договор генерального подряда", "Бас мердігерлік шарты", True, Provider.COMPANY),
    (3, 50, "График производства работ и финансирования", "Жұмыстарды жүргізу және қаржыландыру кестесі", True,
     Provider.COMPANY),
]

CONSENT_TYPES = [
    (10, "Согласие на сбор и обработку персональных данных", "Дербес деректерді жинауға және өңдеуге келісім",
     Provider.COMPANY),
    (20, "Согласие на предоставление сведений из кредитного бюро", "Кредиттік бюродан мәліметтер беруге келісім",
     Provider.COMPANY),
    (30, "Согласие на получение проектно-сметной документации по заявленному проекту",
     "Мәлімделген жоба бойынша жобалық-сметалық құжаттаманы алуға келісім", Provider.DEVELOPER),
]


def seed(*, stdout) -> None:
    for stage, order, name_ru, name_kk, required, provider in DOCUMENT_TYPES:
        DocumentType.objects.get_or_create(
            service="guarantee", stage=stage, name_ru=name_ru,
            defaults={"name_kk": name_kk, "required": required, "provider": provider, "order": order},
        )
    for order, name_ru, name_kk, provider in CONSENT_TYPES:
        ConsentType.objects.get_or_create(service="guarantee", name_ru=name_ru, defaults={"name_kk": name_kk, "provider": provider, "order": order})

    seed_subsidy_lists(DocumentType, ConsentType)

    company = Organization.objects.filter(bin=DEMO_COMPANY_BIN).first()
    developer = Organization.objects.filter(bin=DEMO_DEVELOPER_BIN).first()
    if company is not None and not Application.objects.filter(organization=company, service=ServiceCode.SUBSIDY).exists():
        _seed_subsidy(company, developer, stdout=stdout)
    if company is None or Application.objects.filter(organization=company, service=ServiceCode.GUARANTEE).exists():
        return
    now = timezone.now()
    contract = Contract.objects.filter(organization=company, number="ДЛГ-23-02-064/147").first()
    draft = Application.objects.create(
        organization=company, contract=contract, developer_bin=DEMO_DEVELOPER_BIN,
        project_name=contract.project_name if contract else "Многоквартирный жилой комплекс",
        data={
            "company": {"company-name_ru": company.name_ru, "company-name_kk": company.name_kk,
                        "company-bin": company.bin, "company-legal_address": "г. Астана, ул. Достык, 13",
                        "company-actual_same": "on"},
            "project": {"project-project_name": contract.project_name if contract else ""},
            "developer": {"developer-bin": DEMO_DEVELOPER_BIN,
                          "developer-name": developer.name_ru if developer else ""},
        },
        created_at=now, updated_at=now,
    )
    ApplicationHistory.objects.create(application=draft, event="created", status=Status.DRAFT, created_at=now,
                                      actor_name=company.name_ru)
    developer_attach_if_known(application=draft)  # the demo developer already has a cabinet
    sent_at = now - datetime.timedelta(days=20)
    registered = Application.objects.create(
        organization=company, developer=developer, developer_bin=DEMO_DEVELOPER_BIN, status=Status.REGISTERED,
        project_name="Тестовый проект от 02.07.2025", registration_number="ГАР-2025/0147",
        registered_at=sent_at, due_date=(sent_at + datetime.timedelta(days=30)).date(), sent_at=sent_at,
        created_at=sent_at - datetime.timedelta(days=3), updated_at=sent_at,
    )
    for at, to in ((sent_at - datetime.timedelta(days=3), Status.DRAFT), (sent_at, Status.SENT),
                   (sent_at + datetime.timedelta(hours=2), Status.REGISTERED)):
        ApplicationHistory.objects.create(application=registered, event="created" if to == Status.DRAFT else "status",
                                          status=to, created_at=at,
                                          actor_name=KZHK_ACTOR if to == Status.REGISTERED else company.name_ru)
    stdout.write(f"  Guarantee applications: {DocumentType.objects.count()} document types, "
                 f"{ConsentType.objects.count()} consents, 2 demo applications of {company.bin}")


# --- «Субсидирование» (our design, docs/applications.md) ----------------------------------------

SUBSIDY_PROJECT = "Жилой комплекс «Нурлы Жол», субсидирование ставки"


def _subsidy_data(company, developer) -> dict:
    """Every tab of a subsidy application filled in (the demo УК's own details)."""
    return {
        "company": {"company-name_ru": company.name_ru, "company-name_kk": company.name_kk, "company-bin": company.bin,
                    "company-legal_address": "г. Астана, ул. Достык, 13", "company-actual_same": "on",
                    "company-phone": "+77011234567", "company-email": "head@demo-uk.kz",
                    "company-iik": "KZ86125KZT5004100100", "company-bik": "KCJBKZKX", "company-kbe": "17",
                    "company-bank_name": "АО «Банк ЦентрКредит»"},
        "shareholders": [{"name": "Демов Алексей Петрович", "bin_iin": "850101300015", "share": "100",
                          "registered_on": "2016-03-01"}],
        "head": {"head-full_name": "Демов Алексей Петрович", "head-iin": "850101300015", "head-position": "Директор",
                 "head-appointment_document": "Приказ", "head-appointment_number": "1-к",
                 "head-appointed_on": "2020-01-10", "head-phone": "+77011234567", "head-email": "head@demo-uk.kz"},
        "project": {"project-project_name": SUBSIDY_PROJECT, "project-region": "г. Астана",
                    "project-address": "пр. Туран, 55", "project-multi_storey": "yes", "project-individual_housing": "no",
                    "project-ms_buildings": "3", "project-ms_floors": "16", "project-ms_apartments": "480",
                    "project-ms_area": "32000", "project-start_on": "2024-04-01", "project-end_on": "2027-06-30",
                    "project-cost": "24000000000"},
        "developer": {"developer-bin": DEMO_DEVELOPER_BIN, "developer-name": developer.name_ru if developer else "",
                      "developer-phone": "+77017654321", "developer-email": "head@demo-zastroy.kz"},
        "loan": {"loan-bank_bik": "HSBKKZKX", "loan-agreement_number": "КД-2024/0815",
                 "loan-agreement_date": "2024-03-20", "loan-amount": "6000000000", "loan-currency": "KZT",
                 "loan-nominal_rate": "19,5", "loan-subsidised_rate": "10", "loan-term_months": "48",
                 "loan-purpose": "Строительство жилого комплекса «Нурлы Жол»",
                 "loan-financed_project": SUBSIDY_PROJECT, "loan-guarantee_contract": ""},
        "schedule": [{"date": "2024-04-15", "amount": "3000000000"}, {"date": "2024-10-15", "amount": "3000000000"}],
    }


def _seed_subsidy(company, developer, *, stdout) -> None:
    """Two subsidy applications: a draft under the demo subsidy contract (stage 2 half typed), and
    one in «Заявка на рассмотрении» — with the BPMS mock running it goes on to the approval and
    «Подписание договора субсидирования», which the УК and the developer then sign."""
    from bpms_bridge.workcalendar import add_working_time

    from .services import application_transition
    from .transitions import Actor

    now = timezone.now()
    contract = Contract.objects.filter(organization=company, kind=Contract.Kind.SUBSIDY).first()
    data = _subsidy_data(company, developer)
    draft = Application.objects.create(
        organization=company, service=ServiceCode.SUBSIDY, contract=contract, developer_bin=DEMO_DEVELOPER_BIN,
        project_name=contract.project_name if contract else SUBSIDY_PROJECT, created_at=now, updated_at=now,
        data={"company": data["company"], "developer": data["developer"],
              "loan": {k: v for k, v in data["loan"].items() if k in (
                  "loan-bank_bik", "loan-agreement_number", "loan-financed_project")}},
    )
    ApplicationHistory.objects.create(application=draft, event="created", status=Status.DRAFT, created_at=now,
                                      actor_name=company.name_ru)
    developer_attach_if_known(application=draft)

    sent_at = now - datetime.timedelta(days=3)
    review = Application.objects.create(
        organization=company, service=ServiceCode.SUBSIDY, developer_bin=DEMO_DEVELOPER_BIN, data=data,
        project_name=SUBSIDY_PROJECT, created_at=sent_at - datetime.timedelta(days=1), updated_at=sent_at,
    )
    ApplicationHistory.objects.create(application=review, event="created", status=Status.DRAFT,
                                      created_at=review.created_at, actor_name=company.name_ru)
    developer_attach_if_known(application=review)
    review = application_transition(review, to=Status.SENT, actor=Actor.COMPANY, now=sent_at,
                                    actor_name=company.name_ru)
    registered_at = sent_at + datetime.timedelta(hours=2)
    review = application_transition(review, to=Status.REGISTERED, actor=Actor.BPMS, now=registered_at, payload={
        "registration_number": "СУБ-2026/0001", "registered_at": registered_at,
        "due_date": timezone.localdate(add_working_time(registered_at, days=8))})  # the route's 8 working days
    application_transition(review, to=Status.IN_REVIEW, actor=Actor.BPMS, now=sent_at + datetime.timedelta(days=1))
    stdout.write(f"  Subsidy applications: {DocumentType.objects.filter(service='subsidy').count()} document types, "
                 f"2 demo applications of {company.bin} (a draft, one in review)")
