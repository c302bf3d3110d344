import contextlib
import contextvars
import logging
import os
from pathlib import Path

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "homeportal.settings")

logger = logging.getLogger(__name__)

app = Celery("homeportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _ensure_filesystem_broker_folders() -> None:
    """The embedded broker (kombu's filesystem transport) needs its folders to exist."""
    from django.conf import settings

    if not str(getattr(settings, "CELERY_BROKER_URL", "")).startswith("filesystem://"):
        return
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get(key)
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)


@app.on_after_configure.connect
def _prepare_broker(sender, **kwargs):
    _ensure_filesystem_broker_folders()


@signals.worker_init.connect
@signals.beat_init.connect
def _refuse_to_start_in_production_with_dev_secrets(sender=None, **kwargs):
    """Celery runs no Django system checks: the same production checks as the web process. Celery
    logs and swallows a receiver's exception, so the refusal leaves as SystemExit (exit code 1)."""
    from django.core.exceptions import ImproperlyConfigured

    from homeportal.checks import refuse_to_start

    try:
        refuse_to_start("Celery")
    except ImproperlyConfigured as exc:
        raise SystemExit(f"ImproperlyConfigured: {exc}") from exc


# A publish to a broker that is down: refused, reset, timed out, or Redis' own errors.
BROKER_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}


def enqueue(task, args=(), *, countdown: float | None = None) -> bool:
    """Send a task; a broker outage is logged, never raised. Only for work that a sweeper or the
    next periodic run does anyway (the BPMS outbox, the feed pull), or whose loss is acceptable."""
    from kombu.exceptions import OperationalError

    try:
        task.apply_async(tuple(args), countdown=countdown, retry_policy=BROKER_RETRY_POLICY)
    except (OperationalError, OSError) as exc:
        logger.warning("broker unavailable, %s%r not enqueued (a sweeper picks it up): %s", task.name, tuple(args), exc)
        return False
    return True


def enqueue_on_commit(task, args=(), *, countdown: float | None = None) -> None:
    """`enqueue` once the caller's transaction commits: the request that committed never fails
    because the broker is down (#10 item 5). Inside `publishes_batched()` the task is sent with
    the others of the block (one publish per FAN_OUT_PER_TASK)."""
    from django.db import transaction

    collected = _batched_publishes.get()
    if collected is not None:
        # Kept by an on-commit callback of its own: a savepoint rolled back drops it, as it would the send.
        transaction.on_commit(lambda: collected.append((task.name, tuple(args), countdown)))
        return
    transaction.on_commit(lambda: enqueue(task, args, countdown=countdown))


_batched_publishes: contextvars.ContextVar[list | None] = contextvars.ContextVar("batched_publishes", default=None)
FAN_OUT_PER_TASK = 100


@contextlib.contextmanager
def publishes_batched():
    """Tasks enqueued on commit inside the block are published together once the transaction
    commits: a `homeportal.fan_out` task per hundred, which a worker expands into the tasks
    themselves (the BPMS feed applies hundreds of events per transaction; a publish costs ~1.5 ms
    each). Every task keeps its own retries and idempotency; what a lost fan-out would have sent,
    the sweepers send, as for a lost publish. Call it inside the caller's transaction."""
    from django.db import transaction

    if _batched_publishes.get() is not None:
        yield
        return
    collected: list = []
    token = _batched_publishes.set(collected)
    try:
        yield
    finally:
        _batched_publishes.reset(token)
    transaction.on_commit(lambda: _publish_many(collected))  # after the block's own callbacks


def _publish_many(items: list) -> None:
    if len(items) <= 2:
        for name, args, countdown in items:
            enqueue(app.tasks[name], args, countdown=countdown)
        return
    for start in range(0, len(items), FAN_OUT_PER_TASK):
        part = [list(item) for item in items[start:start + FAN_OUT_PER_TASK]]
        if not enqueue(fan_out, (part,)):
            return


@app.task(name="homeportal.fan_out", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def fan_out(items: list) -> int:
    """Publishes the tasks a `publishes_batched()` block collected: [name, args, countdown] each."""
    sent = 0
    for name, args, countdown in items:
        sent += bool(enqueue(app.tasks[name], tuple(args), countdown=countdown))
    return sent
