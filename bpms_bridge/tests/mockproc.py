"""The BPMS mock process for the portal's integration tests (lives with the mock: bpms_mock/testing.py)."""

from bpms_mock.testing import ROOT, TOKEN, MockProcess, free_port

__all__ = ["ROOT", "TOKEN", "MockProcess", "free_port"]
