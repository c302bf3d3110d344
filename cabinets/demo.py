"""Demo organizations, people and contracts (run by `manage.py seed_demo`, idempotent)."""

import datetime

from django.conf import settings

from .demo_identities import DEMO_COMPANY_BIN, DEMO_DEVELOPER_BIN, REGISTRY
from .iin import iin_bin_make
from .models import (
    Contract,
    FaqEntry,
    FaqGroup,
    LegalEntityRecord,
    Organization,
    Survey,
    SurveyChoice,
    SurveyQuestion,
    User,
)

DEMO_STAFF_USERNAME = "moderator"
DEMO_STAFF_PASSWORD = "Moderator-2026!"
# Cabinet users: the same people (IIN) as the demo key files of signing/pki.py, so the
# «ЭЦП/QR» login works with var/pki/keys/company_head_AUTH_RSA256.p12 as well.
DEMO_CABINET_PASSWORD = "Demo-2026!"
DEMO_CABINET_USERS = [
    # (signing demo slug, first 11 digits of the IIN, surname, name, patronymic, BIN, e-mail, mobile)
    ("company_head", "80010130012", "ДЕМОВ", "АЛЕКСЕЙ", "ПЕТРОВИЧ", DEMO_COMPANY_BIN, "head@demo-uk.kz", "+77011230001"),
    ("developer_head", "78040430045", "ЖУМАБЕКОВ", "ЕРЛАН", "СЕРИКОВИЧ", DEMO_DEVELOPER_BIN, "head@demo-dev.kz",
     "+77011230002"),
]

FAQ = [
    ("Регистрация и вход", "Тіркеу және кіру", [
        ("Как зарегистрироваться в личном кабинете?", "Жеке кабинетте қалай тіркелуге болады?",
         "Нажмите «Регистрация», загрузите ЭЦП юридического лица и введите пароль, заполните электронную почту и "
         "мобильный номер, подпишите лицензионное соглашение, подтвердите одноразовый код и СМС код и создайте пароль.",
         "«Тіркеу» батырмасын басып, заңды тұлғаның ЭЦҚ-сын жүктеп, паролін енгізіңіз, электрондық пошта мен ұялы "
         "нөмірді толтырыңыз, лицензиялық келісімге қол қойыңыз, бір реттік код пен СМС-кодты растап, пароль жасаңыз."),
        ("Какими способами можно войти?", "Қандай тәсілдермен кіруге болады?",
         "Тремя способами: электронная почта и разовый код, БИН и пароль, ЭЦП или QR-код eGov Business.",
         "Үш тәсілмен: электрондық пошта және бір реттік код, БСН және пароль, ЭЦҚ немесе eGov Business QR-коды."),
        ("Что делать, если я забыл пароль?", "Құпия сөзді ұмытсам не істеу керек?",
         "Нажмите «Забыли пароль?», введите электронную почту, указанную при регистрации, и одноразовый код из письма.",
         "«Құпия сөзді ұмыттыңыз ба?» батырмасын басып, тіркеу кезінде көрсетілген электрондық поштаны және хаттағы "
         "бір реттік кодты енгізіңіз."),
    ]),
    ("Заявки", "Өтінімдер", [
        ("Какой максимальный размер файла?", "Файлдың ең үлкен көлемі қандай?",
         "Один файл — не более 600 Мб; в одно поле можно загрузить несколько файлов.",
         "Бір файл — 600 Мб-тан аспайды; бір өріске бірнеше файл жүктеуге болады."),
    ]),
]


def _seed_cabinet_users(*, stdout) -> None:
    for _slug, first, surname, name, patronymic, bin_, email, mobile in DEMO_CABINET_USERS:
        organization = Organization.objects.get(bin=bin_)
        iin = iin_bin_make(first)
        username = User.cabinet_username(bin=bin_, iin=iin)
        if not User.objects.filter(username=username).exists():
            User.objects.create_user(
                username, DEMO_CABINET_PASSWORD, organization=organization, iin=iin, surname=surname, name=name,
                patronymic=patronymic, email=email, mobile=mobile,
            )
        stdout.write(f"  Cabinet login (БИН/Пароль): BIN {bin_} / {DEMO_CABINET_PASSWORD}   "
                     f"(e-mail code: {email}; {surname} {name}, {organization.name_ru})")


def _seed_faq_and_survey() -> None:
    for position, (title_ru, title_kk, entries) in enumerate(FAQ):
        group, _ = FaqGroup.objects.get_or_create(title_ru=title_ru, defaults={"title_kk": title_kk, "position": position})
        for number, (q_ru, q_kk, a_ru, a_kk) in enumerate(entries):
            FaqEntry.objects.get_or_create(group=group, question_ru=q_ru, defaults={
                "question_kk": q_kk, "answer_ru": a_ru, "answer_kk": a_kk, "position": number})
    survey, created = Survey.objects.get_or_create(
        title_ru="Оценка качества услуг АО «КЖК»",
        defaults={"title_kk": "«ҚТК» АҚ қызметтерінің сапасын бағалау",
                  "description_ru": "Ответьте, пожалуйста, на несколько вопросов.",
                  "description_kk": "Бірнеше сұраққа жауап беріңіз."},
    )
    if not created:
        return
    q = SurveyQuestion.objects.create(survey=survey, position=1, kind=SurveyQuestion.Kind.SINGLE,
                                      text_ru="Как Вы оцениваете работу личного кабинета?",
                                      text_kk="Жеке кабинеттің жұмысын қалай бағалайсыз?")
    for n, (ru, kk) in enumerate([("Отлично", "Өте жақсы"), ("Хорошо", "Жақсы"), ("Плохо", "Нашар")]):
        SurveyChoice.objects.create(question=q, position=n, text_ru=ru, text_kk=kk)
    q = SurveyQuestion.objects.create(survey=survey, position=2, kind=SurveyQuestion.Kind.MULTIPLE, required=False,
                                      text_ru="Какими услугами Вы пользуетесь?", text_kk="Қандай қызметтерді пайдаланасыз?")
    for n, (ru, kk) in enumerate([("Гарантирование", "Кепілдік"), ("Субсидирование", "Субсидиялау"),
                                  ("Корректировка", "Түзету")]):
        SurveyChoice.objects.create(question=q, position=n, text_ru=ru, text_kk=kk)
    SurveyQuestion.objects.create(survey=survey, position=3, kind=SurveyQuestion.Kind.YES_NO,
                                  text_ru="Порекомендуете ли Вы личный кабинет коллегам?",
                                  text_kk="Жеке кабинетті әріптестеріңізге ұсынасыз ба?")
    SurveyQuestion.objects.create(survey=survey, position=4, kind=SurveyQuestion.Kind.TEXT, required=False,
                                  text_ru="Ваши предложения", text_kk="Сіздің ұсыныстарыңыз")


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
    _seed_cabinet_users(stdout=stdout)
    _seed_faq_and_survey()
    stdout.write(f"  KZhK moderator (admin {settings.PORTAL_BASE_URL}/admin/): {DEMO_STAFF_USERNAME} / {DEMO_STAFF_PASSWORD}")
