"""`get_FOO_display()` without re-translating every choice on each call."""

from django.utils.encoding import force_str


class ChoiceLabels:
    """A model mixin: `get_FOO_display()` looks the value up in a dict built once per field.
    Django's own builds `dict(make_hashable(field.flatchoices))` on every call, which hashes —
    hence translates — each lazy label: on a list page, 20 rows × 11 statuses (issue #18). The
    label is still translated when shown, in the request's language."""

    def _get_FIELD_display(self, field):
        labels = field.__dict__.get("_choice_labels")
        if labels is None:
            labels = field._choice_labels = dict(field.flatchoices)
        value = getattr(self, field.attname)
        try:
            label = labels.get(value, value)
        except TypeError:  # an unhashable value: Django's way
            return super()._get_FIELD_display(field)
        return force_str(label, strings_only=True)
