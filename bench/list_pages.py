"""bench/list_pages.py — list pages stay flat from 10 to 100 000 rows (issue #18).

For each list page (guarantee applications, appeals, notifications) and history page (one appeal,
one application) three organizations get 10, 50 and 100 000 rows, in the same tables; each page is
requested in-process (Django test client, signed in) 30 times at each size, the three sizes in turn
within every repetition (so a drift of the machine moves all three alike), and the median time and
response size are printed with the ratio 100 000 / 10 (goal ≤ 1.5): the floor is the same page at 10
rows, measured in the same run. 50 rows is a full page of every list (20 rows shown) and of every
history (50), printed as the ratio 100 000 / 50: the same rows on the page, only the data grows. At
10 rows a page shows 10 rows and at 100 000 a full page, so 100 000 / 10 also counts the rows more
rendered.
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
    """n applications, appeals and notifications of a new organization, and one appeal and one
    application with n history steps each; returns the two history pages' URLs."""
    from appeals.models import Appeal, AppealCategory, AppealHistory
    from applications.models import Application, ApplicationHistory
    from cabinets.models import Contract, Notification

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


def measure(clients: dict[int, object], urls: dict[int, str], repeat: int) -> dict[int, tuple[float, int, int]]:
    """Median time, size and queries of one page at each size, the sizes taken in turn within each
    repetition: a drift of the machine (load, CPU clock) then moves every size alike, not one phase."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    sizes, times, queries = list(urls), {n: [] for n in urls}, {}
    for n in sizes:
        clients[n].get(urls[n])  # warm: templates, connection
        connection.queries_log.clear()  # DEBUG=1 fills the bounded log; an empty one counts right
        with CaptureQueriesContext(connection) as captured:
            clients[n].get(urls[n])
        queries[n] = len(captured)
    size = {}
    for _ in range(repeat):
        for n in sizes:
            t0 = time.perf_counter()
            response = clients[n].get(urls[n])
            times[n].append(time.perf_counter() - t0)
            assert response.status_code == 200, (urls[n], response.status_code)
            size[n] = len(response.content)
    return {n: (statistics.median(times[n]), size[n], queries[n]) for n in sizes}


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
    from appeals.models import AppealCategory
    from tests.factories import ContractFactory, OrganizationFactory, UserFactory

    if not AppealCategory.objects.exists():
        AppealCategory.objects.create(code="other", contract_kind="guarantee", name_ru="Иное", name_kk="Басқа", is_other=True)
    # One organization per size, all in the same tables (as in production, where the other rows are
    # other organizations'); each page is then timed at the three sizes in turn.
    sizes = (10, 50, args.rows)
    clients, urls = {}, {}
    pages = {"guarantee list": "/applications/guarantee/", "appeals list": "/appeals/", "notifications": "/notifications/"}
    for n in sizes:
        org = OrganizationFactory()
        user = UserFactory(organization=org)
        ContractFactory(organization=org, kind="guarantee")
        clients[n] = Client()
        clients[n].force_login(user)
        urls[n] = {**pages, **fill(org, user, n)}
    results = {name: measure(clients, {n: urls[n][name] for n in sizes}, args.repeat) for name in urls[sizes[0]]}
    print(f"load average: {os.getloadavg()[0]:.1f} (2 cores shared; ratios are from this run)")
    print(f"{'page':<18} {'10 rows':>9} {'50 rows':>9} {f'{args.rows} rows':>12} {'N / 10':>7} {'N / 50':>7} "
          f"{'bytes 10 / 50 / N':>24} {'queries':>13}")
    for name, by_size in results.items():
        (t_small, b_small, q_small), (t_page, b_page, q_page) = by_size[10], by_size[50]
        t_big, b_big, q_big = by_size[args.rows]
        print(f"{name:<18} {t_small * 1000:>7.1f}ms {t_page * 1000:>7.1f}ms {t_big * 1000:>10.1f}ms "
              f"{t_big / t_small:>6.2f}x {t_big / t_page:>6.2f}x {b_small:>7} / {b_page:<6} / {b_big:<7} "
              f"{q_small:>3} / {q_page} / {q_big:<3} (goal ≤ 1.5x, queries equal)")


if __name__ == "__main__":
    main()
