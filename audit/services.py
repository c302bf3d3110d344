"""«Выгрузить историю»: the object's history as a PDF signed by KZhK (issue #17)."""

from __future__ import annotations

from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import chain
from .models import Anchor


def history_pdf(*, obj, entries, title: str, language: str) -> bytes:
    """Every history entry of `obj` with its hash, the object's chain verdict and the latest anchor
    of the global chain, rendered in `language` (ru/kk) and PAdES-signed by KZhK with its stamp
    (signing.pdf.pdf_issue_by_kzhk: the verifier checks it). Called outside any transaction: the
    rows are read first, then WeasyPrint and the TSA run with nothing held."""
    from signing.pdf import pdf_issue_by_kzhk, pdf_render

    entries = list(entries)
    report = chain.verify_object(obj)
    anchor = Anchor.objects.order_by("-seq", "-pk").first()
    last_seq = max((e.chain_seq or 0 for e in entries), default=0)
    with translation.override(language):
        rows = [{"at": timezone.localtime(e.created_at), "label": _row_label(e), "who": e.actor_display,
                 "comment": e.comment, "document": e.document_name, "seq": e.chain_seq, "hash": e.hash,
                 "prev_hash": e.prev_hash, "signature": e.signature if e.signature_id else None} for e in entries]
        pdf = pdf_render(template_name="audit/pdf/history.html", context={
            "lang": language, "title": title, "object_key": entries[0].object_key() if entries else "",
            "rows": rows, "intact": report.intact, "problems": [str(p) for p in report.problems[:20]],
            "anchor": anchor, "anchored": anchor is not None and anchor.seq >= last_seq,
            "created": timezone.localtime(), "head": entries[-1].hash if entries else "",
        })
        stamp_title = str(_("History export"))
    return pdf_issue_by_kzhk(pdf=pdf, title=f"{stamp_title}: {title}"[:100])


def _row_label(entry) -> str:
    label = getattr(entry, "label", None)
    if label:
        return str(label)
    if entry.event == "status" and entry.status:
        return str(entry.get_status_display())
    return str(entry.get_event_display())
