"""A fake case kind registered only in bpms_bridge's tests: a tiny domain with a transition
table, a current status and a history, kept in memory (shared with an in-process worker)."""

import threading

TRANSITIONS = {
    "sent": {"registered", "rejected"},
    "registered": {"in_review", "rejected"},
    "in_review": {"revision", "rejected", "approved"},
    "revision": {"sent"},
    "approved": {"ds_applicant_signing"},
    "ds_applicant_signing": {"ds_kzhk_signing"},
    "ds_kzhk_signing": {"ds_signed"},
}

_lock = threading.Lock()
STATUS: dict[str, str] = {}
HISTORY: dict[str, list[str]] = {}
EVENTS: dict[str, list[dict]] = {}


def reset():
    with _lock:
        STATUS.clear()
        HISTORY.clear()
        EVENTS.clear()


def create(case_id: str, status: str = "sent"):
    with _lock:
        STATUS[case_id] = status
        HISTORY[case_id] = [status]
        EVENTS[case_id] = []


def apply_event(*, case_id: str, event: dict):
    with _lock:
        current = STATUS.get(case_id)
        if current is None:
            raise LookupError(f"no fake case {case_id}")
        to = event["status"]
        if to == current:
            return
        if to not in TRANSITIONS.get(current, set()):
            raise ValueError(f"{current} -> {to} is not allowed")
        STATUS[case_id] = to
        HISTORY[case_id].append(to)
        EVENTS[case_id].append(event)


PREPARED_IN_TRANSACTION: list[bool] = []


def prepare_event(*, case_id: str, event: dict) -> dict:
    """Stands for a domain's slow step (KZhK's PAdES signature): records whether a transaction
    was open and marks the documents it "signed"."""
    from django.db import connection

    PREPARED_IN_TRANSACTION.append(connection.in_atomic_block)
    documents = [{**d, "prepared": True} for d in event.get("documents") or []]
    return {**event, "documents": documents}
