"""homeportal.choices.ChoiceLabels: the same labels as Django's get_FOO_display, in the request's language."""

from django.db import models
from django.utils import translation

from appeals.models import Appeal, AppealHistory, AppealStatus


def test_display_is_djangos_label_in_the_current_language():
    field = Appeal._meta.get_field("status")
    shown = {}
    for language in ("ru", "kk"):
        with translation.override(language):
            for status in AppealStatus.values:
                appeal = Appeal(status=status)
                assert appeal.get_status_display() == models.Model._get_FIELD_display(appeal, field)
            shown[language] = Appeal(status=AppealStatus.DRAFT).get_status_display()
    assert shown["ru"] != shown["kk"]  # translated when shown, not when the dict was built
    assert Appeal(status="no-such-status").get_status_display() == "no-such-status"
    assert AppealHistory(event="status").get_event_display() == str(AppealHistory.Event.STATUS.label)
