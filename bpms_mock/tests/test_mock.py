# ruff: noqa: S310 — the local mock over http://127.0.0.1 only
"""The BPMS Simbase mock over HTTP (a real process): idempotent intake, the feed, operator
actions, documents, fault switches, the signed webhook, the operator page and the generated
OpenAPI document."""

import base64
import datetime as dt
import json
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bpms_bridge.contract import webhook_verify
from bpms_bridge.workcalendar import registration_moment
from bpms_mock.testing import MockProcess, free_port


def submit(mock, external_id="a1", key="k1", kind="submit", case_kind="appeal", payload=None):
    return mock.call("POST", "/api/messages", {"case_kind": case_kind, "external_id": external_id, "kind": kind,
                                               "payload": payload or {}}, headers={"Idempotency-Key": key})


def test_submit_is_idempotent_by_key(bpms_mock):
    status, first = submit(bpms_mock)
    assert status == 201 and first["case_id"].startswith("SB-")
    status, again = submit(bpms_mock)
    assert status == 200 and again["duplicate"] is True and again["case_id"] == first["case_id"]
    assert bpms_mock.stats()["cases"] == 1 and bpms_mock.stats()["messages"] == 1


def test_auth_and_validation(bpms_mock):
    assert bpms_mock.call("GET", "/api/events", token="wrong")[0] == 401
    assert bpms_mock.call("POST", "/api/messages", {"case_kind": "appeal"}, headers={"Idempotency-Key": "x"})[0] == 400
    assert submit(bpms_mock, kind="signed_ds", external_id="nobody")[0] == 404
    assert bpms_mock.call("GET", "/api/openapi.json", token="")[1]["openapi"].startswith("3.")


def test_operator_route_emits_ordered_events_with_documents(bpms_mock):
    _, answer = submit(bpms_mock, payload={"category": "schedule"})
    for action in ("register", "assign", "approve", "prepare_ds"):
        status, _ = bpms_mock.action(action, case_kind="appeal", external_id="a1")
        assert status == 200, action
    # Not allowed now: the applicant must sign the ДС first.
    assert bpms_mock.action("sign_ds", case_kind="appeal", external_id="a1")[0] == 409
    # The portal sends the signed ДС back -> ds_kzhk_signing, then KZhK signs.
    assert submit(bpms_mock, kind="signed_ds", key="k2", payload={"documents": []})[0] == 201
    assert bpms_mock.action("sign_ds", case_kind="appeal", external_id="a1")[0] == 200
    events = bpms_mock.events()
    assert [e["status"] for e in events] == ["registered", "in_review", "approved", "ds_applicant_signing", "ds_kzhk_signing", "ds_signed"]
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    assert [e["case_seq"] for e in events] == [1, 2, 3, 4, 5, 6]
    registration = events[0]["payload"]
    case = bpms_mock.call("GET", f"/api/cases/{answer['case_id']}")[1]
    received = dt.datetime.fromisoformat(case["received_at"])
    assert registration["registered_at"] == registration_moment(received).isoformat()
    assert registration["registration_number"] and registration["deadline"] > registration["registered_at"]
    assert events[1]["payload"]["executor_name"] and events[1]["payload"]["executor_number"]
    ds = events[3]["documents"][0]
    assert ds["content_type"] == "application/pdf" and base64.b64decode(ds["data_b64"]).startswith(b"%PDF")
    assert events[-1]["payload"]["final"] is True
    assert bpms_mock.events(after=events[2]["seq"])[0]["status"] == "ds_applicant_signing"


