"""The BPMS webhook: HMAC-verified, the events checked against the contract and handed to a worker
(`services.webhook_accept`: one publish) — the answer comes at once; the worker applies them with
the same function as the feed pull (`events_apply`). No transaction and no database write here."""

import json
import logging

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from homeportal.celery import enqueue

from . import services
from .contract import SIGNATURE_HEADER, webhook_verify

logger = logging.getLogger(__name__)

MAX_WEBHOOK_BYTES = 5 * 1024 * 1024


@csrf_exempt  # server-to-server; authenticated by the HMAC signature instead
@require_POST
def webhook(request):
    body = request.body[: MAX_WEBHOOK_BYTES + 1]
    if len(body) > MAX_WEBHOOK_BYTES:
        return JsonResponse({"error": "too large"}, status=413)
    if not webhook_verify(secret=settings.BPMS_WEBHOOK_SECRET, header=request.headers.get(SIGNATURE_HEADER, ""), body=body):
        return JsonResponse({"error": "bad signature"}, status=403)
    try:
        data = json.loads(body)
    except ValueError:
        return JsonResponse({"error": "not JSON"}, status=400)
    events = data.get("events") if isinstance(data, dict) and "events" in data else [data]
    if not isinstance(events, list):
        return JsonResponse({"error": "events must be a list"}, status=400)
    results = services.webhook_accept(raws=events)
    if "gap" in results:  # applied here (the broker was down) and an earlier event is missing
        from .tasks import feed_pull_task

        enqueue(feed_pull_task)  # the feed brings the missing events in order (and beat pulls it anyway)
    return JsonResponse({"results": results}, status=202 if "queued" in results else 200)
