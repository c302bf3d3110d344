"""The one transition table of an appeal: which status may follow which, who may cause it, the
payload each status carries, and what the applicant may do in each status.

`appeals.services.appeal_transition` (the appeal's `homeportal.workflow.Workflow`) refuses (and
logs) anything not listed here, whoever asks.
"""

from homeportal.workflow import Transition

from . import models
from .models import AppealStatus as S


class Actor:
    APPLICANT = "applicant"  # the appeal's organization (signing)
    SYSTEM = "system"  # the portal itself (both ДС signatures collected)
    BPMS = "bpms"  # BPMS Simbase status feed
    STAFF = "staff"  # KZhK staff in the admin (same rights as BPMS)


KZHK = frozenset({Actor.BPMS, Actor.STAFF})


TRANSITIONS: tuple[Transition, ...] = (
    Transition(S.DRAFT, S.SENT, frozenset({Actor.APPLICANT})),
    Transition(S.SENT, S.REGISTERED, KZHK, required=("registration_number",),
               optional=("registered_at", "review_deadline")),
    Transition(S.REGISTERED, S.IN_REVIEW, KZHK, required=("executor_name", "internal_number")),
    # After a revision the appeal keeps its registration and goes straight back to review.
    Transition(S.SENT, S.IN_REVIEW, KZHK, required=("executor_name", "internal_number")),
    Transition(S.IN_REVIEW, S.REVISION, KZHK, required=("document",), optional=("revision_deadline", "notes")),
    # Refusal at intake (seed 004: grounds for refusal at registration) or after review.
    Transition(S.SENT, S.REJECTED, KZHK, required=("document",), optional=("reason",)),
    Transition(S.REGISTERED, S.REJECTED, KZHK, required=("document",), optional=("reason",)),
    Transition(S.IN_REVIEW, S.REJECTED, KZHK, required=("document",), optional=("reason",)),
    Transition(S.IN_REVIEW, S.APPROVED, KZHK),
    Transition(S.REVISION, S.SENT, frozenset({Actor.APPLICANT})),
    Transition(S.APPROVED, S.DS_APPLICANT_SIGNING, KZHK, required=("document",)),
    Transition(S.DS_APPLICANT_SIGNING, S.DS_KZHK_SIGNING, frozenset({Actor.SYSTEM})),
    Transition(S.DS_KZHK_SIGNING, S.DS_SIGNED, KZHK, required=("ds_number", "ds_date")),
)

TABLE: dict[tuple[str, str], Transition] = {(t.source, t.target): t for t in TRANSITIONS}

# The forward order of statuses: BPMS events never move an appeal backwards in it (revision →
# sent is the applicant's, not BPMS's).
ORDER = [S.DRAFT, S.SENT, S.REGISTERED, S.IN_REVIEW, S.REVISION, S.REJECTED, S.APPROVED,
         S.DS_APPLICANT_SIGNING, S.DS_KZHK_SIGNING, S.DS_SIGNED]

# What the applicant may do in each status.
EDIT, DELETE, SIGN, SIGN_DS, DOWNLOAD_NOTICE, DOWNLOAD_DS = (
    "edit", "delete", "sign", "sign_ds", "download_notice", "download_ds",
)
USER_ACTIONS: dict[str, frozenset] = {
    S.DRAFT: frozenset({EDIT, DELETE, SIGN}),
    S.SENT: frozenset(),
    S.REGISTERED: frozenset(),
    S.IN_REVIEW: frozenset(),
    S.REVISION: frozenset({EDIT, SIGN, DOWNLOAD_NOTICE}),
    S.REJECTED: frozenset({DOWNLOAD_NOTICE}),
    S.APPROVED: frozenset(),
    S.DS_APPLICANT_SIGNING: frozenset({SIGN_DS}),
    S.DS_KZHK_SIGNING: frozenset(),
    S.DS_SIGNED: frozenset({DOWNLOAD_DS}),
}
# Statuses whose history step carries KZhK's official notice («Скачать» in the list); defined with
# the model because a partial index of the history is built on it.
NOTICE_STATUSES = models.NOTICE_STATUSES
# Statuses in which the contract's developer sees the appeal (ДС signing only).
DEVELOPER_VISIBLE = frozenset({S.DS_APPLICANT_SIGNING, S.DS_KZHK_SIGNING, S.DS_SIGNED})


def find(source: str, target: str) -> Transition | None:
    return TABLE.get((source, target))


def allowed_targets(source: str, actor: str) -> list[str]:
    return [t.target for t in TRANSITIONS if t.source == source and actor in t.actors]


def user_can(status: str, action: str) -> bool:
    return action in USER_ACTIONS.get(status, frozenset())
