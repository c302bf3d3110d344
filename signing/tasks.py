from celery import shared_task

from . import services


@shared_task
def purge_signing_records() -> dict:
    """Daily: expire abandoned signing requests and delete old QR sessions."""
    return services.signing_records_purge()


@shared_task
def archive_retimestamp() -> dict:
    """Daily: re-time-stamp archived B-LTA documents before their TSA certificate expires."""
    return services.signing_archive_retimestamp()
