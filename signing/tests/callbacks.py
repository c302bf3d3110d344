"""Signing completions for tests (registered on import, as an app does in ready())."""

from signing.completion import register_completion

CALLS: list = []


def record(signing_request, signature):
    CALLS.append((signing_request.public_id, signature.signer_iin))


register_completion("signing_tests:record", function="signing.tests.callbacks.record")
