"""Demo data of the guarantee applications (run by `manage.py seed_demo`, idempotent):
the document and consent lists staff maintain in admin, and a few applications of the demo УК."""

import datetime

from django.utils import timezone

from cabinets.demo import DEMO_COMPANY_BIN, DEMO_DEVELOPER_BIN
from cabinets.models import Contract, Organization
from homeportal.history import KZHK_ACTOR

from .models import Application, ApplicationHistory, ConsentType, DocumentType, Provider, Status
from .services import developer_attach_if_known

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

    company = Organization.objects.filter(bin=DEMO_COMPANY_BIN).first()
    developer = Organization.objects.filter(bin=DEMO_DEVELOPER_BIN).first()
    if company is None or Application.objects.filter(organization=company).exists():
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
