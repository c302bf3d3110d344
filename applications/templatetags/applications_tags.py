from django import template

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
