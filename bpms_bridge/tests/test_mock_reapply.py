"""The admin re-apply through the real BPMS mock: the refused event is fetched again over HTTP
(documents included) and given to the domain once more."""

import base64

import pytest


@pytest.mark.django_db
def test_a_refused_event_is_applied_again_from_bpms(bpms_mock):
    from bpms_bridge import registry, services
    from bpms_bridge.models import AppliedEvent
    from bpms_bridge.tests import fakekind

    fakekind.reset()
    registry.register_case_kind("fake", apply_event="bpms_bridge.tests.fakekind.apply_event")
    try:
        fakekind.create("c1")
        message = services.outbox_enqueue(case_kind="fake", case_id="c1", kind="submit", payload={}, idempotency_key="c1")
        services.outbox_send(message_id=message.pk)
        bpms_mock.call("POST", "/admin/emit", {"events": [
            {"case_kind": "fake", "external_id": "c1", "status": "in_review", "documents": [
                {"name": "n.pdf", "content_type": "application/pdf", "data_b64": base64.b64encode(b"%PDF-1.4").decode()}]}]})
        services.feed_pull()
        refused = AppliedEvent.objects.get()
        assert refused.outcome == "failed" and "not allowed" in refused.error
        assert services.event_reapply(applied_event=refused) == "failed"  # still refused
        fakekind.STATUS["c1"] = "registered"  # e.g. the domain was fixed by hand
        assert services.event_reapply(applied_event=refused) == "applied"
        refused.refresh_from_db()
        assert refused.outcome == "applied" and fakekind.STATUS["c1"] == "in_review"
        assert fakekind.EVENTS["c1"][-1]["documents"][0]["name"] == "n.pdf"
        assert refused.case.__class__.objects.get(pk=refused.case_id).last_status == "in_review"
    finally:
        registry.unregister_case_kind("fake")
