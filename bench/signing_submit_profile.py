"""bench/signing_submit_profile.py — where the server's milliseconds go when a 2 MB PDF is signed in
the page (issue #11): the to-sign request, the CMS submit and the result page (/signing/demo/),
each profiled in-process (cProfile) through Django's test client, with the wall time of each and the
SQL the request sent (statements and bytes). The CMS is made here with the demo key, as the page does.

    .venv/bin/python bench/signing_submit_profile.py [--n 5] [--top 25]

Uses the test database (TEST_DATABASE_NAME, default test_hp_bench_submit_profile) and the NCA
stand-in (TSA, OCSP) from conftest.py, like the tests.
"""

import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db(transaction=True)


def _timed_step(fn, label, steps):
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            steps.setdefault(label, []).append(time.perf_counter() - t0)

    return wrapper


def _steps():
    from signing import pdf, selectors, services, trust

    try:
        from signing import blobs
    except ImportError:  # an older tree (the bench is run on the code before a change, too)
        blobs = None
    steps = [(selectors, "signing_request_for"), (services, "_pades_base"), (pdf, "pdf_prepare_signature"),
            (services, "_verify_for_request"), (trust, "secure_user_signature"), (trust, "request_timestamp"),
            (trust, "live_revocation"), (services, "_prepared_pdf"), (services, "_embed_pades"),
            (services, "_check_embedded"), (blobs, "document_revision_sha256"), (blobs, "document_store_pades"),
            (services, "completion_run"), (services, "pdf_verify")]
    return [(m, name) for m, name in steps if m is not None and hasattr(m, name)]


def test_submit_profile(client, monkeypatch):
    import base64

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from bench._common import render_big_pdfs
    from cabinets.demo import DEMO_COMPANY_BIN
    from signing import demo, pki, services
    from signing.tests.helpers import cms_for_contract
    from tests.factories import OrganizationFactory, UserFactory

    n, top = int(os.environ.get("BENCH_N", "5")), int(os.environ.get("BENCH_TOP", "25"))
    render_big_pdfs(monkeypatch, services)
    steps: dict[str, list[float]] = {}
    for module, name in _steps():
        monkeypatch.setattr(module, name, _timed_step(getattr(module, name), f"{module.__name__.split('.')[-1]}.{name}",
                                                      steps))
    org = OrganizationFactory(bin=DEMO_COMPANY_BIN, name_ru="ТОО «Демо Уполномоченная Компания»")
    head_iin = next(k["iin"] for k in pki.demo_manifest()["keys"] if k["slug"] == "company_head_sign")
    user = UserFactory(organization=org, iin=head_iin)
    client.force_login(user)
    p12, password = pki.demo_key("company_head_sign")
    times = {"to-sign": [], "submit": [], "result page": []}
    sql = {k: [] for k in times}
    profiles = {k: cProfile.Profile() for k in times}

    def timed(name, fn, i):
        with CaptureQueriesContext(connection) as q:
            t0 = time.perf_counter()
            if i:
                profiles[name].enable()
            out = fn()
            if i:
                profiles[name].disable()
            elapsed = time.perf_counter() - t0
        if i:
            times[name].append(elapsed)
            sql[name].append((len(q.captured_queries), sum(len(x["sql"]) for x in q.captured_queries)))
        return out

    for i in range(n + 1):  # round 0 warms up
        sr = demo.demo_document_start(organization=org, user=user, return_url=reverse("signing:demo"))
        contract = timed("to-sign", lambda: client.post(reverse("signing:to_sign", args=[sr.public_id])).json(), i)  # noqa: B023
        cms = cms_for_contract(contract, p12=p12, password=password)
        body = timed("submit", lambda: client.post(reverse("signing:ecp", args=[sr.public_id]), {  # noqa: B023
            "cms": base64.b64encode(cms).decode(), "preparation": contract["preparation"]}).json(), i)  # noqa: B023
        assert body["ok"], body
        page = timed("result page", lambda: client.get(reverse("signing:demo")), i)
        assert page.status_code == 200
    print(f"\n2 MB PDF, n={n}, load average {os.getloadavg()[0]:.2f}")
    print("steps p50 (ms, each call; TSA + OCSP run in a thread beside the base read):")
    for name, values in steps.items():
        values = values[len(values) // (n + 1):]  # without the warm-up round (roughly)
        print(f"  {name:<40} p50 {statistics.median(values) * 1000:6.1f}  max {max(values) * 1000:6.1f}  calls {len(values)}")
    for name, values in times.items():
        queries = statistics.median(q for q, _ in sql[name])
        print(f"{name:<12} p50 {statistics.median(values) * 1000:6.0f} ms  (max {max(values) * 1000:.0f} ms, "
              f"{queries:.0f} SQL statements)")
    for name, prof in profiles.items():
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(top)
        print(f"\n===== {name}: cumulative, {n} runs =====")
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:12000])


def main() -> int:
    n, top = "5", "25"
    if "--n" in sys.argv:
        n = sys.argv[sys.argv.index("--n") + 1]
    if "--top" in sys.argv:
        top = sys.argv[sys.argv.index("--top") + 1]
    sys.path.insert(0, str(ROOT))
    from bench._common import run_as_pytest

    return run_as_pytest(__file__, database="test_hp_bench_submit_profile", env={"BENCH_N": n, "BENCH_TOP": top})


if __name__ == "__main__":
    sys.exit(main())
