from django import template
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def get_item(mapping, key):
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def shows_required(bound_field) -> bool:
    """Required, or required depending on another answer (marked with * all the same)."""
    field = bound_field.field
    return bool(field.required or getattr(field, "show_required", False))


@register.filter
def widget_html(bound_field_or_widget, show_errors) -> str:
    """The field's (or a radio's) widget. Before a submit the stored values of a draft are shown
    without their errors (the page says nothing is wrong yet), so without Django's
    aria-invalid="true" either: a screen reader would call the field invalid with no message, and
    the error summary (static/js/portal.js) would list it."""
    html = bound_field_or_widget.tag() if hasattr(bound_field_or_widget, "choice_label") else str(bound_field_or_widget)
    if not show_errors:
        html = html.replace(' aria-invalid="true"', "")
    return mark_safe(html)  # noqa: S308 - the widget's own HTML, with one attribute taken out
