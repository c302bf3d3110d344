import io

import pytest

from appeals import demo
from appeals.models import Appeal, AppealCategory
from appeals.models import AppealStatus as S


@pytest.mark.django_db
def test_demo_seeds_categories_and_appeals_idempotently(monkeypatch):
    from cabinets import demo as cabinets_demo

    cabinets_demo.seed(stdout=io.StringIO())
    monkeypatch.setattr(demo, "_kzhk_pdf", lambda *a, **k: demo.MINIMAL_PDF)
    monkeypatch.setattr(demo, "_ds_pdf", lambda *a, **k: demo.MINIMAL_PDF)
    demo.seed(stdout=io.StringIO())
    demo.seed(stdout=io.StringIO())
    assert AppealCategory.objects.filter(code="other", is_other=True).exists()
    statuses = sorted(Appeal.objects.values_list("status", flat=True))
    assert statuses == sorted([S.DRAFT, S.REGISTERED, S.REVISION, S.DS_APPLICANT_SIGNING])
