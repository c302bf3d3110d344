import pytest

from bpms_bridge.tests.mockproc import MockProcess


@pytest.fixture
def bpms_mock(tmp_path, settings):
    """The BPMS mock as a real process on a free port; the portal's settings point at it."""
    mock = MockProcess(tmp_path / "bpms-mock.sqlite3").start()
    settings.BPMS_BASE_URL = mock.url
    settings.BPMS_API_TOKEN = "dev-bpms-token"
    yield mock
    mock.stop()
