"""The mock's behaviour: accepting messages, operator actions, the autopilot, faults and the
webhook dispatcher. HTTP lives in app.py."""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import random
import threading
import time

import httpx

from bpms_bridge.contract import webhook_request
from bpms_bridge.workcalendar import add_working_time, registration_moment

from . import documents, routes
from .store import Store, now_local

logger = logging.getLogger("bpms_mock")

EXECUTORS = ["Абенова Айгерим Сериковна", "Жумабеков Ерлан Маратович", "Ким Ольга Викторовна", "Сейткали Нурлан Бахытович"]

DEFAULT_FAULTS = {
    "fail_500": False,       # answer 500 to every /api call
    "delay_before": 0.0,     # sleep before handling an /api call (a slow or hung BPMS)
    "delay_after": 0.0,      # handle, then sleep before answering (the caller times out after BPMS stored it)
    "drop_every": 0,         # close the connection without an answer on every Nth /api call
    "webhook_enabled": True,
    "webhook_repeat": False,  # deliver every webhook twice
    "webhook_reverse": False,  # deliver queued webhooks newest first (out of order)
}


WEBHOOK_BATCH = 50  # events per webhook call (in seq order)


class ActionError(Exception):
    pass


class MockService:
    def __init__(self, store: Store, *, token: str, webhook_url: str = "", webhook_secret: str = "",
                 autopilot: bool = True, pace: float = 25.0, fast_pdf: bool = False):
        self.store = store
        self.token = token
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.autopilot = autopilot
        self.pace = pace
        self.fast_pdf = fast_pdf
        self.faults = dict(DEFAULT_FAULTS)
        self.calls = 0
        self._calls_lock = threading.Lock()
        self._webhooks: queue.Queue[int] = queue.Queue()
        self._stop = threading.Event()
        self.webhook_stats = {"delivered": 0, "failed": 0}
        self.webhook_times: list[float] = []
        self._webhook_http: httpx.Client | None = None

    # --- lifecycle ----------------------------------------------------------------------------
    def start_background(self) -> None:
        threading.Thread(target=self._webhook_loop, name="bpms-webhook", daemon=True).start()
        threading.Thread(target=self._autopilot_loop, name="bpms-autopilot", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    # --- faults -------------------------------------------------------------------------------
    def set_faults(self, changes: dict) -> dict:
        if changes.get("reset"):
            self.faults = dict(DEFAULT_FAULTS)
            changes = {k: v for k, v in changes.items() if k != "reset"}
        for key, value in changes.items():
            if key not in DEFAULT_FAULTS:
                raise ActionError(f"unknown fault switch {key!r}")
            self.faults[key] = type(DEFAULT_FAULTS[key])(value)
        return dict(self.faults)

    def count_call(self) -> int:
        with self._calls_lock:
            self.calls += 1
            return self.calls

    # --- messages from the portal ---------------------------------------------------------------
    def initial_status(self, case_kind: str) -> str:
        return routes.route(case_kind)["initial"]

    def __call__(self, case: dict, kind: str, payload: dict, created: bool) -> dict:
        """Runs inside the store's transaction for a new (not repeated) message."""
        if created:
            return {"duplicate": False, "created": True, "applied": True}
        route = routes.route(case["case_kind"])
        rule = route["messages"].get("resubmit" if kind == "submit" else kind)
        if rule is None or case["status"] not in rule["from"]:
            return {"duplicate": False, "created": False, "applied": False}
        if rule.get("emit"):
            event = self.store.emit(case["case_id"], rule["emit"], payload={"message_kind": kind}, documents=[],
                                    internal_status=rule["to"])
            self._webhooks.put(event["seq"])
        else:
            self.store.set_internal_status(case["case_id"], rule["to"])
        return {"duplicate": False, "created": False, "applied": True}

    def receive_message(self, *, idempotency_key: str, body: dict) -> tuple[int, dict]:
        case_kind = str(body.get("case_kind") or "")
        external_id = str(body.get("external_id") or "")
        kind = str(body.get("kind") or "")
        payload = body.get("payload") if isinstance(body.get("payload"), dict) else None
        if not (idempotency_key and case_kind and external_id and kind) or payload is None:
            return 400, {"error": "Idempotency-Key header, case_kind, external_id, kind and an object payload are required"}
        answer, duplicate = self.store.accept_message(
            idempotency_key=idempotency_key, case_kind=case_kind, external_id=external_id, kind=kind,
            payload=payload, handle=self, autopilot=self.autopilot,
        )
        if answer.get("status") == 404:
            return 404, {"error": "unknown case: send the submit message first"}
        if duplicate:
            return 200, {**answer, "duplicate": True}
        return 201, answer

    # --- operator actions -------------------------------------------------------------------------
    def _documents(self, case: dict, builder: str, form: dict) -> tuple[dict, list, dict]:
        """(payload, documents, case fields) of an action."""
        now = now_local()
        number = case["id"]
        fast = self.fast_pdf
        if builder == "registration":
            import datetime as dt

            received = dt.datetime.fromisoformat(case["received_at"])
            registered = registration_moment(received)
            deadline = add_working_time(registered, days=routes.route(case["case_kind"])["term_days"])
            reg_number = f"01-{number:05d}/{registered:%y}"
            category = json.loads(case["payload"] or "{}").get("category", "")
            payload = {"registration_number": reg_number, "registered_at": registered.isoformat(),
                       "deadline": deadline.isoformat(), "category": category}
            return payload, [], {"registration_number": reg_number, "registered_at": registered.isoformat(), "deadline": deadline.isoformat()}
        if builder == "executor":
            name = (form.get("executor") or "").strip() or EXECUTORS[number % len(EXECUTORS)]
            internal = f"ВН-{now:%y}/{number:05d}"
            return {"executor_name": name, "executor_number": internal}, [], {"executor": name, "executor_number": internal}
        if builder == "revision":
            notes = (form.get("notes") or "").strip() or "Приложите недостающие документы и уточните реквизиты."
            pdf = documents.pdf("Замечания по обращению", [f"Дело {case['case_id']}", f"Рег. № {case['registration_number']}",
                                                           notes, "Подписано ЭЦП исполнителя АО «КЖК»"], fast=fast)
            revision_deadline = add_working_time(now, days=routes.route(case["case_kind"]).get("revision_days", 5))
            return ({"notes": notes, "deadline": revision_deadline.isoformat()},
                    [documents.attachment("zamechaniya.pdf", pdf)], {})
        if builder == "rejection":
            reason = (form.get("notes") or "").strip() or "Представлен неполный пакет документов."
            pdf = documents.pdf("Мотивированный отказ", [f"Дело {case['case_id']}", reason, "Подписано ЭЦП АО «КЖК»"], fast=fast)
            return {"reason": reason, "final": True}, [documents.attachment("otkaz.pdf", pdf)], {}
        if builder == "approval":
            final = bool(routes.route(case["case_kind"])["actions"]["approve"].get("final"))
            return {"final": final} if final else {}, [], {}
        if builder == "ds":
            ds_number = f"ДС-{number:05d}"
            pdf = documents.pdf(f"Дополнительное соглашение № {ds_number}",
                                [f"к договору по обращению {case['registration_number'] or case['case_id']}",
                                 "Стороны пришли к соглашению внести изменения в договор согласно обращению.",
                                 "Подлежит подписанию ЭЦП заявителя, затем АО «КЖК»."], fast=fast)
            return {"ds_number": ds_number}, [documents.attachment(f"{ds_number}.pdf", pdf)], {}
        if builder == "avr":
            pdf = documents.pdf(f"Акт выполненных работ № АВР-{number:05d}",
                                [f"по заявке {case['registration_number'] or case['case_id']}",
                                 "Подлежит подписанию ЭЦП сторон."], fast=fast)
            doc = {**documents.attachment(f"AVR-{number:05d}.pdf", pdf), "kind": "avr", "title": "Акт выполненных работ"}
            return {"avr_number": f"АВР-{number:05d}"}, [doc], {}
        if builder == "subsidy_agreement":
            number_ = f"ДС-{case['registration_number'] or number}"
            pdf = documents.pdf(f"Договор субсидирования № {number_}",
                                [f"по заявке {case['registration_number'] or case['case_id']}",
                                 "Субсидирование части ставки вознаграждения по кредиту банка второго уровня.",
                                 "Подлежит подписанию ЭЦП сторон."], fast=fast)
            doc = {**documents.attachment("dogovor-subsidirovaniya.pdf", pdf), "kind": "subsidy_agreement",
                   "title": "Договор субсидирования"}
            return {"agreement_number": number_}, [doc], {}
        if builder == "ds_signed":
            ds_number = f"ДС-{number:05d}"
            pdf = documents.pdf(f"Дополнительное соглашение № {ds_number} (подписано)",
                                ["Подписано ЭЦП заявителя.", "Подписано ЭЦП АО «КЖК»."], fast=fast)
            return {"ds_number": ds_number, "final": True}, [documents.attachment(f"{ds_number}-signed.pdf", pdf)], {}
        return {}, [], {}

    def do_action(self, case_id: str, action: str, form: dict | None = None) -> dict:
        form = form or {}
        case = self.store.case(case_id)
        if case is None:
            raise ActionError("unknown case")
        spec = routes.route(case["case_kind"])["actions"].get(action)
        if spec is None:
            raise ActionError(f"unknown action {action!r}")
        if case["status"] not in spec["from"]:
            raise ActionError(f"{action} is not allowed in status {case['status']}")
        payload, docs, fields = self._documents(case, spec.get("docs", ""), form)
        with self.store.lock:
            current = self.store.case(case_id)
            if current["status"] != case["status"]:
                raise ActionError("the case changed meanwhile; reload")
            to = spec["to"] or current["status"]
            event = self.store.emit(case_id, to, payload=payload, documents=docs,
                                    finished=bool(spec.get("final") or current["finished"]), case_fields=fields)
        self._webhooks.put(event["seq"])
        logger.info("case %s: %s -> %s (seq %s)", case_id, case["status"], event["status"], event["seq"])
        return event

    def emit_raw(self, items: list[dict]) -> list[int]:
        seqs = self.store.bulk_emit(items, autopilot=False)
        for seq in seqs:
            self._webhooks.put(seq)
        return seqs

    # --- background loops -------------------------------------------------------------------------
    def _autopilot_loop(self) -> None:
        while not self._stop.wait(max(0.05, min(1.0, self.pace / 4))):
            if not self.autopilot:
                continue
            try:
                for case in self.store.open_autopilot_cases(time.time() - self.pace):
                    action = routes.next_autopilot_action(case["case_kind"], case["status"])
                    if action:
                        with contextlib.suppress(ActionError):
                            self.do_action(case["case_id"], action)
            except Exception:  # noqa: BLE001 — the loop must survive anything
                logger.exception("autopilot step failed")

    def _post_webhook(self, events: list[dict]) -> bool:
        """One signed delivery, tried 3 times with backoff; then forgotten (the feed is reliable)."""
        body, headers = webhook_request(secret=self.webhook_secret, events=events)
        for attempt in range(3):
            try:
                if self._webhook_http is None:  # one client (connections kept), as a real sender would
                    self._webhook_http = httpx.Client(timeout=10)
                started = time.monotonic()
                response = self._webhook_http.post(self.webhook_url, content=body, headers=headers)
                self.webhook_times.append(time.monotonic() - started)  # the portal's answer time (bench)
                if response.status_code < 500:
                    return response.status_code < 400
            except httpx.HTTPError:
                pass
            if self._stop.wait(0.5 * (2 ** attempt) + random.random() * 0.2):
                return False
        return False

    def _webhook_loop(self) -> None:
        while not self._stop.is_set():
            try:
                seq = self._webhooks.get(timeout=0.5)
            except queue.Empty:
                continue
            batch = [seq]
            while True:
                try:
                    batch.append(self._webhooks.get_nowait())
                except queue.Empty:
                    break
            if not (self.webhook_url and self.faults["webhook_enabled"]):
                continue
            if self.faults["webhook_reverse"]:
                batch.reverse()
                groups = [[seq] for seq in batch]  # one event per call, newest first
            else:
                groups = [batch[i:i + WEBHOOK_BATCH] for i in range(0, len(batch), WEBHOOK_BATCH)]
            for group in groups:
                events = [e for e in (self.store.event(seq) for seq in group) if e is not None]
                if not events:
                    continue
                for _ in range(2 if self.faults["webhook_repeat"] else 1):
                    ok = self._post_webhook(events)
                    self.webhook_stats["delivered" if ok else "failed"] += len(events)
