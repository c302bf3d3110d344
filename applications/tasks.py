"""Celery tasks of applications: they only load ids and call services."""

from celery import shared_task

from . import services


@shared_task(name="applications.status_document_issue", acks_late=True, reject_on_worker_lost=True,
             ignore_result=True)
def status_document_issue(application_id: int, status: str) -> None:
    """The document a status brings (rejection notice, pledge / subsidy agreement), once the
    status committed (idempotent)."""
    services.application_status_document_issue(application_id=application_id, status=status)


@shared_task(name="applications.documents_issue_pending", ignore_result=True)
def documents_issue_pending() -> int:
    """Beat: status documents whose task was lost (the broker was down when the status committed)."""
    return services.application_documents_issue_pending()


@shared_task(name="applications.moderation_decide", acks_late=True, reject_on_worker_lost=True, ignore_result=True,
             autoretry_for=(Exception,), retry_backoff=5, retry_backoff_max=300, max_retries=6)
def moderation_decide_task(application_id: int, moderator_id: int, items: list, now: str) -> None:
    """A moderator's decision with remarks: the KZhK-signed conclusion and the move to revision
    (idempotent; a TSA or storage failure is retried with backoff)."""
    services.moderation_decide_run(application_id=application_id, moderator_id=moderator_id, items=items, now=now)
