import pytest

from bpms_mock.testing import MockProcess


@pytest.fixture
def bpms_mock(tmp_path):
    """The BPMS mock as a real process on a free port."""
    mock = MockProcess(tmp_path / "bpms-mock.sqlite3").start()
    yield mock
    mock.stop()
