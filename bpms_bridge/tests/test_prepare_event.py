"""A domain's prepare_event (slow work such as KZhK's PAdES signature) runs before the bridge
opens its transaction, on every inbound path, and apply_event gets what it prepared."""

import pytest

from bpms_bridge import registry, services
from bpms_bridge.tests import fakekind
from bpms_bridge.tests.test_outbox_inbound import ev

pytestmark = pytest.mark.django_db(transaction=True)  # so "no transaction open" is observable


@pytest.fixture(autouse=True)
def _prepared_fake_kind():
    fakekind.reset()
    fakekind.PREPARED_IN_TRANSACTION.clear()
    registry.register_case_kind("fake", apply_event="bpms_bridge.tests.fakekind.apply_event",
                                prepare_event="bpms_bridge.tests.fakekind.prepare_event")
    yield
    registry.unregister_case_kind("fake")


def _with_document(raw):
    raw["documents"] = [{"name": "notice.pdf", "content_type": "application/pdf", "data_b64": "JVBERg=="}]
    return raw


def test_event_apply_prepares_outside_the_transaction():
    fakekind.create("c1")
    assert services.event_apply(raw=_with_document(ev(1, 1, "registered"))) == "applied"
    assert fakekind.PREPARED_IN_TRANSACTION == [False]
    assert fakekind.EVENTS["c1"][0]["documents"][0]["prepared"] is True


def test_feed_chunks_are_prepared_before_their_transaction():
    fakekind.create("c1")
    raws = [_with_document(ev(1, 1, "registered")), _with_document(ev(2, 2, "in_review"))]
    prepared = services.events_prepare(raws=raws)
    assert fakekind.PREPARED_IN_TRANSACTION == [False, False]
    assert services.events_apply_batch(raws=raws, prepared=prepared) == {"applied": 2}
    assert all(e["documents"][0]["prepared"] for e in fakekind.EVENTS["c1"])


def test_a_failing_prepare_still_applies_the_event(monkeypatch):
    fakekind.create("c1")

    def broken(**kwargs):
        raise RuntimeError("signing service down")

    monkeypatch.setattr(fakekind, "prepare_event", broken)
    assert services.event_apply(raw=_with_document(ev(1, 1, "registered"))) == "applied"
    assert "prepared" not in fakekind.EVENTS["c1"][0]["documents"][0]
