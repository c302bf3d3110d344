"""KZhK's signature on BPMS notices happens in the prepare step (outside bpms_bridge's
transaction); apply keeps a prepared document as it is."""

import base64

from applications import services
from applications.models import Status

PDF = b"%PDF-1.4 notice"


def test_revision_notice_is_issued_in_prepare_and_kept_by_apply(monkeypatch):
    issued = []
    monkeypatch.setattr(services, "_pdf_issue_by_kzhk", lambda *, pdf, title: issued.append(pdf) or b"SIGNED")
    event = {"seq": 3, "status": Status.REVISION, "payload": {},
             "documents": [{"name": "Замечания.pdf", "content_type": "application/pdf",
                            "data_b64": base64.b64encode(PDF).decode()}]}
    prepared = services.application_prepare_bpms_event(case_id="x", event=event)
    document = prepared["documents"][0]
    assert issued == [PDF]
    assert document["kzhk_issued"] is True and base64.b64decode(document["data_b64"]) == b"SIGNED"
    # apply's own issuing step leaves a prepared document alone
    assert services._issue_or_keep(b"SIGNED", document) == b"SIGNED"
    assert issued == [PDF]


def test_other_statuses_pass_through_untouched(monkeypatch):
    monkeypatch.setattr(services, "_pdf_issue_by_kzhk", lambda **kw: (_ for _ in ()).throw(AssertionError("signed")))
    event = {"seq": 4, "status": Status.APPROVED, "documents": [{"name": "a.pdf", "data_b64": "JVBERg=="}]}
    assert services.application_prepare_bpms_event(case_id="x", event=event) == event
