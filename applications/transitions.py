"""The transition tables of the applications domain, as data (see `homeportal.workflow`):
the guarantee and the subsidy application's statuses (one table per service, sharing forming,
moderation and review) and the state of a decision document (pledge agreement,
АВР, rejection notice). Who may make each move, which payload it needs, and what the
applicant may do in each status.

`applications.services.application_transition` and `decision_document_transition` refuse
(and log) anything not listed here, whoever asks.
"""

from homeportal.workflow import Transition

from .models import DecisionDocument
from .models import Status as S


class Actor:
    COMPANY = "company"  # the authorised company (УК) that files the application
    DEVELOPER = "developer"  # the developer named in it (signs its parts, pledge agreements, АВР)
    MODERATOR = "moderator"  # KZhK's moderator in the admin
    BPMS = "bpms"  # BPMS Simbase status feed / webhook
    STAFF = "staff"  # KZhK staff applying a status by hand in the admin (same rights as BPMS)
    SYSTEM = "system"  # the portal itself (every party signed a document)


KZHK = frozenset({Actor.BPMS, Actor.STAFF})
COMPANY = frozenset({Actor.COMPANY})
REJECTION = {"optional": ("reason", "comment")}

# Forming and moderation, the same for every service.
FORMING: tuple[Transition, ...] = (
    # Forming: the УК sends to moderation, or signs straight away (seed 002, step 7).
    Transition(S.DRAFT, S.ON_MODERATION, COMPANY, optional=("opens_at",)),
    Transition(S.DRAFT, S.SENT, COMPANY),
    # Moderation: remarks come with KZhK's signed conclusion; no remarks → the УК signs.
    Transition(S.ON_MODERATION, S.REVISION, frozenset({Actor.MODERATOR}), required=("document",),
               optional=("comment",)),
    Transition(S.ON_MODERATION, S.TO_SIGN, frozenset({Actor.MODERATOR})),
    Transition(S.REVISION, S.ON_MODERATION, COMPANY, optional=("opens_at",)),
    Transition(S.REVISION, S.SENT, COMPANY),
    Transition(S.TO_SIGN, S.SENT, COMPANY),
)
# Review by KZhK (BPMS Simbase) up to the decision, the same for every service.
REVIEW: tuple[Transition, ...] = (
    Transition(S.SENT, S.REGISTERED, KZHK, required=("registration_number",), optional=("registered_at", "due_date")),
    Transition(S.SENT, S.IN_REVIEW, KZHK, optional=("due_date",)),  # a resubmitted case goes back to review
    Transition(S.REGISTERED, S.IN_REVIEW, KZHK, optional=("due_date",)),
    Transition(S.IN_REVIEW, S.REVISION, KZHK, optional=("comment",)),  # BPMS «Вернуть на доработку»
    Transition(S.SENT, S.REJECTED, KZHK, **REJECTION),
    Transition(S.REGISTERED, S.REJECTED, KZHK, **REJECTION),
    Transition(S.IN_REVIEW, S.REJECTED, KZHK, **REJECTION),
)
DECIDING = (S.SENT, S.REGISTERED, S.IN_REVIEW)

# «Гарантирование»: approval opens the pledge agreements.
TRANSITIONS: tuple[Transition, ...] = FORMING + REVIEW + tuple(
    Transition(source, S.APPROVED, KZHK) for source in DECIDING
)

# The forward order: a BPMS event never moves an application backwards in it (revision after
# review is BPMS's own move and listed in the table).
ORDER = [S.DRAFT, S.ON_MODERATION, S.REVISION, S.TO_SIGN, S.SENT, S.REGISTERED, S.IN_REVIEW, S.REJECTED, S.APPROVED]

# «Субсидирование» (our design): approval → KZhK prepares the subsidy agreement → BPMS sends it
# for signing → every party signed (the portal, `system`) → it is the organization's subsidy contract.
SUBSIDY_TRANSITIONS: tuple[Transition, ...] = FORMING + REVIEW + tuple(
    Transition(source, S.SUBSIDY_APPROVED, KZHK) for source in DECIDING
) + (
    Transition(S.SUBSIDY_APPROVED, S.AGREEMENT_SIGNING, KZHK),
    Transition(S.AGREEMENT_SIGNING, S.AGREEMENT_SIGNED, frozenset({Actor.SYSTEM})),
)
SUBSIDY_ORDER = [S.DRAFT, S.ON_MODERATION, S.REVISION, S.TO_SIGN, S.SENT, S.REGISTERED, S.IN_REVIEW, S.REJECTED,
                 S.SUBSIDY_APPROVED, S.AGREEMENT_SIGNING, S.AGREEMENT_SIGNED]

# What the parties may do in each status. EDIT: change the form and files (the developer its
# parts); DELETE / the list's «Редактировать» and «Удалить»: only never sent (seed 002: «редактировать
# и удалить не отправленные ранее заявки») — a draft; one KZhK returned is revised from its number.
EDIT, DELETE, LIST_ACTIONS, SEND_TO_MODERATION, SIGN = "edit", "delete", "list_actions", "send_to_moderation", "sign"
USER_ACTIONS: dict[str, frozenset] = {
    S.DRAFT: frozenset({EDIT, DELETE, LIST_ACTIONS, SEND_TO_MODERATION, SIGN}),
    S.ON_MODERATION: frozenset(),
    S.REVISION: frozenset({EDIT, SEND_TO_MODERATION, SIGN}),
    S.TO_SIGN: frozenset({SIGN}),
    S.SENT: frozenset(),
    S.REGISTERED: frozenset(),
    S.IN_REVIEW: frozenset(),
    S.REJECTED: frozenset(),
    S.APPROVED: frozenset(),
    S.SUBSIDY_APPROVED: frozenset(),
    S.AGREEMENT_SIGNING: frozenset(),
    S.AGREEMENT_SIGNED: frozenset(),
}


def user_can(status: str, action: str) -> bool:
    return action in USER_ACTIONS.get(status, frozenset())


# --- decision documents --------------------------------------------------------------------------

D = DecisionDocument.State
PARTIES = frozenset({Actor.COMPANY, Actor.DEVELOPER})

DOCUMENT_TRANSITIONS: tuple[Transition, ...] = (
    # Every party signed (signing's multi-party document is complete).
    Transition(D.TO_SIGN, D.SIGNED, frozenset({Actor.SYSTEM})),
    # «Отправить на доработку» of an АВР, with what has to be corrected (goes to BPMS).
    # Only the УК returns its АВР (#10 item 7: the developer had returned the УК's АВР).
    Transition(D.TO_SIGN, D.RETURNED, COMPANY, required=("comment",)),
)
# Kinds a party may send back: only the АВР (the pledge agreement and the notice are not).
RETURNABLE_KINDS = frozenset({DecisionDocument.Kind.AVR})
