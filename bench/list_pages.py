"""bench/list_pages.py — list pages stay flat from 10 to 100 000 rows (issue #18).

For each list page (guarantee applications, appeals, notifications) and history page (one appeal,
one application) the organization gets 10 rows,
then 100 000; the page is requested in-process (Django test client, signed in) 30 times each and
the median time and response size are printed with the ratio 100 000 / 10 (goal ≤ 1.5). The floor
is the same page at 10 rows, measured in the same run. Also measured at 50 rows — a full page of
every list (20 rows shown) and of every history (50) — and printed as the ratio 100 000 / 50: the
same rows on the page, only the table grows. At 10 rows a list page shows 10 rows and at 100 000
it shows 20, so 100 000 / 10 also counts the ten more rows rendered (~0.3-0.5 ms each once the
page's fixed cost fell to a few ms).
Uses its own PostgreSQL database (hp_bench_lists, recreated) and Redis DB 11.

    .venv/bin/python bench/list_pages.py [--rows 100000] [--repeat 30]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench._common import recreate_database  # noqa: E402

DB_NAME = os.environ.get("BENCH_DB_NAME", "hp_bench_lists")
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
os.environ.update({
    "DATABASE_URL": f"{PG}/{DB_NAME}", "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11"),
    "HOMEPORTAL_TESTING": "1", "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "homeportal.settings",
    "HOMEPORTAL_VAR_DIR": str(Path(tempfile.gettempdir()) / "hp-bench-lists-var"),
    "PAGE_CACHE_SECONDS": "0",  # the rendering at each size is measured, not a page-cache hit
})




def fill(org, user, n: int) -> dict[str, str]:
    """n applications, appeals and notifications, and one appeal and one application with n history
    steps each; returns the two history pages' URLs."""
    from appeals.models import Appeal, AppealCategory, AppealHistory
    from applications.models import Application, ApplicationHistory
    from audit import chain
    from cabinets.models import Contract, Notification

    # History rows are PROTECTed and append-only: the bench's refill purges them as a draft deletion does.
    chain.purge(AppealHistory.objects.filter(appeal__organization=org), reason="bench refill")
    chain.purge(ApplicationHistory.objects.filter(application__organization=org), reason="bench refill")
    Application.objects.filter(organization=org).delete()
    Appeal.objects.filter(organization=org).delete()
    Notification.objects.filter(organization=org).delete()
    contract = Contract.objects.filter(organization=org).first()
    category = AppealCategory.objects.first()
    batch = 5000
    for start in range(0, n, batch):
        size = min(batch, n - start)
        Application.objects.bulk_create(
            [Application(organization=org, project_name=f"Проект {start + i}", contract=contract) for i in range(size)])
        Appeal.objects.bulk_create([Appeal(organization=org, contract=contract, kind="guarantee", category=category,
                                           created_by=user) for _ in range(size)])
        Notification.objects.bulk_create([Notification(organization=org, title_ru=f"Уведомление {start + i}", title_kk=f"Хабарлама {start + i}")
                                          for i in range(size)])
    appeal, application = Appeal.objects.filter(organization=org).first(), Application.objects.filter(organization=org).first()
    for start in range(0, n, batch):
        size = min(batch, n - start)
        AppealHistory.objects.bulk_create([AppealHistory(appeal=appeal, event="status", status="draft", actor_name="Бенч")
                                           for _ in range(size)])
        ApplicationHistory.objects.bulk_create([ApplicationHistory(application=application, event="created", actor_name="Бенч")
                                                for _ in range(size)])
    from django.db import connection

    with connection.cursor() as cursor:  # the planner's statistics, as autovacuum keeps them in production
        cursor.execute("ANALYZE")
    return {"appeal history": f"/appeals/{appeal.public_id}/history/",
            "guarantee history": f"/applications/{application.public_id}/history/"}


def measure(client, url: str, repeat: int) -> tuple[float, int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm: templates, connection
    connection.queries_log.clear()  # DEBUG=1 fills the bounded log; an empty one counts right
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    times, size = [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - t0)
        assert response.status_code == 200, (url, response.status_code)
        size = len(response.content)
    return statistics.median(times), size, len(queries)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    recreate_database(PG, DB_NAME)
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    call_command("migrate", verbosity=0)
    from tests.factories import ContractFactory, OrganizationFactory, UserFactory

    org = OrganizationFactory()
    user = UserFactory(organization=org)
    ContractFactory(organization=org, kind="guarantee")
    from appeals.models import AppealCategory

    if not AppealCategory.objects.exists():
        AppealCategory.objects.create(code="other", contract_kind="guarantee", name_ru="Иное", name_kk="Басқа", is_other=True)
    client = Client()
    client.force_login(user)
    pages = {"guarantee list": "/applications/guarantee/", "appeals list": "/appeals/", "notifications": "/notifications/"}
    results = {}
    for n in (10, 50, args.rows):
        histories = fill(org, user, n)
        for name, url in {**pages, **histories}.items():
            results[(name, n)] = measure(client, url, args.repeat)
    print(f"load average: {os.getloadavg()[0]:.1f} (2 cores shared; ratios are from this run)")
    print(f"{'page':<18} {'10 rows':>9} {'50 rows':>9} {f'{args.rows} rows':>12} {'N / 10':>7} {'N / 50':>7} "
          f"{'bytes 10 / 50 / N':>24} {'queries':>13}")
    for name in [*pages, *histories]:
        (t_small, b_small, q_small), (t_page, b_page, q_page) = results[(name, 10)], results[(name, 50)]
        t_big, b_big, q_big = results[(name, args.rows)]
        print(f"{name:<18} {t_small * 1000:>7.1f}ms {t_page * 1000:>7.1f}ms {t_big * 1000:>10.1f}ms "
              f"{t_big / t_small:>6.2f}x {t_big / t_page:>6.2f}x {b_small:>7} / {b_page:<6} / {b_big:<7} "
              f"{q_small:>3} / {q_page} / {q_big:<3} (goal ≤ 1.5x, queries equal)")


if __name__ == "__main__":
    main()
