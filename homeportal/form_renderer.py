"""FORM_RENDERER: Django's DjangoTemplates renderer, with `<input>`, `<textarea>` and `<select>` widgets
written in Python.

Every text, number, date, e-mail, password, hidden, file or checkbox input was a render of
django/forms/widgets/<type>.html → input.html → attrs.html through the template engine: on the
stage-1 wizard page twenty of them, two fifths of its rendering (issue #18). `render_input` writes
the same markup those templates write (the same escaping, `stringformat:'s'` for values, `True`
attributes bare, `False` ones left out), likewise textareas and selects; every other template —
radio and checkbox lists, options with a template of their own, whole forms — goes to the templates
as before. Should an app ever override one of these widget
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
TEXTAREA_TEMPLATE = "django/forms/widgets/textarea.html"
SELECT_TEMPLATE = "django/forms/widgets/select.html"
OPTION_TEMPLATE = "django/forms/widgets/select_option.html"
_DJANGO_TEMPLATES = Path(django.__file__).parent / "forms" / "templates"


def _as_s(value) -> str:
    """`{{ value|stringformat:'s' }}` with autoescaping on."""
    out = stringformat(value, "s")
    if isinstance(value, SafeData):  # the filter is is_safe: a safe value stays safe
        out = mark_safe(out)  # noqa: S308 - it was SafeData already
    return conditional_escape(out)


def _attrs(attrs: dict) -> str:
    """attrs.html."""
    parts = []
    for name, value in attrs.items():
        if value is not False:
            parts.append(f" {conditional_escape(name)}" if value is True else f' {conditional_escape(name)}="{_as_s(value)}"')
    return "".join(parts)


def render_input(widget: dict) -> str:
    """input.html."""
    value = f' value="{_as_s(widget["value"])}"' if widget["value"] is not None else ""
    return f'<input type="{conditional_escape(widget["type"])}" name="{conditional_escape(widget["name"])}"{value}{_attrs(widget["attrs"])}>'


def render_textarea(widget: dict) -> str:
    """textarea.html (its value is a string or None: Textarea.format_value)."""
    value = conditional_escape(widget["value"]) if widget["value"] else ""
    return f'<textarea name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>\n{value}</textarea>'


def render_select(widget: dict) -> str | None:
    """select.html with select_option.html for each option (the include keeps that file's last
    newline); None when an option has a template of its own."""
    parts = [f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
        for option in group_choices:
            if option["template_name"] != OPTION_TEMPLATE:
                return None
            parts.append(f'\n  <option value="{_as_s(option["value"])}"{_attrs(option["attrs"])}>'
                         f'{conditional_escape(option["label"])}</option>\n')
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts).strip()


class PortalFormRenderer(DjangoTemplates):
    @cached_property
    def _input_templates_are_djangos(self) -> bool:
        names = [*INPUT_TEMPLATES, ATTRS_TEMPLATE, TEXTAREA_TEMPLATE, SELECT_TEMPLATE, OPTION_TEMPLATE]
        return all(Path(self.get_template(name).origin.name).is_relative_to(_DJANGO_TEMPLATES) for name in names)

    def render(self, template_name, context, request=None):
        if template_name in INPUT_TEMPLATES and self._input_templates_are_djangos:
            return render_input(context["widget"])
        if template_name == TEXTAREA_TEMPLATE and self._input_templates_are_djangos:
            return render_textarea(context["widget"])
        if template_name == SELECT_TEMPLATE and self._input_templates_are_djangos:
            html = render_select(context["widget"])
            if html is not None:
                return html
        return super().render(template_name, context, request=request)
