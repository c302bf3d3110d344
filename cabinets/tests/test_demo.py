import io

import pytest

from cabinets import demo
from cabinets.iin import iin_bin_make
from cabinets.models import FaqEntry, Survey, User

pytestmark = pytest.mark.django_db


def test_demo_is_idempotent_and_cabinet_users_can_log_in(client):
    out = io.StringIO()
    demo.seed(stdout=out)
    demo.seed(stdout=out)
    assert User.objects.filter(organization__bin=demo.DEMO_COMPANY_BIN).count() == 1
    assert Survey.objects.count() == 1 and FaqEntry.objects.count() == 4
    assert demo.DEMO_CABINET_PASSWORD in out.getvalue()
    response = client.post("/login/", {"tab": "bin", "bin": demo.DEMO_COMPANY_BIN, "password": demo.DEMO_CABINET_PASSWORD})
    assert response.status_code == 302


def test_demo_iins_match_the_signing_demo_people():
    signing_pki = pytest.importorskip("signing.pki")
    people = {p.slug: p.iin for p in signing_pki.demo_people()}
    for slug, first, *_rest in demo.DEMO_CABINET_USERS:
        assert people[slug] == iin_bin_make(first)
