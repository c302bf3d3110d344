"""Celery tasks of bpms_bridge: they only load ids and call services.

outbox_send_task is idempotent (a claimed lease + the idempotency key at BPMS), so it runs
with acks_late + reject_on_worker_lost: a worker killed mid-send leaves the message to be
redelivered. The periodic tasks are not acks_late: beat runs them again anyway.
"""

import logging

from celery import shared_task

from . import services
from .client import BpmsError

logger = logging.getLogger(__name__)


@shared_task(
    name="bpms_bridge.outbox_send", acks_late=True, reject_on_worker_lost=True,
    time_limit=90, soft_time_limit=60, ignore_result=True,
)
def outbox_send_task(message_id: int) -> None:
    services.outbox_send(message_id=message_id)


@shared_task(name="bpms_bridge.outbox_sweep", time_limit=120, soft_time_limit=100, ignore_result=True)
def outbox_sweep_task() -> int:
    return services.outbox_sweep()


@shared_task(name="bpms_bridge.feed_pull", time_limit=300, soft_time_limit=240, ignore_result=True)
def feed_pull_task() -> int:
    try:
        return services.feed_pull()
    except BpmsError as exc:  # BPMS down: the next beat tick tries again from the same cursor
        logger.warning("bpms feed pull failed: %s", exc)
        return 0


@shared_task(name="bpms_bridge.webhook_apply", acks_late=True, reject_on_worker_lost=True, time_limit=300,
             soft_time_limit=240, ignore_result=True)
def webhook_apply_task(raws: list) -> None:
    """Events a webhook delivered (checked, not applied yet): applied at most once (a repeat is a
    duplicate), so a redelivery is harmless."""
    services.webhook_apply(raws=raws)
