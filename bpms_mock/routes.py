"""The mock's case routes, data-driven per case kind.

Each kind has:
  * `term_days` — the review term (working days) used for the registration's deadline;
  * `revision_days` — the applicant's term to fix a case returned for revision («срок доработки»);
  * `actions` — what a KZhK operator can do: allowed `from` statuses, the status `to` emit
    (None: the current status again — an event that only brings documents),
    the document builder (`docs`, see documents.py) and whether the status is `final`;
  * `messages` — what the portal may send after the case exists (`submit` creates it):
    allowed `from` statuses, the internal status `to` and an optional status to `emit`;
  * `autopilot` — the actions the scripted demo route runs, in order of preference.

Statuses are the portal domain's own codes (appeals: draft, sent, registered, in_review,
revision, rejected, approved, ds_applicant_signing, ds_kzhk_signing, ds_signed). Internal
statuses that the portal never sees (e.g. `resubmitted`) are allowed too.
"""

def review_route(*, approved: str = "approved", then: dict | None = None, extra: dict | None = None,
                 messages: dict | None = None) -> dict:
    """One case route: registration, review, revision, rejection and approval to `approved`, as
    every kind has them; `then` — what KZhK does after the approval (none: the approval is final;
    the autopilot runs them in order), `extra` — other operator actions, `messages` — what the
    portal may report beyond a resubmission."""
    then = then or {}
    return {
        "initial": "sent",
        "term_days": 8,
        "revision_days": 5,
        "actions": {
            "register": {"label": "Зарегистрировать", "from": ["sent"], "to": "registered", "docs": "registration"},
            "assign": {"label": "Назначить исполнителя", "from": ["registered", "resubmitted"], "to": "in_review",
                       "docs": "executor"},
            "revision": {"label": "Вернуть на доработку", "from": ["in_review"], "to": "revision", "docs": "revision"},
            **(extra or {}),
            "reject": {"label": "Отказать", "from": ["sent", "registered", "in_review", "resubmitted"],
                       "to": "rejected", "docs": "rejection", "final": True},
            "approve": {"label": "Одобрить", "from": ["in_review"], "to": approved, "docs": "approval",
                        **({} if then else {"final": True})},
            **then,
        },
        "messages": {"resubmit": {"from": ["revision"], "to": "resubmitted"}, **(messages or {})},
        "autopilot": ["register", "assign", "approve", *then],
    }


ROUTES: dict[str, dict] = {
    # Correction appeals (seeds 000/001): the approval opens the ДС, signed by the parties, then KZhK.
    "appeal": review_route(
        then={
            "prepare_ds": {"label": "Подготовить ДС", "from": ["approved"], "to": "ds_applicant_signing", "docs": "ds"},
            "sign_ds": {"label": "Подписать ДС (КЖК)", "from": ["ds_kzhk_signing"], "to": "ds_signed",
                        "docs": "ds_signed", "final": True},
        },
        messages={"signed_ds": {"from": ["ds_applicant_signing"], "to": "ds_kzhk_signing", "emit": "ds_kzhk_signing"}},
    ),
    # «Гарантирование» (seed 002): the approval is final; an АВР may be sent for signing in review or after.
    "application": review_route(
        extra={"send_avr": {"label": "Направить АВР на подписание", "from": ["in_review", "approved"], "to": None,
                            "docs": "avr"}},
    ),
    # «Субсидирование» (the portal's own design, docs/applications.md): after the approval KZhK
    # prepares the subsidy agreement and sends it for the parties' signatures; the portal reports
    # `signed_document` when every party signed (it moves its own status to agreement_signed).
    "subsidy": review_route(
        approved="subsidy_approved",
        then={"send_agreement": {"label": "Направить договор субсидирования на подписание",
                                 "from": ["subsidy_approved"], "to": "agreement_signing", "docs": "subsidy_agreement"}},
        messages={"signed_document": {"from": ["agreement_signing"], "to": "agreement_signed"}},
    ),
}

DEFAULT_KIND = "application"


def route(case_kind: str) -> dict:
    return ROUTES.get(case_kind) or ROUTES[DEFAULT_KIND]


def allowed_actions(case_kind: str, status: str) -> list[str]:
    return [name for name, a in route(case_kind)["actions"].items() if status in a["from"]]


def next_autopilot_action(case_kind: str, status: str) -> str | None:
    allowed = set(allowed_actions(case_kind, status))
    for name in route(case_kind)["autopilot"]:
        if name in allowed:
            return name
    return None
