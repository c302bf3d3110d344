"""«Выгрузить историю» for the domains' history pages: they check access (404 for another
organization's object) and hand the object and its entries here."""

from __future__ import annotations

import io
import logging

from django.contrib import messages
from django.http import FileResponse
from django.shortcuts import redirect
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from signing.certs import SigningError

from . import services

logger = logging.getLogger("audit.views")


def history_export_response(request, *, obj, entries, title: str, filename: str, back_url: str):
    language = request.GET.get("lang")
    if language not in ("ru", "kk"):
        language = "kk" if (get_language() or "").startswith("kk") else "ru"
    try:
        pdf = services.history_pdf(obj=obj, entries=entries, title=title, language=language)
    except SigningError:  # the TSA or KZhK's key did not answer: a message, not a 500
        logger.warning("history export of %s: signing failed", obj.pk, exc_info=True)
        messages.error(request, _("The history could not be signed right now. Please try again in a few minutes."))
        return redirect(back_url)
    return FileResponse(io.BytesIO(pdf), as_attachment=True, filename=f"{filename}-{language}.pdf",
                        content_type="application/pdf")