def test_revision_with_notes_and_resubmit(bpms_mock):
    submit(bpms_mock)
    bpms_mock.action("register", case_kind="appeal", external_id="a1")
    bpms_mock.action("assign", case_kind="appeal", external_id="a1", executor="Иванов И. И.")
    bpms_mock.action("revision", case_kind="appeal", external_id="a1", notes="Нет приложения №2")
    submit(bpms_mock, kind="resubmit", key="k2")
    assert bpms_mock.action("assign", case_kind="appeal", external_id="a1")[0] == 200
    events = bpms_mock.events()
    assert events[1]["payload"]["executor_name"] == "Иванов И. И."
    assert events[2]["status"] == "revision" and events[2]["payload"]["notes"] == "Нет приложения №2"
    assert events[2]["payload"]["deadline"] > events[2]["occurred_at"]
    assert events[2]["documents"][0]["name"].endswith(".pdf")
    assert events[-1]["status"] == "in_review"
    # The operator page links the revision notice for download.
    with urllib.request.urlopen(f"{bpms_mock.url}/cases/{events[2]['case_id']}/events/{events[2]['seq']}/documents/0") as r:
        assert r.headers["Content-Type"] == "application/pdf" and r.read().startswith(b"%PDF")
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(f"{bpms_mock.url}/cases/{events[2]['case_id']}/events/{events[2]['seq']}/documents/9")


def test_fault_switches(bpms_mock):
    bpms_mock.faults(fail_500=True)
    assert submit(bpms_mock)[0] == 500
    bpms_mock.faults(reset=True, drop_every=2)
    outcomes = []
    for i in range(4):
        try:
            outcomes.append(submit(bpms_mock, external_id=f"d{i}", key=f"d{i}")[0])
        except (urllib.error.URLError, ConnectionError, OSError):
            outcomes.append("dropped")
        except Exception as exc:  # http.client.RemoteDisconnected and friends
            outcomes.append(type(exc).__name__)
    assert outcomes.count(201) == 2 and len([o for o in outcomes if o != 201]) == 2
    bpms_mock.faults(reset=True, delay_before=1.5)
    with pytest.raises((TimeoutError, urllib.error.URLError, OSError)):
        bpms_mock.call(
            "POST", "/api/messages", {"case_kind": "appeal", "external_id": "slow", "kind": "submit", "payload": {}},
            headers={"Idempotency-Key": "slow"}, timeout=0.5)
    bpms_mock.faults(reset=True)
    assert bpms_mock.call("GET", "/admin/faults")[1]["fail_500"] is False


def test_operator_page_advances_a_case(bpms_mock):
    _, answer = submit(bpms_mock)
    case_url = f"{bpms_mock.url}/cases/{answer['case_id']}"
    html = urllib.request.urlopen(case_url).read().decode()
    assert "Зарегистрировать" in html and "data-status='sent'" in html
    req = urllib.request.Request(case_url + "/action", data=b"action=register", method="POST")
    html = urllib.request.urlopen(req).read().decode()  # follows the 303
    assert "data-status='registered'" in html and "01-" in html
    req = urllib.request.Request(case_url + "/action", data=b"action=approve", method="POST")
    assert "approve is not allowed" in urllib.request.urlopen(req).read().decode()
    assert answer["case_id"] in urllib.request.urlopen(bpms_mock.url + "/").read().decode()


def test_autopilot_walks_the_scripted_route(tmp_path):
    mock = MockProcess(tmp_path / "m.sqlite3", autopilot=True, pace=0.2).start()
    try:
        submit(mock, case_kind="application", external_id="g1")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(mock.events()) < 3:
            time.sleep(0.1)
        assert [e["status"] for e in mock.events()] == ["registered", "in_review", "approved"]
    finally:
        mock.stop()


def test_signed_webhook_is_posted(tmp_path):
    received = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers.get("X-BPMS-Signature", ""), body))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    mock = MockProcess(tmp_path / "m.sqlite3", webhook_url=f"http://127.0.0.1:{port}/hook", webhook_secret="s3cret").start()
    try:
        submit(mock)
        mock.action("register", case_kind="appeal", external_id="a1")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not received:
            time.sleep(0.05)
        header, body = received[0]
        assert webhook_verify(secret="s3cret", header=header, body=body)
        assert not webhook_verify(secret="other", header=header, body=body)
        assert json.loads(body)["events"][0]["status"] == "registered"
    finally:
        mock.stop()
        server.shutdown()


