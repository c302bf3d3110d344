"""A real Celery worker (celery.contrib.testing) against Redis — not eager mode."""

import pytest
from django.core import mail


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_notification_email_copy_is_sent_by_a_real_worker(settings):
    from celery.contrib.testing.worker import start_worker

    from cabinets import services
    from homeportal.celery import app
    from tests.factories import UserFactory

    assert app.conf.broker_url.startswith("redis://")
    user = UserFactory(email="head@example.kz")
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        notification = services.notification_create(
            organization=user.organization, title_ru="Заявка зарегистрирована", title_kk="Өтінім тіркелді",
            body_ru="Текст", body_kk="Мәтін", link="/appeals/",
        )
        # delay_on_commit fires after the (autocommit) insert; wait for the worker's effect.
        for _ in range(100):
            notification.refresh_from_db()
            if notification.emailed_at:
                break
            import time

            time.sleep(0.1)
    assert notification.emailed_at is not None
    assert [m.to for m in mail.outbox] == [["head@example.kz"]]
    assert mail.outbox[0].subject == "Заявка зарегистрирована"
