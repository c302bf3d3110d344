"""Two parties sign the ДС at the same moment: the row lock makes exactly one of them move the
appeal to «Подписание ДС АО «КЖК»», once."""

import threading

import pytest
from django.db import connection

from appeals import services
from appeals.models import AppealHistory, AppealStatus

from .factories import AppealFactory

S = AppealStatus


@pytest.mark.django_db(transaction=True)
def test_simultaneous_ds_signatures_move_the_appeal_once():
    appeal = AppealFactory(status=S.DS_APPLICANT_SIGNING)
    barrier = threading.Barrier(2)
    errors = []

    def sign(organization, name):
        try:
            barrier.wait()
            services.appeal_ds_signed(appeal=appeal, organization=organization, signer=services.Signer(full_name=name))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sign, args=(appeal.organization, "Заявитель")),
               threading.Thread(target=sign, args=(appeal.contract.developer, "Застройщик"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    appeal.refresh_from_db()
    assert appeal.status == S.DS_KZHK_SIGNING
    assert appeal.signatures.count() == 2
    assert AppealHistory.objects.filter(appeal=appeal, event="status", status=S.DS_KZHK_SIGNING).count() == 1
