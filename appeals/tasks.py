"""Celery tasks of appeals: they only load ids and call services."""

from celery import shared_task

from . import services


@shared_task(name="appeals.ds_signed_issue", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def ds_signed_issue(appeal_id: int) -> None:
    """KZhK's PAdES issue of the signed ДС once «ДС подписано» committed (idempotent)."""
    services.appeal_ds_signed_issue(appeal_id=appeal_id)


@shared_task(name="appeals.documents_issue_pending", ignore_result=True)
def documents_issue_pending() -> int:
    """Beat: documents whose task was lost (the broker was down when the status committed)."""
    return services.appeal_documents_issue_pending()


@shared_task(name="appeals.ds_sign_by_kzhk", acks_late=True, reject_on_worker_lost=True, ignore_result=True,
             autoretry_for=(Exception,), retry_backoff=5, retry_backoff_max=300, max_retries=6)
def ds_sign_by_kzhk(appeal_id: int, user_id: int | None, ds_number: str, ds_date: str) -> None:
    """KZhK's signature of the ДС a moderator asked for in the admin (idempotent; a TSA or
    storage failure is retried with backoff)."""
    services.appeal_ds_sign_by_kzhk_run(appeal_id=appeal_id, user_id=user_id, ds_number=ds_number, ds_date=ds_date)
