"""Seed 004's route (regulation «Тұрғын үй көмегін тағайындау», East Kazakhstan akimat,
2015): ten numbered steps with their durations and an 8-working-day total term. Seeded as the
default review route of appeals and of guarantee applications (data migration 0002)."""

SEED_004_TERM_WORKING_DAYS = 8

# (number, title_kk (the regulation's wording, shortened), title_ru, duration, unit)
SEED_004_STEPS = [
    (1, "Өтінішті және құжаттарды қабылдау, қолхат беру", "Приём заявления и документов, выдача расписки", 20, "minutes"),
    (2, "Құжаттар топтамасын көрсетілетін қызметті берушінің маманына жолдау", "Направление пакета документов специалисту услугодателя", 460, "minutes"),
    (3, "Құжаттар топтамасын тексеру және тіркеу", "Проверка и регистрация пакета документов", 15, "minutes"),
    (4, "Есептеу жүргізу", "Проведение расчёта", 1, "working_days"),
    (5, "Хабарламаны қалыптастыру", "Формирование уведомления", 1, "working_days"),
    (6, "Құжаттар топтамасын және хабарламаны басшыға қол қою үшін беру", "Передача пакета документов и уведомления руководителю на подпись", 1, "working_days"),
    (7, "Қол қойылғаннан кейін құжаттарды маманға беру", "Передача подписанных документов специалисту", 15, "minutes"),
    (8, "Нәтижені жолдау", "Направление результата", 1, "working_days"),
    (9, "Көрсетілетін қызмет берушіден келіп түскен құжаттарды қабылдау", "Приём документов, поступивших от услугодателя", 15, "minutes"),
    (10, "Көрсетілетін қызмет алушыға хабарламаны беру", "Выдача уведомления услугополучателю", 1, "minutes"),
]

SEED_004_ROUTES = [
    ("appeal", "", "Рассмотрение обращения (по регламенту, 8 рабочих дней)", "Өтінішті қарау (регламент бойынша, 8 жұмыс күні)"),
    ("application", "", "Рассмотрение заявки на гарантию (по регламенту, 8 рабочих дней)", "Кепілдікке өтінімді қарау (регламент бойынша, 8 жұмыс күні)"),
    # Subsidy applications (our design, docs/applications.md): the same regulated steps and term
    # until KZhK publishes a subsidy regulation; data migration 0004.
    ("subsidy", "", "Рассмотрение заявки на субсидирование (по регламенту, 8 рабочих дней)", "Субсидиялауға өтінімді қарау (регламент бойынша, 8 жұмыс күні)"),
]


def seed_routes(route_model, step_model) -> int:
    """Create the seed routes that do not exist yet (idempotent); returns how many were made."""
    made = 0
    for case_kind, category, title_ru, title_kk in SEED_004_ROUTES:
        route, created = route_model.objects.get_or_create(
            case_kind=case_kind, category=category,
            defaults={"title_ru": title_ru, "title_kk": title_kk, "total_working_days": SEED_004_TERM_WORKING_DAYS},
        )
        if not created:
            continue
        made += 1
        step_model.objects.bulk_create(
            step_model(route=route, number=n, title_kk=kk, title_ru=ru, duration=d, unit=u)
            for n, kk, ru, d, u in SEED_004_STEPS
        )
    return made
