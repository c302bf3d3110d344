"""Demo organizations, people and contracts (run by `manage.py seed_demo`, idempotent)."""

import datetime

from django.conf import settings

from .models import Contract, LegalEntityRecord, Organization, User

# BINs from the manuals (seed 002/003); both pass the check-digit rule.
DEMO_COMPANY_BIN = "160340003066"
DEMO_DEVELOPER_BIN = "150240008272"
DEMO_STAFF_USERNAME = "moderator"
DEMO_STAFF_PASSWORD = "Moderator-2026!"

REGISTRY = [
    (DEMO_COMPANY_BIN, "ТОО «Демо Уполномоченная Компания»", "«Демо Уәкілетті Компания» ЖШС", "г. Астана, ул. Достык, 13"),
    (DEMO_DEVELOPER_BIN, "ТОО «Демо Застройщик»", "«Демо Құрылыс салушы» ЖШС", "г. Алматы, пр. Абая, 1"),
]

CONTRACTS = [
    ("ДЛГ-23-02-064/147", datetime.date(2023, 7, 20),
     "Многоквартирный жилой комплекс со встроенными помещениями, образовательным учреждением", Contract.Kind.GUARANTEE),
    ("ДЛГ 02-05-202/5", datetime.date(2025, 6, 30), "Тестовый проект от 02.07.2025", Contract.Kind.GUARANTEE),
    ("ДЛГ 78-78-787/878", datetime.date(2024, 7, 10), "Тестовый другой договор", Contract.Kind.GUARANTEE),
    ("ДС-24-01-015/12", datetime.date(2024, 3, 15), "Жилой комплекс «Нурлы Жол», субсидирование ставки", Contract.Kind.SUBSIDY),
]


def seed(*, stdout) -> None:
    for bin_, name_ru, name_kk, address in REGISTRY:
        LegalEntityRecord.objects.get_or_create(
            bin=bin_, defaults={"name_ru": name_ru, "name_kk": name_kk, "legal_address": address}
        )
    company, _ = Organization.objects.get_or_create(
        bin=DEMO_COMPANY_BIN, defaults={"name_ru": REGISTRY[0][1], "name_kk": REGISTRY[0][2]}
    )
    developer, _ = Organization.objects.get_or_create(
        bin=DEMO_DEVELOPER_BIN,
        defaults={"name_ru": REGISTRY[1][1], "name_kk": REGISTRY[1][2], "kind": Organization.Kind.DEVELOPER},
    )
    for number, signed_on, project, kind in CONTRACTS:
        Contract.objects.get_or_create(
            organization=company, kind=kind, number=number,
            defaults={"signed_on": signed_on, "project_name": project, "developer": developer},
        )
    if not User.objects.filter(username=DEMO_STAFF_USERNAME).exists():
        User.objects.create_superuser(
            DEMO_STAFF_USERNAME, DEMO_STAFF_PASSWORD, surname="Модератор", name="КЖК", email="moderator@khc.kz"
        )
    stdout.write(f"  KZhK moderator (admin {settings.PORTAL_BASE_URL}/admin/): {DEMO_STAFF_USERNAME} / {DEMO_STAFF_PASSWORD}")