def test_openapi_document_in_docs_matches_the_mock(bpms_mock):
    """docs/bpms-openapi.json is generated from the mock's routes (`python -m bpms_mock --openapi`)."""
    from pathlib import Path

    from bpms_mock.app import openapi_document

    spec = openapi_document()
    committed = json.loads((Path(__file__).resolve().parents[2] / "docs" / "bpms-openapi.json").read_text())
    assert committed == spec, "regenerate: python -m bpms_mock --openapi > docs/bpms-openapi.json"
    assert bpms_mock.call("GET", "/api/openapi.json", token="")[1] == spec
    assert {"/api/messages", "/api/events", "/api/cases/{case_id}", "/admin/faults"} <= set(spec["paths"])


def test_the_event_schema_is_the_contracts():
    from bpms_bridge.contract import DOCUMENT_FIELDS, EVENT_FIELDS
    from bpms_mock.app import openapi_document

    schemas = openapi_document()["components"]["schemas"]
    assert tuple(schemas["Event"]["properties"]) == EVENT_FIELDS
    assert set(schemas["Event"]["required"]) == set(EVENT_FIELDS)
    assert set(DOCUMENT_FIELDS) <= set(schemas["Document"]["required"])


@pytest.mark.parametrize("query", ["after=-99999999999999999999999", "after=-1", "after=abc", "limit=0", "limit=5000",
                                   "after=99999999999999999999999"])
def test_feed_parameters_are_validated_not_500(bpms_mock, query):
    status, answer = bpms_mock.call("GET", f"/api/events?{query}")
    assert status == 400 and answer["error"]


def test_bad_bodies_are_400_not_500(bpms_mock):
    for path in ("/admin/faults", "/admin/actions", "/admin/emit", "/admin/autopilot"):
        assert bpms_mock.call("POST", path, ["not", "an", "object"])[0] == 400, path
    assert bpms_mock.call("POST", "/admin/faults", {"no_such_switch": 1})[0] == 400
    assert bpms_mock.call("POST", "/admin/faults", {"delay_before": -1})[0] == 400


def test_procfile_command_line_starts_with_defaults(tmp_path):
    """`python -m bpms_mock --port $BPMS_PORT` (the Procfile line): SQLite under
    $HOMEPORTAL_VAR_DIR/bpms-mock/, the autopilot on."""
    import os
    import subprocess
    import sys

    from bpms_mock.testing import ROOT

    port = free_port()
    env = {**os.environ, "HOMEPORTAL_VAR_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    for key in ("BPMS_MOCK_DB", "BPMS_MOCK_AUTOPILOT", "BPMS_MOCK_PACE"):
        env.pop(key, None)
    proc = subprocess.Popen([sys.executable, "-m", "bpms_mock", "--port", str(port)], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    assert json.loads(r.read())["status"] == "ok"
                    break
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/").read().decode()
        assert "Автопилот: <strong>включён</strong>, шаг 25 с." in page
        assert (tmp_path / "bpms-mock" / "mock.sqlite3").exists()
    finally:
        proc.terminate()
        proc.wait(10)


def test_application_route_and_avr_document(bpms_mock):
    submit(bpms_mock, case_kind="application", external_id="g1")
    for action in ("register", "assign", "send_avr", "approve"):
        assert bpms_mock.action(action, case_kind="application", external_id="g1")[0] == 200, action
    assert bpms_mock.action("revision", case_kind="application", external_id="g1")[0] == 409  # not after approval
    events = bpms_mock.events()
    assert [e["status"] for e in events] == ["registered", "in_review", "in_review", "approved"]
    avr = events[2]["documents"][0]
    assert avr["kind"] == "avr" and base64.b64decode(avr["data_b64"]).startswith(b"%PDF")
    assert events[-1]["payload"]["final"] is True
