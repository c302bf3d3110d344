import io

import pytest

from applications import demo
from applications.models import Application, ConsentType, DocumentType

pytestmark = pytest.mark.django_db


def test_seed_is_idempotent():
    from cabinets import demo as cabinets_demo

    cabinets_demo.seed(stdout=io.StringIO())
    demo.seed(stdout=io.StringIO())
    counts = (DocumentType.objects.count(), ConsentType.objects.count(), Application.objects.count())
    demo.seed(stdout=io.StringIO())
    assert counts == (DocumentType.objects.count(), ConsentType.objects.count(), Application.objects.count())
    assert counts[0] >= 10 and ConsentType.objects.filter(service="guarantee").count() == 3
    assert Application.objects.filter(service="guarantee").count() == 2
    assert DocumentType.objects.filter(stage=3, provider="developer").exists()
