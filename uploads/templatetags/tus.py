"""{% tus_attrs kind owner_public_id slot %}: the attributes that turn a document upload
form into a resumable one (static/js/uploads.js); the form itself stays the no-JS fallback."""

from django import template
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.module_loading import import_string
from django.utils.safestring import mark_safe

from uploads.slots import MAX_BYTES

register = template.Library()


@register.simple_tag
def tus_attrs(kind: str, owner_public_id, slot) -> str:
    max_bytes = import_string(MAX_BYTES[kind])
    url = reverse("uploads:tus_create", args=[kind, owner_public_id, str(slot)])
    return mark_safe(render_to_string("uploads/tus_attrs.html", {  # noqa: S308 - our own template, autoescaped
        "tus_url": url, "tus_chunk": settings.TUS_CHUNK_SIZE, "tus_max": max_bytes,
        "tus_max_mb": max_bytes // (1024 * 1024)}).strip())
