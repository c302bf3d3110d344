from celery import shared_task

from . import services


@shared_task(name="uploads.tasks.purge_expired_uploads")
def purge_expired_uploads() -> int:
    """Beat: abandoned resumable uploads past TUS_EXPIRY_SECONDS are removed (S3: aborted)."""
    return services.purge_expired()
