"""Signing completions go through a registry checked at start-up, not a dotted path per row."""

import pytest

from signing import completion
from signing.models import SigningRequest


def test_every_registered_completion_imports_and_the_system_check_passes():
    names = {entry.name for entry in completion.registered_completions()}
    assert {"appeals:appeal_signed", "appeals:ds_signed", "applications:application_signed",
            "applications:consent_signed", "applications:decision_document_signed", "applications:invitation_confirmed",
            "cabinets:login_challenge_signed", "cabinets:registration_agreement_signed"} <= names
    assert completion.check_completions() == []


def test_the_system_check_reports_a_completion_that_does_not_import():
    completion.register_completion("tests:broken", function="signing.tests.nowhere.function")
    try:
        errors = completion.check_completions()
    finally:
        completion.unregister_completion("tests:broken")
    assert [e.id for e in errors] == ["signing.E001"] and "tests:broken" in errors[0].msg


def test_names_not_paths():
    with pytest.raises(ValueError):
        completion.register_completion("appeals.services.appeal_signing_completed", function="x.y")


@pytest.mark.django_db
def test_a_request_stores_the_name_and_refuses_an_unregistered_one(make_request):
    request = make_request(on_complete="signing_tests:record")
    assert SigningRequest.objects.get(pk=request.pk).on_complete == "signing_tests:record"
    # A caller still passing a registered function's path gets the name stored.
    legacy = make_request(on_complete="signing.tests.callbacks.record", with_document=False)
    assert legacy.on_complete == "signing_tests:record"
    with pytest.raises(ValueError):
        make_request(on_complete="signing.tests.callbacks.nothing", with_document=False)
