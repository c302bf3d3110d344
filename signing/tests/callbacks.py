"""on_complete targets for tests."""

CALLS: list = []


def record(signing_request, signature):
    CALLS.append((signing_request.public_id, signature.signer_iin))
