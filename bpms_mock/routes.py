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

ROUTES: dict[str, dict] = {
    "appeal": {
        "initial": "sent",
        "term_days": 8,
        "revision_days": 5,
        "actions": {
            "register": {"label": "Зарегистрировать", "from": ["sent"], "to": "registered", "docs": "registration"},
            "assign": {"label": "Назначить исполнителя", "from": ["registered", "resubmitted"], "to": "in_review", "docs": "executor"},
            "revision": {"label": "Вернуть на доработку", "from": ["in_review"], "to": "revision", "docs": "revision"},
            "reject": {"label": "Отказать", "from": ["sent", "registered", "in_review", "resubmitted"], "to": "rejected", "docs": "rejection", "final": True},
            "approve": {"label": "Одобрить", "from": ["in_review"], "to": "approved", "docs": "approval"},
            "prepare_ds": {"label": "Подготовить ДС", "from": ["approved"], "to": "ds_applicant_signing", "docs": "ds"},
            "sign_ds": {"label": "Подписать ДС (КЖК)", "from": ["ds_kzhk_signing"], "to": "ds_signed", "docs": "ds_signed", "final": True},
        },
        "messages": {
            "resubmit": {"from": ["revision"], "to": "resubmitted"},
            "signed_ds": {"from": ["ds_applicant_signing"], "to": "ds_kzhk_signing", "emit": "ds_kzhk_signing"},
        },
        "autopilot": ["register", "assign", "approve", "prepare_ds", "sign_ds"],
    },
    "application": {
        "initial": "sent",
        "term_days": 8,
        "revision_days": 5,
        "actions": {
            "register": {"label": "Зарегистрировать", "from": ["sent"], "to": "registered", "docs": "registration"},
            "assign": {"label": "Назначить исполнителя", "from": ["registered", "resubmitted"], "to": "in_review", "docs": "executor"},
            "revision": {"label": "Вернуть на доработку", "from": ["in_review"], "to": "revision", "docs": "revision"},
            "send_avr": {"label": "Направить АВР на подписание", "from": ["in_review", "approved"], "to": None, "docs": "avr"},
            "reject": {"label": "Отказать", "from": ["sent", "registered", "in_review", "resubmitted"], "to": "rejected", "docs": "rejection", "final": True},
            "approve": {"label": "Одобрить", "from": ["in_review"], "to": "approved", "docs": "approval", "final": True},
        },
        "messages": {
            "resubmit": {"from": ["revision"], "to": "resubmitted"},
        },
        "autopilot": ["register", "assign", "approve"],
    },
    # Subsidy applications (the portal's own design, docs/applications.md): approval, then KZhK
    # prepares the subsidy agreement and sends it for the parties' signatures; the portal reports
    # `signed_document` when every party signed (it moves its own status to agreement_signed).
    "subsidy": {
        "initial": "sent",
        "term_days": 8,
        "revision_days": 5,
        "actions": {
            "register": {"label": "Зарегистрировать", "from": ["sent"], "to": "registered", "docs": "registration"},
            "assign": {"label": "Назначить исполнителя", "from": ["registered", "resubmitted"], "to": "in_review", "docs": "executor"},
            "revision": {"label": "Вернуть на доработку", "from": ["in_review"], "to": "revision", "docs": "revision"},
            "reject": {"label": "Отказать", "from": ["sent", "registered", "in_review", "resubmitted"], "to": "rejected", "docs": "rejection", "final": True},
            "approve": {"label": "Одобрить", "from": ["in_review"], "to": "subsidy_approved", "docs": "approval"},
            "send_agreement": {"label": "Направить договор субсидирования на подписание", "from": ["subsidy_approved"],
                               "to": "agreement_signing", "docs": "subsidy_agreement"},
        },
        "messages": {
            "resubmit": {"from": ["revision"], "to": "resubmitted"},
            "signed_document": {"from": ["agreement_signing"], "to": "agreement_signed"},
        },
        "autopilot": ["register", "assign", "approve", "send_agreement"],
    },
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
