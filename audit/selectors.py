"""Reading the chained history for exports (admin CSV, the «Выгрузить историю» PDF)."""

from __future__ import annotations

import heapq

from django.utils import timezone
from django.utils.translation import gettext as _

from . import chain

HEADER = ("Time", "Object", "Event", "Previous status", "Status", "User", "Who", "Comment", "Document",
          "Place in the chain", "Hash")


def audit_log_rows(*, start, end, user=None):
    """The CSV rows (a header first) of every history entry written in [start, end), optionally by
    one user, in time order across all histories."""
    yield [_(h) for h in HEADER]
    streams = []
    for model in chain.chained_models():
        qs = model._default_manager.filter(created_at__gte=start, created_at__lt=end)
        if user is not None:
            qs = qs.filter(actor=user)
        qs = qs.order_by("created_at", "pk").values_list(
            "created_at", "pk", model.owner_key_field(), "event", "from_status", "status", "actor__username",
            "actor_name", "comment", "document_name", "chain_seq", "hash")
        owner_model = model._meta.get_field(model.OWNER_FIELD).related_model
        streams.append((row, model, owner_model) for row in qs.iterator(chunk_size=2000))
    for row, model, owner_model in heapq.merge(*streams, key=lambda item: (item[0][0], item[0][1])):
        at, _pk, owner, event, from_status, status, login, name, comment, document, seq, hash_ = row
        yield [timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S"), model.object_key_of(owner_model, owner),
               event, from_status, status, login or "", name, comment, document, seq if seq is not None else "",
               hash_]
