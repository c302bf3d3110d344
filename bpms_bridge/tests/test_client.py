"""The BPMS HTTP client against an HTTP test double (respx): headers, timeouts, the bounded
retries, and how each failure is classified for the outbox."""

import json

import httpx
import pytest
import respx

from bpms_bridge import client

BASE = "http://bpms.test"


@pytest.fixture(autouse=True)
def bpms_settings(settings):
    settings.BPMS_BASE_URL = BASE
    settings.BPMS_API_TOKEN = "t0ken"
    settings.BPMS_HTTP_TIMEOUT = 3.0


@respx.mock(base_url=BASE)
def test_send_message_posts_json_with_the_token_and_the_key(respx_mock):
    route = respx_mock.post("/api/messages").mock(return_value=httpx.Response(201, json={"case_id": "SB-1", "message_id": 7}))
    answer = client.send_message(case_kind="appeal", case_id="c1", kind="submit", payload={"a": 1}, idempotency_key="k1")
    assert answer == {"case_id": "SB-1", "message_id": 7}
    request = route.calls.last.request
    assert request.headers["Authorization"] == "Bearer t0ken" and request.headers["Idempotency-Key"] == "k1"
    assert json.loads(request.content) == {"case_kind": "appeal", "external_id": "c1", "kind": "submit", "payload": {"a": 1}}


@respx.mock(base_url=BASE)
def test_the_feed_is_read_after_the_cursor(respx_mock):
    route = respx_mock.get("/api/events").mock(return_value=httpx.Response(200, json={"events": [{"seq": 5}], "last_seq": 5}))
    assert client.fetch_events(after=4, limit=100) == [{"seq": 5}]
    assert dict(route.calls.last.request.url.params) == {"after": "4", "limit": "100"}


@respx.mock(base_url=BASE)
def test_a_get_answered_503_is_tried_once_more(respx_mock):
    route = respx_mock.get("/api/events").mock(side_effect=[
        httpx.Response(503), httpx.Response(200, json={"events": [], "last_seq": 0})])
    assert client.fetch_events(after=0) == []
    assert route.call_count == 2


@respx.mock(base_url=BASE)
def test_a_post_is_not_repeated_by_the_client(respx_mock):
    """The outbox owns the retries of messages (backoff, dead letters): one call here."""
    route = respx_mock.post("/api/messages").mock(return_value=httpx.Response(503))
    with pytest.raises(client.BpmsError) as failure:
        client.send_message(case_kind="appeal", case_id="c1", kind="submit", payload={}, idempotency_key="k1")
    assert route.call_count == 1 and failure.value.status == 503 and not failure.value.permanent


@pytest.mark.parametrize(("status", "permanent"), [(400, True), (401, True), (404, False), (409, False), (429, False),
                                                   (500, False)])
@respx.mock(base_url=BASE)
def test_failures_are_classified_for_the_outbox(respx_mock, status, permanent):
    respx_mock.post("/api/messages").mock(return_value=httpx.Response(status, json={"error": "no"}))
    with pytest.raises(client.BpmsError) as failure:
        client.send_message(case_kind="appeal", case_id="c1", kind="submit", payload={}, idempotency_key="k1")
    assert failure.value.permanent is permanent and failure.value.status == status


@pytest.mark.parametrize("error", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("cut")])
@respx.mock(base_url=BASE)
def test_no_answer_is_a_retryable_error(respx_mock, error):
    respx_mock.get("/api/events").mock(side_effect=error)
    with pytest.raises(client.BpmsError) as failure:
        client.fetch_feed(after=0)
    assert not failure.value.permanent and failure.value.status is None


@respx.mock(base_url=BASE)
def test_an_answer_that_is_not_json_or_not_a_feed(respx_mock):
    respx_mock.get("/api/events").mock(side_effect=[httpx.Response(200, text="<html>"), httpx.Response(200, json={"x": 1})])
    with pytest.raises(client.BpmsError, match="not JSON"):
        client.fetch_feed(after=0)
    with pytest.raises(client.BpmsError, match="events list"):
        client.fetch_feed(after=0)


def test_timeouts_and_transport_retries_come_from_settings(settings):
    settings.BPMS_HTTP_TIMEOUT = 2.5
    settings.BPMS_HTTP_RETRIES = 4
    http = client._http()
    assert http.timeout.read == 2.5 and http.timeout.connect == 2.5
    assert http._transport._pool._retries == 4
