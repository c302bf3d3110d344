"""Issue #14 item 13: on the last stage each missing item links to the tab or stage where it is
fixed, and «Далее» is the primary button."""

import pytest

from applications.tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db


def test_missing_items_link_to_their_tab_and_next_is_primary(cabinet_client, cabinet_user):
    app = ApplicationFactory(organization=cabinet_user.organization, created_by=cabinet_user)
    page = cabinet_client.get(f"/applications/{app.public_id}/stage/4/").content.decode()
    assert f'href="/applications/{app.public_id}/stage/1/?tab=company"' in page
    assert '<ul class="missing"><li><a href=' in page
    first = cabinet_client.get(f"/applications/{app.public_id}/stage/1/").content.decode()
    assert 'name="action" value="next" class="btn btn-primary"' in first
