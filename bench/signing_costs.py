"""bench/signing_costs.py — what signing costs the server (issue #18 item 3), as p50/p95 per step
with the goal beside each:

- KZhK PDF issue (PAdES B-LTA with the visible stamp: key, stamp, signature + document time-stamps,
  OCSP/CRL into the DSS) — goal ≤ 250 ms;
- PAdES verification per signature (signing.verification.verify_upload on those PDFs, divided by
  their signatures) — goal ≤ 30 ms;
- one user signature on the server: verify the CMS for the document, TSA + OCSP (CAdES-T), and the
  party's PAdES revision of the PDF — goal ≤ 100 ms in total;
- that KZhK's key is opened once per process (the second issue opens nothing).

The TSA/OCSP/CRL are the NCA stand-in on loopback, in its own process (nca_services.launch); the
machine is shared, so the load average is printed beside the numbers. No database.

    .venv/bin/python bench/signing_costs.py [--n 20]
"""

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def _timed(fn, n):
    out, times = None, []
    for i in range(n):
        t0 = time.perf_counter()
        out = fn(i)
        times.append(time.perf_counter() - t0)
    return out, times


def _line(name, times, goal_ms, per=1):
    p50, p95 = statistics.median(times) / per * 1000, _pct(times, 95) / per * 1000
    verdict = "ok" if p95 <= goal_ms else "OVER"
    print(f"{name:<44} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  goal ≤ {goal_ms} ms  p95/goal {p95 / goal_ms:4.2f}  {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20, help="repetitions per step")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-signing-"))
    os.environ["HOMEPORTAL_VAR_DIR"] = str(tmp)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "homeportal.settings")
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'db.sqlite3'}"
    import django

    django.setup()
    from django.conf import settings

    from signing import certs, pdf, pki, trust
    from signing.cms import cms_sign, cms_verify
    from signing.verification import PASSED, verify_upload

    base = pki.ensure_pki()
    from nca_services.launch import running

    with running(base, cwd=ROOT) as url:
        settings.SIGNING_TSA_URL, settings.SIGNING_OCSP_URL = url + "/tsp", url + "/ocsp"
        settings.SIGNING_CRL_BASE_URL = url + "/crl"
        doc = pdf.pdf_render(template_name="signing/pdf/demo_document.html", context={
            "title": "Договор залога", "organization_name": "ТОО Демо", "organization_bin": "160340003066",
            "number": "B-1"})
        pdf.pdf_issue_by_kzhk(pdf=doc, title="Прогрев")  # process start: fonts, key, TSA probe

        opened = []
        real_open = certs.pkcs12_open

        def counting_open(**kwargs):
            opened.append(1)
            return real_open(**kwargs)

        certs.pkcs12_open = counting_open
        issued, issue_times = _timed(lambda i: pdf.pdf_issue_by_kzhk(
            pdf=doc, title=f"Дополнительное соглашение № {i}", signers=["ТОО «Демо» — Иванов И. И.", "АО «КЖК»"]),
            args.n)
        certs.pkcs12_open = real_open

        report = verify_upload(issued)
        signatures = len(report.signatures)
        assert report.signatures[0].indication == PASSED, report.signatures[0].indication
        cpu0 = time.process_time()
        _report, verify_times = _timed(lambda i: verify_upload(issued), args.n)
        verify_cpu = (time.process_time() - cpu0) / args.n

        key = certs.pkcs12_open(data=pki.demo_key("company_head_sign")[0], password=pki.DEMO_PASSWORD)
        now = dt.datetime.now(dt.UTC)
        cmses = [cms_sign(data=doc, key=key, signing_time=now) for _ in range(args.n)]  # what the client sends

        def user_signature(i):
            t0 = time.perf_counter()
            result = cms_verify(cms_bytes=cmses[i], data=doc, check_certificates=False)
            assert result.signatures[0].signature_valid
            t1 = time.perf_counter()
            trust.secure_user_signature(cms_bytes=cmses[i])
            t2 = time.perf_counter()
            pdf.pdf_sign(pdf=doc, key=key, field_name="Signature_bench")
            t3 = time.perf_counter()
            return t1 - t0, t2 - t1, t3 - t2

        parts, user_times = [], []
        for i in range(args.n):
            t0 = time.perf_counter()
            parts.append(user_signature(i))
            user_times.append(time.perf_counter() - t0)

    print(f"load average: {os.getloadavg()[0]:.1f} (2 cores shared by several agents); n = {args.n}")
    _line("KZhK PDF issue (B-LTA, stamp)", issue_times, 250)
    print(f"{'  KZhK key files opened during the issues':<44} {len(opened)} (goal 0: opened once per process)")
    _line(f"PAdES verify per signature ({signatures} in the file)", verify_times, 30, per=signatures)
    # CPU time moves far less with the other agents' load than the wall clock does.
    print(f"  its CPU time (this process)                 mean {verify_cpu / signatures * 1000:7.1f} ms  "
          f"goal ≤ 30 ms  cpu/goal {verify_cpu / signatures * 1000 / 30:4.2f}")
    _line("one user signature, server side (total)", user_times, 100)
    for label, index in (("  CMS verify", 0), ("  TSA + OCSP (CAdES-T)", 1), ("  PAdES revision of the PDF", 2)):
        values = [p[index] for p in parts]
        print(f"{label:<44} p50 {statistics.median(values) * 1000:7.1f} ms  p95 {_pct(values, 95) * 1000:7.1f} ms")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
