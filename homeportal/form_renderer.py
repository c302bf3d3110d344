"""FORM_RENDERER: Django's DjangoTemplates renderer, with the `<input>` widgets written in Python.

Every text, number, date, e-mail, password, hidden, file or checkbox input was a render of
django/forms/widgets/<type>.html → input.html → attrs.html through the template engine: on the
stage-1 wizard page twenty of them, two fifths of its rendering (issue #18). `render_input` writes
the same markup those templates write (the same escaping, `stringformat:'s'` for values, `True`
attributes bare, `False` ones left out); every other template — selects, textareas, radio lists,
whole forms — goes to the templates as before. Should an app ever override one of these widget
templates, the override is used (`_input_templates_are_djangos`)."""

from pathlib import Path

import django
from django.forms.renderers import DjangoTemplates
from django.template.defaultfilters import stringformat
from django.utils.functional import cached_property
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, mark_safe

# The widget templates that are `{% include "django/forms/widgets/input.html" %}` and nothing else.
INPUT_TEMPLATES = frozenset(f"django/forms/widgets/{name}.html" for name in (
    "input", "text", "number", "email", "url", "color", "search", "tel", "password", "hidden", "date",
    "datetime", "time", "file", "checkbox",
))
ATTRS_TEMPLATE = "django/forms/widgets/attrs.html"
_DJANGO_TEMPLATES = Path(django.__file__).parent / "forms" / "templates"


def _as_s(value) -> str:
    """`{{ value|stringformat:'s' }}` with autoescaping on."""
    out = stringformat(value, "s")
    if isinstance(value, SafeData):  # the filter is is_safe: a safe value stays safe
        out = mark_safe(out)  # noqa: S308 - it was SafeData already
    return conditional_escape(out)


def render_input(widget: dict) -> str:
    parts = [f'<input type="{conditional_escape(widget["type"])}" name="{conditional_escape(widget["name"])}"']
    if widget["value"] is not None:
        parts.append(f' value="{_as_s(widget["value"])}"')
    for name, value in widget["attrs"].items():
        if value is not False:
            parts.append(f" {conditional_escape(name)}" if value is True else f' {conditional_escape(name)}="{_as_s(value)}"')
    parts.append(">")
    return "".join(parts)


class PortalFormRenderer(DjangoTemplates):
    @cached_property
    def _input_templates_are_djangos(self) -> bool:
        names = [*INPUT_TEMPLATES, ATTRS_TEMPLATE]
        return all(Path(self.get_template(name).origin.name).is_relative_to(_DJANGO_TEMPLATES) for name in names)

    def render(self, template_name, context, request=None):
        if template_name in INPUT_TEMPLATES and self._input_templates_are_djangos:
            return render_input(context["widget"])
        return super().render(template_name, context, request=request)
