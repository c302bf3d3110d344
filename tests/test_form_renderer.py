"""homeportal.form_renderer: the <input> widgets written in Python are byte for byte what Django's
templates write; other widgets still go through the templates."""

import datetime

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override

from homeportal.form_renderer import INPUT_TEMPLATES, PortalFormRenderer

WIDGETS = [forms.TextInput, forms.NumberInput, forms.EmailInput, forms.URLInput, forms.PasswordInput,
           forms.HiddenInput, forms.DateInput, forms.DateTimeInput, forms.TimeInput, forms.FileInput,
           forms.CheckboxInput, forms.SearchInput, forms.TelInput, forms.ColorInput]
VALUES = [None, "", "abc", 'a "quoted" <b>&amp;</b>', mark_safe("<i>safe</i>"), 0, 12.5, True, False,
          datetime.date(2026, 12, 4), datetime.datetime(2026, 12, 4, 19, 30), datetime.time(8, 5), ("a", "b"), "\u00a0ҚАЗ"]
ATTRS = [None, {"class": "x", "required": True, "disabled": False, "aria-required": "true"},
         {"placeholder": _("Search"), "data-x": mark_safe("<ok>"), "maxlength": 12, "title": 'He said "<hi>"'},
         {"autocomplete": "off", "hidden": True, "step": 0.5}]


@pytest.mark.parametrize("widget_class", WIDGETS, ids=lambda w: w.__name__)
def test_inputs_are_written_as_the_templates_write_them(widget_class):
    ours, djangos = PortalFormRenderer(), DjangoTemplates()
    assert widget_class.template_name in INPUT_TEMPLATES
    for attrs in ATTRS:
        widget = widget_class(attrs=attrs)
        for value in VALUES:
            for language in ("ru", "kk"):
                with override(language):
                    expected = widget.render("tab-field", value, attrs={"id": "id_tab-field"}, renderer=djangos)
                    assert widget.render("tab-field", value, attrs={"id": "id_tab-field"}, renderer=ours) == expected


CHOICES = [("", "---"), ("a", "A"), ("b", '<B> "b"'), (1, _("Search")),
           ("Group", [("g1", "G1"), ("g2", mark_safe("<i>G2</i>"))]), (_("Lazy group"), [(3, "three")])]


@pytest.mark.parametrize("widget", [
    forms.Textarea(), forms.Textarea(attrs={"rows": 3, "maxlength": 2000, "required": True}),
    forms.Select(choices=CHOICES), forms.Select(choices=CHOICES, attrs={"class": "s", "disabled": False}),
    forms.SelectMultiple(choices=CHOICES), forms.NullBooleanSelect(), forms.Select(choices=[]),
], ids=lambda w: type(w).__name__)
def test_textareas_and_selects_are_written_as_the_templates_write_them(widget):
    ours, djangos = PortalFormRenderer(), DjangoTemplates()
    for value in [None, "", "a", "b", 1, "1", 'x <y> "z"\nline 2', ["a", "g2"], [3], True, False, "unknown"]:
        for language in ("ru", "kk"):
            with override(language):
                try:
                    expected = widget.render("f", value, attrs={"id": "id_f"}, renderer=djangos)
                except TypeError:  # a value this widget cannot take (a list for NullBooleanSelect)
                    continue
                assert widget.render("f", value, attrs={"id": "id_f"}, renderer=ours) == expected


def test_an_option_with_a_template_of_its_own_goes_to_the_templates():
    class Custom(forms.Select):
        option_template_name = "django/forms/widgets/radio_option.html"

    widget = Custom(choices=CHOICES)
    assert widget.render("f", "a", renderer=PortalFormRenderer()) == widget.render("f", "a", renderer=DjangoTemplates())


def test_other_widgets_and_forms_use_the_templates():
    class Form(forms.Form):
        kind = forms.ChoiceField(choices=[("a", "A"), ("b", "<B>")])
        text = forms.CharField(widget=forms.Textarea)
        flags = forms.MultipleChoiceField(choices=[("x", "X")], widget=forms.CheckboxSelectMultiple)
        name = forms.CharField(max_length=5)

    bound = Form(data={"kind": "b", "text": "<t>", "flags": ["x"], "name": "toolong"})
    assert bound.render(renderer=PortalFormRenderer()) == bound.render(renderer=DjangoTemplates())


def test_the_portal_renders_its_forms_with_it():
    from django.conf import settings
    from django.forms.renderers import get_default_renderer

    assert settings.FORM_RENDERER == "homeportal.form_renderer.PortalFormRenderer"
    assert isinstance(get_default_renderer(), PortalFormRenderer)
    assert get_default_renderer()._input_templates_are_djangos
