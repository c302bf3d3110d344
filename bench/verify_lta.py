"""bench/verify_lta.py — (1) verification throughput of PAdES B-LTA PDFs: signing.verification
against poppler's `pdfsig` on the same files; (2) what the trusted time and the live revocation
check cost per signature: `trust.secure_user_signature` (TSA + OCSP over HTTP on loopback) as a
ratio to making the same CAdES signature without them.

Both sides of (1) read every signature of each file; ours also checks the time-stamps, the DSS
OCSP responses and CRLs, the chain and the difference analysis (pyHanko), `pdfsig` checks the
CMS signatures and the certificate with NSS (one process per file, how a script would call it).
Uses a throw-away PKI and its own nca_services process on a free port (no database).

    .venv/bin/python bench/verify_lta.py [--files 20] [--n 100]
"""

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=20, help="B-LTA PDFs to verify")
    parser.add_argument("--n", type=int, default=100, help="signatures for the TSA+OCSP cost")
    args = parser.parse_args()
    if shutil.which("pdfsig") is None:
        sys.exit("pdfsig not found (apt-get install poppler-utils)")

    tmp = Path(tempfile.mkdtemp(prefix="bench-lta-"))
    os.environ["HOMEPORTAL_VAR_DIR"] = str(tmp)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "homeportal.settings")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp / 'db.sqlite3'}")
    import django

    django.setup()
    from django.conf import settings

    from signing import pki, trust
    from signing.certs import pkcs12_open
    from signing.cms import cms_sign
    from signing.pdf import pdf_issue_by_kzhk, pdf_render
    from signing.verification import PASSED, verify_upload

    base = pki.ensure_pki()
    from nca_services.launch import running

    with running(base, cwd=ROOT) as url:
        settings.SIGNING_TSA_URL, settings.SIGNING_OCSP_URL = url + "/tsp", url + "/ocsp"
        settings.SIGNING_CRL_BASE_URL = url + "/crl"

        # (1) B-LTA verification: ours vs pdfsig on the same files
        doc = pdf_render(template_name="signing/pdf/demo_document.html", context={
            "title": "Договор залога", "organization_name": "ТОО Демо", "organization_bin": "160340003066",
            "number": "B-1"})
        files = []
        t0 = time.perf_counter()
        for i in range(args.files):
            path = tmp / f"lta{i}.pdf"
            path.write_bytes(pdf_issue_by_kzhk(pdf=doc, title=f"Документ {i}"))
            files.append(path)
        print(f"{args.files} B-LTA PDFs issued in {time.perf_counter() - t0:.1f} s "
              f"({(time.perf_counter() - t0) / args.files * 1000:.0f} ms each, {files[0].stat().st_size // 1024} KiB)")
        t0 = time.perf_counter()
        for path in files:
            report = verify_upload(path.read_bytes())
            assert report.signatures[0].indication == PASSED and report.signatures[0].level == "B-LTA"
        ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        for path in files:
            out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False).stdout
            assert out.count("Signature #") == 2
        theirs = time.perf_counter() - t0
        print(f"verify B-LTA: signing.verification {args.files / ours:.1f} files/s ({ours / args.files * 1000:.0f} ms),"
              f" pdfsig {args.files / theirs:.1f} files/s ({theirs / args.files * 1000:.0f} ms)"
              f" -> ratio ours/pdfsig throughput {theirs / ours:.2f}x")

        # (2) TSA + OCSP per signature, as a ratio to signing without them
        key = pkcs12_open(data=pki.demo_key("company_head_sign")[0], password=pki.DEMO_PASSWORD)
        now = dt.datetime.now(dt.UTC)
        plain, full = [], []
        for i in range(args.n):
            data = os.urandom(2048) + str(i).encode()
            t0 = time.perf_counter()
            cms = cms_sign(data=data, key=key, signing_time=now)
            plain.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            trust.secure_user_signature(cms_bytes=cms)
            full.append(time.perf_counter() - t0)
        p50s, p95s = statistics.median(plain), _pct(plain, 95)
        p50t, p95t = statistics.median(full), _pct(full, 95)
        print(f"CAdES-BES signing alone: p50 {p50s * 1000:.2f} ms, p95 {p95s * 1000:.2f} ms")
        print(f"TSA + OCSP step (loopback): p50 {p50t * 1000:.2f} ms, p95 {p95t * 1000:.2f} ms"
              f" -> ratio to signing: p50 {p50t / p50s:.1f}x, p95 {p95t / p95s:.1f}x")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
