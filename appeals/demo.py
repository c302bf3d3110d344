"""Demo categories (with «Иное») and a few appeals of the demo company in various statuses
(`manage.py seed_demo`, idempotent: appeals are made only when the company has none)."""

import datetime

from django.utils import timezone
from django.utils.translation import pgettext, pgettext_lazy

from cabinets.models import Contract, Organization

from . import services
from .models import Appeal, AppealCategory, AppealFile, AppealHistory, CategoryDocument
from .models import AppealStatus as S
from .transitions import Actor

# (code, contract kind, ru, kk, asks_values, asks_justification, documents [(ru, kk, required)])
CATEGORIES = [
    ("term-commissioning", "guarantee", "Изменение срока ввода объекта в эксплуатацию",
     "Объектіні пайдалануға беру мерзімін өзгерту", True, True,
     [("График производства работ", "Жұмыстарды жүргізу кестесі", True),
      ("Заключение инжиниринговой компании", "Инжинирингтік компанияның қорытындысы", False)]),
    ("project-parameters", "guarantee", "Изменение параметров объекта (площадь, количество квартир)",
     "Объект параметрлерін өзгерту (аудан, пәтерлер саны)", True, True,
     [("Проектно-сметная документация", "Жобалау-сметалық құжаттама", True)]),
    ("requisites", "", "Изменение реквизитов стороны договора", "Шарт тарабының деректемелерін өзгерту", True, False,
     [("Справка о государственной регистрации", "Мемлекеттік тіркеу туралы анықтама", True)]),
    ("subsidy-schedule", "subsidy", "Изменение графика субсидирования", "Субсидиялау кестесін өзгерту", True, True,
     [("Письмо банка второго уровня", "Екінші деңгейдегі банктің хаты", True)]),
]

MINIMAL_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def _categories() -> None:
    services.category_other_ensure()
    for order, (code, kind, ru, kk, values, justification, docs) in enumerate(CATEGORIES):
        category, created = AppealCategory.objects.get_or_create(
            code=code, defaults={"contract_kind": kind, "name_ru": ru, "name_kk": kk, "asks_values": values,
                                 "asks_justification": justification, "sort_order": (order + 1) * 10},
        )
        if created:
            for i, (doc_ru, doc_kk, required) in enumerate(docs):
                CategoryDocument.objects.create(category=category, name_ru=doc_ru, name_kk=doc_kk,
                                                is_required=required, sort_order=i)


def _kzhk_pdf(appeal: Appeal, title, lines: list) -> bytes:
    try:
        return services.kzhk_document_pdf(appeal=appeal, title=title, lines=lines)
    except Exception:  # noqa: BLE001 - the demo still works without the test PKI / WeasyPrint
        return MINIMAL_PDF


def _ds_pdf(appeal: Appeal) -> bytes:
    def agreed():
        return pgettext("pdf", "The parties to contract № %(number)s have agreed: %(subject)s — «%(value)s».") % {
            "number": appeal.contract.number, "subject": appeal.change_subject or appeal.other_text,
            "value": appeal.value_to}

    try:
        return services.kzhk_document_render(appeal=appeal, title=pgettext_lazy("pdf", "Supplementary agreement"),
                                             lines=[agreed])
    except Exception:  # noqa: BLE001
        return MINIMAL_PDF


def _appeal(company, contract, category, status_path, **fields) -> Appeal:
    sent_at = timezone.now() - datetime.timedelta(days=10)
    # The demo appeal was formed a little before it was sent (history rows are written once: at that time).
    formed = sent_at - datetime.timedelta(hours=2) if status_path else None
    appeal = services.appeal_create(organization=company, user=None, contract=contract, category=category, now=formed)
    for name, value in fields.items():
        setattr(appeal, name, value)
    appeal.save(update_fields=list(fields))
    if status_path:
        AppealFile.objects.create(appeal=appeal, file=_stored_letter(appeal), original_name="Письмо-обращение.pdf",
                                  size=len(MINIMAL_PDF), content_type="application/pdf")
    for target in status_path:
        if target == S.SENT:
            appeal = services.appeal_signed(appeal=appeal, signer=services.Signer(
                full_name="ДЕМОВ АЛЕКСЕЙ ПЕТРОВИЧ", iin="800101300123", bin=company.bin,
                organization_name=company.name_ru), now=sent_at)
            continue
        payload = {
            S.REGISTERED: {"registration_number": f"КЖК-ОБР-{appeal.pk:05d}", "review_deadline": (
                timezone.localdate() + datetime.timedelta(days=12)).isoformat()},
            S.IN_REVIEW: {"executor_name": "Сапарова Айгерим Болатовна", "internal_number": f"ВН-{appeal.pk:04d}"},
            S.REVISION: {"revision_deadline": (timezone.localdate() + datetime.timedelta(days=5)).isoformat(),
                         "document": services.Document("Уведомление о доработке.pdf", _kzhk_pdf(
                             appeal, pgettext_lazy("pdf", "Notice that the appeal needs to be revised"),
                             [pgettext_lazy("pdf", "Attach the engineering company's conclusion.")]))},
            S.APPROVED: {},
            S.DS_APPLICANT_SIGNING: {"document": services.Document("Дополнительное соглашение.pdf", _ds_pdf(appeal))},
        }[target]
        appeal = services.appeal_transition(appeal, to=target, actor=Actor.BPMS, payload=payload)
    return appeal


def _stored_letter(appeal: Appeal) -> str:
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    return default_storage.save(f"appeals/{appeal.public_id}/letter.pdf", ContentFile(MINIMAL_PDF))


def seed(*, stdout) -> None:
    from cabinets.demo import DEMO_COMPANY_BIN

    _categories()
    company = Organization.objects.filter(bin=DEMO_COMPANY_BIN).first()
    if company is None or Appeal.objects.filter(organization=company).exists():
        stdout.write("  Appeals: categories in place")
        return
    contracts = list(Contract.objects.filter(organization=company, kind=Contract.Kind.GUARANTEE, is_active=True)
                     .order_by("signed_on"))
    if not contracts:
        return
    term = AppealCategory.objects.get(code="term-commissioning")
    other = AppealCategory.objects.get(code="other")
    values = {"change_subject": "Срок ввода объекта в эксплуатацию", "value_from": "31.12.2025",
              "value_to": "30.09.2026", "justification": "Задержка поставки лифтового оборудования."}
    _appeal(company, contracts[0], other, [], other_text="Просим уточнить порядок предоставления отчётности.")
    _appeal(company, contracts[0], term, [S.SENT, S.REGISTERED], **values)
    _appeal(company, contracts[-1], term, [S.SENT, S.REGISTERED, S.IN_REVIEW, S.REVISION], **values)
    _appeal(company, contracts[-1], term, [S.SENT, S.REGISTERED, S.IN_REVIEW, S.APPROVED, S.DS_APPLICANT_SIGNING],
            **values)
    stdout.write(f"  Appeals: categories and {AppealHistory.objects.filter(appeal__organization=company).values('appeal').distinct().count()} demo appeals of {company.name_ru}")
