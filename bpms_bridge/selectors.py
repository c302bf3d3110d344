"""Reads of bpms_bridge: review routes, deadlines and step due times (all computed with the
working-day calendar)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Min, Q
from django.utils import timezone
from django.utils.translation import get_language

from homeportal import page_cache

from .models import OutboxMessage, OutboxStatus, ReviewRoute, ReviewRouteStep
from .workcalendar import add_working_time, registration_moment


@dataclass(frozen=True)
class StepDue:
    number: int
    title: str
    starts_at: dt.datetime
    due_at: dt.datetime


def route_for(*, case_kind: str, category: str = "") -> ReviewRoute | None:
    """The active route of an appeal category / application type, else the kind's default."""
    routes = {r.category: r for r in ReviewRoute.objects.filter(case_kind=case_kind, is_active=True, category__in={category, ""})}
    return routes.get(category) or routes.get("")


def review_deadline(route: ReviewRoute, registered_at: dt.datetime) -> dt.datetime:
    """«Срок рассмотрения» / «Срок исполнения»: registration moment + the route's term in working days."""
    return add_working_time(registration_moment(registered_at), days=route.total_working_days)


def _steps(route: ReviewRoute) -> list[ReviewRouteStep]:
    cache = getattr(route, "_prefetched_objects_cache", {})
    if "steps" in cache:
        return sorted(cache["steps"], key=lambda s: s.number)
    return list(route.steps.order_by("number"))


def _title(obj) -> str:
    return obj.title_kk if (get_language() or "ru").startswith("kk") else obj.title_ru


def step_schedule(route: ReviewRoute, registered_at: dt.datetime) -> list[StepDue]:
    """Each step's start and due time: step 1 starts at registration; each next step starts
    when the previous one is due; due = start + the step's duration in working time."""
    start = registration_moment(registered_at)
    schedule = []
    for step in _steps(route):
        due = add_working_time(start, **step.duration_kwargs())
        schedule.append(StepDue(number=step.number, title=_title(step), starts_at=start, due_at=due))
        start = due
    return schedule


def current_step(route: ReviewRoute, registered_at: dt.datetime, *, now: dt.datetime) -> StepDue | None:
    """The step the executor should be on at `now` (the last one once all are due)."""
    schedule = step_schedule(route, registered_at)
    for item in schedule:
        if now < item.due_at:
            return item
    return schedule[-1] if schedule else None


def is_overdue(*, deadline: dt.datetime | None, now: dt.datetime, finished: bool = False) -> bool:
    """A case not finished by its review deadline is overdue."""
    return bool(deadline) and not finished and now >= deadline


@dataclass(frozen=True)
class CaseTerms:
    registered_at: dt.datetime | None
    deadline: dt.datetime | None
    overdue: bool
    current_step: StepDue | None
    bpms_case_id: str


def case_terms(*, case_kind: str, case_id: str, category: str = "", now: dt.datetime) -> CaseTerms | None:
    """What a cabinet shows about a case's regulated term: registration moment, review deadline
    («Срок рассмотрения»), overdue flag and the executor's current step with its due time.
    None until BPMS has registered the case."""
    from .models import BpmsCase

    case = BpmsCase.objects.filter(case_kind=case_kind, case_id=str(case_id)).first()
    if case is None or case.registered_at is None:
        return None
    route = route_for(case_kind=case_kind, category=category)
    step = None if (route is None or case.finished) else current_step(route, case.registered_at, now=now)
    if not case.finished:  # a cached page (homeportal/page_cache.py) changes when the term or step does
        for moment in (case.deadline, step.due_at if step is not None else None):
            if moment is not None and moment > now:
                page_cache.expires_by(moment)
    return CaseTerms(
        registered_at=case.registered_at, deadline=case.deadline,
        overdue=is_overdue(deadline=case.deadline, now=now, finished=case.finished),
        current_step=step, bpms_case_id=case.bpms_case_id,
    )


def outbox_backlog(*, now: dt.datetime | None = None) -> dict:
    """What waits for BPMS: pending and dead messages, the oldest pending one's age in seconds
    (/healthz and the outbox admin show it)."""
    now = now or timezone.now()
    row = OutboxMessage.objects.aggregate(
        pending=Count("pk", filter=Q(status=OutboxStatus.PENDING)), dead=Count("pk", filter=Q(status=OutboxStatus.DEAD)),
        oldest=Min("created_at", filter=Q(status=OutboxStatus.PENDING)),
    )
    oldest = row["oldest"]
    return {"pending": row["pending"], "dead": row["dead"],
            "oldest_pending_seconds": int((now - oldest).total_seconds()) if oldest else None}
