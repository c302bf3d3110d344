"""factory_boy factories shared by every app's tests."""

import datetime

import factory

from cabinets.iin import iin_bin_make
from cabinets.models import Contract, Organization, User


def valid_kz_number(prefix: str, seq: int) -> str:
    """A 12-digit IIN/BIN with a correct check digit, unique per sequence number."""
    width = 11 - len(prefix)
    return iin_bin_make(f"{prefix}{seq:0{width}d}"[:11], step=10**width)


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("bin",)

    bin = factory.Sequence(lambda n: valid_kz_number("2004400", n))
    name_ru = factory.Sequence(lambda n: f"ТОО «Компания {n}»")
    name_kk = factory.Sequence(lambda n: f"«Компания {n}» ЖШС")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    iin = factory.Sequence(lambda n: valid_kz_number("8501013", n))
    username = factory.LazyAttribute(lambda o: User.cabinet_username(bin=o.organization.bin, iin=o.iin))
    surname = "Иванов"
    name = "Иван"
    patronymic = "Иванович"
    email = factory.Sequence(lambda n: f"user{n}@example.kz")
    mobile = "+77011234567"
    password = factory.PostGenerationMethodCall("set_password", "Passw0rd!")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ContractFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contract

    organization = factory.SubFactory(OrganizationFactory)
    number = factory.Sequence(lambda n: f"ДЛГ-26-01-{n:03d}/1")
    signed_on = datetime.date(2025, 6, 30)
    project_name = factory.Sequence(lambda n: f"Жилой комплекс №{n}")
