"""Regulated review routes (seed 004's pattern): deadline, step due times, overdue flag."""

import datetime as dt

import pytest

from bpms_bridge import selectors
from bpms_bridge.models import ReviewRoute
from bpms_bridge.workcalendar import ASTANA


def at(y, m, d, hh=0, mm=0):
    return dt.datetime(y, m, d, hh, mm, tzinfo=ASTANA)


@pytest.fixture
def seed_route(db):
    route = selectors.route_for(case_kind="appeal")
    assert route is not None, "migration 0002 seeds the default appeal route"
    return route


def test_seeded_route_reproduces_seed_004(seed_route):
    steps = list(seed_route.steps.order_by("number"))
    assert seed_route.total_working_days == 8
    assert [s.number for s in steps] == list(range(1, 11))
    assert [(s.duration, s.unit) for s in steps] == [
        (20, "minutes"), (460, "minutes"), (15, "minutes"), (1, "working_days"), (1, "working_days"),
        (1, "working_days"), (15, "minutes"), (1, "working_days"), (15, "minutes"), (1, "minutes"),
    ]
    assert selectors.route_for(case_kind="application").total_working_days == 8


def test_registered_monday_23_nov_2026_is_due_thursday_3_dec(seed_route):
    assert selectors.review_deadline(seed_route, at(2026, 11, 23, 10, 0)) == at(2026, 12, 3, 10, 0)


def test_deadline_of_a_case_sent_after_hours_counts_from_registration(seed_route):
    # Sent Friday 20 Nov 19:30 -> registered Monday 9:30 -> due Thursday 3 Dec 9:30.
    assert selectors.review_deadline(seed_route, at(2026, 11, 20, 19, 30)) == at(2026, 12, 3, 9, 30)


def test_step_schedule_chains_durations(seed_route):
    schedule = selectors.step_schedule(seed_route, at(2026, 11, 23, 10, 0))
    assert [s.number for s in schedule] == list(range(1, 11))
    assert schedule[0].starts_at == at(2026, 11, 23, 10, 0)
    assert schedule[0].due_at == at(2026, 11, 23, 10, 20)
    # 10:20 + 7h40m: 520 min left today is enough -> 18:00.
    assert schedule[1].due_at == at(2026, 11, 23, 18, 0)
    assert schedule[2].due_at == at(2026, 11, 23, 18, 15)
    assert schedule[3].due_at == at(2026, 11, 24, 18, 15)
    for prev, nxt in zip(schedule, schedule[1:], strict=False):
        assert nxt.starts_at == prev.due_at
    # The steps' sum fits inside the 8-day term.
    assert schedule[-1].due_at <= selectors.review_deadline(seed_route, at(2026, 11, 23, 10, 0))


def test_current_step_and_overdue(seed_route):
    registered = at(2026, 11, 23, 10, 0)
    assert selectors.current_step(seed_route, registered, now=at(2026, 11, 23, 10, 5)).number == 1
    assert selectors.current_step(seed_route, registered, now=at(2026, 11, 24, 12, 0)).number == 4
    deadline = selectors.review_deadline(seed_route, registered)
    assert not selectors.is_overdue(deadline=deadline, now=at(2026, 12, 3, 9, 59))
    assert selectors.is_overdue(deadline=deadline, now=at(2026, 12, 3, 10, 0))
    assert not selectors.is_overdue(deadline=deadline, now=at(2026, 12, 4, 10, 0), finished=True)


def test_category_route_overrides_the_default(seed_route):
    special = ReviewRoute.objects.create(
        case_kind="appeal", category="schedule_change", title_ru="Изменение графика", title_kk="Кестені өзгерту",
        total_working_days=3,
    )
    assert selectors.route_for(case_kind="appeal", category="schedule_change") == special
    assert selectors.route_for(case_kind="appeal", category="other") == seed_route
    assert selectors.review_deadline(special, at(2026, 11, 23, 10, 0)) == at(2026, 11, 26, 10, 0)


def test_case_terms_for_the_cabinet(seed_route):
    from bpms_bridge.models import BpmsCase

    assert selectors.case_terms(case_kind="appeal", case_id="x", now=at(2026, 11, 24, 12, 0)) is None
    BpmsCase.objects.create(case_kind="appeal", case_id="x", registered_at=at(2026, 11, 23, 10, 0), deadline=at(2026, 12, 3, 10, 0))
    terms = selectors.case_terms(case_kind="appeal", case_id="x", now=at(2026, 11, 24, 12, 0))
    assert terms.deadline == at(2026, 12, 3, 10, 0) and not terms.overdue and terms.current_step.number == 4
    assert selectors.case_terms(case_kind="appeal", case_id="x", now=at(2026, 12, 3, 10, 0)).overdue


def test_demo_seed_is_idempotent(seed_route):
    import io

    from bpms_bridge import demo

    out = io.StringIO()
    demo.seed(stdout=out)
    demo.seed(stdout=out)
    assert ReviewRoute.objects.filter(category="").count() == 3  # appeal, application, subsidy
    assert "0 created" in out.getvalue()
