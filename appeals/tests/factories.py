"""Factories for appeals' tests."""

import factory

from appeals.models import Appeal, AppealCategory, AppealStatus, CategoryDocument
from tests.factories import ContractFactory, OrganizationFactory


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AppealCategory
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"cat-{n}")
    name_ru = factory.Sequence(lambda n: f"Изменение срока {n}")
    name_kk = factory.Sequence(lambda n: f"Мерзімді өзгерту {n}")
    contract_kind = "guarantee"


class CategoryDocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CategoryDocument

    category = factory.SubFactory(CategoryFactory)
    name_ru = "График производства работ"
    name_kk = "Жұмыстарды жүргізу кестесі"
    is_required = True


class AppealFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Appeal

    organization = factory.SubFactory(OrganizationFactory)
    contract = factory.SubFactory(
        ContractFactory, organization=factory.SelfAttribute("..organization"),
        developer=factory.SubFactory(OrganizationFactory, kind="developer"),
    )
    kind = "guarantee"
    category = factory.SubFactory(CategoryFactory)
    status = AppealStatus.DRAFT
    change_subject = "Срок ввода в эксплуатацию"
    value_from = "31.12.2025"
    value_to = "30.06.2026"
    justification = "Перенос сроков поставки лифтов"
