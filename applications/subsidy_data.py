"""The subsidy service's document slots (stage 3) and consents (stage 4) as data: our design
(docs/applications.md), seeded by migration 0007 and by `seed_demo`; KZhK staff maintain them in
the admin («Перечень документов», «Перечень согласий») like guarantee's."""

# (name_ru, name_kk, required, provider)
SUBSIDY_DOCUMENTS = (
    ("Договор банковского займа", "Банктік қарыз шарты", True, "company"),
    ("Решение уполномоченного органа банка о предоставлении кредита",
     "Банктің уәкілетті органының кредит беру туралы шешімі", True, "company"),
    ("График погашения кредита", "Кредитті өтеу кестесі", True, "company"),
    ("Проектная документация (разрешение на строительство, положительное заключение экспертизы)",
     "Жобалық құжаттама (құрылысқа рұқсат, сараптаманың оң қорытындысы)", True, "developer"),
)
# (name_ru, name_kk, provider)
SUBSIDY_CONSENTS = (
    ("Согласие на сбор и обработку персональных данных", "Дербес деректерді жинауға және өңдеуге келісім", "company"),
    ("Согласие на получение сведений из кредитного бюро", "Кредиттік бюродан мәліметтер алуға келісім", "company"),
    ("Согласие застройщика на сбор и обработку персональных данных",
     "Құрылыс салушының дербес деректерді жинауға және өңдеуге келісімі", "developer"),
)


def seed_subsidy_lists(document_type_model, consent_type_model) -> int:
    """Creates the subsidy lists that do not exist yet (idempotent); returns how many were made."""
    made = 0
    for order, (name_ru, name_kk, required, provider) in enumerate(SUBSIDY_DOCUMENTS, 1):
        _obj, created = document_type_model.objects.get_or_create(
            service="subsidy", stage=3, name_ru=name_ru,
            defaults={"name_kk": name_kk, "required": required, "provider": provider, "order": order},
        )
        made += created
    for order, (name_ru, name_kk, provider) in enumerate(SUBSIDY_CONSENTS, 1):
        _obj, created = consent_type_model.objects.get_or_create(
            service="subsidy", name_ru=name_ru, defaults={"name_kk": name_kk, "provider": provider, "order": order},
        )
        made += created
    return made
