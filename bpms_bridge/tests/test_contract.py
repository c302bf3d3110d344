"""The contract both sides share: the typed event (with read-only Mapping access), BPMS's
vocabulary, documents, and the webhook's HMAC signature."""

import base64
import contextlib
import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpms_bridge.contract import (
    ContractError,
    Document,
    Event,
    webhook_request,
    webhook_signature,
    webhook_verify,
)

RAW = {"seq": 7, "case_seq": 2, "case_id": "SB-2026-000001", "case_kind": "appeal", "external_id": "c1",
       "status": "registered", "occurred_at": "2026-11-23T10:05:00+05:00",
       "payload": {"registration_number": "01-1", "registered_at": "2026-11-23T10:05:00+05:00",
                   "deadline": "2026-12-03T10:05:00+05:00", "executor_number": "ВН-1"},
       "documents": [{"name": "a.pdf", "content_type": "application/pdf", "data_b64": base64.b64encode(b"%PDF").decode(),
                      "kind": "avr", "marker": True}]}


def test_typed_attributes_and_the_portals_names():
    event = Event.from_wire(RAW)
    assert event.seq == 7 and event.case_seq == 2 and event.bpms_case_id == "SB-2026-000001"
    assert event.occurred_at == dt.datetime(2026, 11, 23, 10, 5, tzinfo=dt.timezone(dt.timedelta(hours=5)))
    assert event.payload["review_deadline"] == RAW["payload"]["deadline"]  # a registration's deadline
    assert event.payload["internal_number"] == "ВН-1" and event.payload["executor_number"] == "ВН-1"
    assert event.documents[0].content == b"%PDF" and event.documents[0].kind == "avr"
    revision = Event.from_wire({**RAW, "status": "revision", "payload": {"deadline": "2026-12-01", "notes": "Нет"}})
    assert revision.payload["revision_deadline"] == "2026-12-01" and "review_deadline" not in revision.payload
    assert revision.comment == "Нет"


def test_read_only_mapping_gives_the_json_form_domains_read():
    event = Event.from_wire(RAW)
    assert event["status"] == "registered" and event.get("seq") == 7 and event.get("nope") is None
    assert event["occurred_at"] == "2026-11-23T10:05:00+05:00"
    assert event["documents"][0] == {**RAW["documents"][0]}
    copy = {**event}  # what a domain's prepare step returns
    assert set(copy) == {"seq", "case_seq", "status", "occurred_at", "payload", "documents"}
    event["payload"]["registration_number"] = "changed"  # a fresh dict: the event itself cannot change
    assert event.payload["registration_number"] == "01-1"
    with pytest.raises(TypeError):
        event.payload["x"] = 1
    with pytest.raises(AttributeError):
        event.status = "approved"


def test_prepared_changes_come_back_typed():
    event = Event.from_wire(RAW)
    signed = event.with_changes(documents=[{**event["documents"][0], "data_b64": base64.b64encode(b"%PDF-signed").decode()}])
    assert signed.documents[0].content == b"%PDF-signed" and signed.documents[0].extra["marker"] is True
    assert event.documents[0].content == b"%PDF"
    assert Document.from_wire(signed.documents[0]) is signed.documents[0]


@pytest.mark.parametrize("bad", [
    None, [], {}, {**RAW, "seq": 0}, {**RAW, "seq": -1}, {**RAW, "seq": True}, {**RAW, "case_seq": "x"},
    {**RAW, "occurred_at": "2026-11-23T10:05:00"}, {**RAW, "occurred_at": "yesterday"}, {**RAW, "payload": []},
    {**RAW, "documents": {}}, {**RAW, "documents": [{"name": "a", "data_b64": "%%%"}]}, {**RAW, "documents": ["x"]},
])
def test_what_the_contract_refuses(bad):
    with pytest.raises(ContractError):
        Event.from_wire(bad)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["seq", "case_seq", "case_kind", "external_id", "status", "occurred_at",
                                        "payload", "documents", "case_id"]),
                       st.one_of(st.none(), st.integers(), st.text(), st.lists(st.integers()), st.dictionaries(st.text(), st.text()))))
def test_any_json_is_an_event_or_a_contract_error(raw):
    with contextlib.suppress(ContractError):
        Event.from_wire(raw)


def test_webhook_signature_round_trip_and_tolerance():
    body, headers = webhook_request(secret="s3cret", events=[RAW], now=1_000_000)
    header = headers["X-BPMS-Signature"]
    assert header == webhook_signature(secret="s3cret", timestamp=1_000_000, body=body)
    assert webhook_verify(secret="s3cret", header=header, body=body, now=1_000_100)
    assert not webhook_verify(secret="other", header=header, body=body, now=1_000_100)
    assert not webhook_verify(secret="s3cret", header=header, body=body + b" ", now=1_000_100)
    assert not webhook_verify(secret="s3cret", header=header, body=body, now=1_000_000 + 301)
    for junk in ("", "t=x,v1=y", "v1=abc", "garbage"):
        assert not webhook_verify(secret="s3cret", header=junk, body=body, now=1_000_000)
