"""Every page of the app in Russian and in Kazakh shows no English msgid."""

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from appeals import services
from appeals.models import AppealStatus
from appeals.services import Document
from appeals.transitions import Actor

from .factories import AppealFactory, CategoryDocumentFactory

S = AppealStatus
MSGIDS = [m for m in json.loads((Path(settings.BASE_DIR) / "scripts/i18n/appeals.json").read_text())
          if len(m) > 12 and "%" not in m and "<" not in m]


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["ru", "kk"])
def test_pages_have_no_english_msgids(cabinet_client, cabinet_user, language):
    org = cabinet_user.organization
    draft = AppealFactory(organization=org)
    CategoryDocumentFactory(category=draft.category)
    revised = AppealFactory(organization=org, status=S.IN_REVIEW)
    services.appeal_transition(revised, to=S.REVISION, actor=Actor.BPMS,
                               payload={"revision_deadline": "2026-12-20", "document": Document("n.pdf", b"%PDF-1.4")})
    ds = AppealFactory(organization=org, status=S.APPROVED)
    services.appeal_transition(ds, to=S.DS_APPLICANT_SIGNING, actor=Actor.BPMS,
                               payload={"document": Document("ds.pdf", b"%PDF-1.4")})
    cabinet_client.cookies["homeportal_language"] = language
    pages = [
        cabinet_client.get(reverse("appeals:list")),
        cabinet_client.get(reverse("appeals:new")),
        cabinet_client.get(reverse("appeals:new_contract"), {"kind": "guarantee"}),
        cabinet_client.get(reverse("appeals:edit", args=[draft.public_id]), {"tab": "docs"}),
        cabinet_client.post(reverse("appeals:sign", args=[draft.public_id]), {}),
        cabinet_client.post(reverse("appeals:edit", args=[draft.public_id]), {"action": "sign"}),
        cabinet_client.get(reverse("appeals:history", args=[revised.public_id])),
        cabinet_client.get(reverse("appeals:ds", args=[ds.public_id])),
    ]
    for response in pages:
        html = response.content.decode()
        assert f'lang="{language}"' in html
        leaked = [m for m in MSGIDS if m in html]
        assert not leaked, (response.request["PATH_INFO"], leaked)
