"""bench/cms_verify.py — CMS (CAdES-BES, detached) verification throughput: signing.cms.cms_verify
against `openssl cms -verify` on the same signatures and documents.

Both sides do the same cryptographic work per signature: parse the CMS, digest the document,
check messageDigest, verify the RSA-2048 signature over the signed attributes and check the
chain to the test root. Ours additionally checks the CRL, signing-certificate-v2 and decodes the
NCA subject (IIN/BIN/roles). OpenSSL runs one `openssl cms -verify` process per signature, how a
shell script or a service shelling out would do it (process start-up included — the CLI has no
batch mode for CMS). We also print the raw RSA-2048 verify ceiling from `openssl speed` for scale.
Uses a throw-away PKI in a temp dir (no database).

    .venv/bin/python bench/cms_verify.py [--n 300]
"""

import argparse
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300, help="signatures to verify")
    args = parser.parse_args()
    if shutil.which("openssl") is None:
        sys.exit("openssl CLI not found")

    tmp = Path(tempfile.mkdtemp(prefix="bench-cms-"))
    os.environ["HOMEPORTAL_VAR_DIR"] = str(tmp)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "homeportal.settings")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp / 'db.sqlite3'}")
    import django

    django.setup()
    from signing import pki
    from signing.certs import pkcs12_open
    from signing.cms import cms_sign, cms_verify

    try:
        t0 = time.perf_counter()
        base = pki.ensure_pki()
        print(f"test PKI generated in {time.perf_counter() - t0:.1f} s at {base}")
        keys = [pkcs12_open(data=pki.demo_key(slug)[0], password=pki.DEMO_PASSWORD)
                for slug in ("company_head_sign", "company_signer_sign", "developer_head_sign")]
        now = dt.datetime.now(dt.UTC)
        work = tmp / "sigs"
        work.mkdir()
        items = []
        for i in range(args.n):
            doc = os.urandom(2048) + f"document {i}".encode()
            sig = cms_sign(data=doc, key=keys[i % len(keys)], signing_time=now)
            (work / f"{i}.doc").write_bytes(doc)
            (work / f"{i}.cms").write_bytes(sig)
            items.append((doc, sig))
        root = str(base / "root.pem")

        # ours, in process
        cms_verify(cms_bytes=items[0][1], data=items[0][0])  # warm caches / imports
        t0 = time.perf_counter()
        for doc, sig in items:
            [s] = cms_verify(cms_bytes=sig, data=doc).signatures
            assert s.ok, s.problems
        ours = time.perf_counter() - t0

        # ours without the certificate path (signature + digest only), for comparison
        t0 = time.perf_counter()
        for doc, sig in items:
            cms_verify(cms_bytes=sig, data=doc, check_certificates=False)
        ours_sig_only = time.perf_counter() - t0

        # openssl, one process per signature
        t0 = time.perf_counter()
        for i in range(args.n):
            subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", work / f"{i}.cms",
                            "-content", work / f"{i}.doc", "-CAfile", root, "-purpose", "any", "-out", os.devnull],
                           check=True, capture_output=True)
        openssl = time.perf_counter() - t0

        # raw RSA-2048 verify ceiling
        speed = subprocess.run(["openssl", "speed", "-seconds", "1", "rsa2048"], capture_output=True, text=True,
                               check=False).stdout
        m = re.search(r"rsa\s+2048 bits\s+[\d.]+s\s+[\d.]+s\s+([\d.]+)\s+([\d.]+)", speed)
        rsa_verify_per_s = float(m.group(2)) if m else None

        n = args.n
        print(f"signatures: {n} (RSA-2048, sha256, detached, 2 KiB documents)")
        print(f"signing.cms.cms_verify (full: chain + CRL + attrs): {n / ours:8.0f} verifications/s "
              f"({ours / n * 1000:.2f} ms each)")
        print(f"signing.cms.cms_verify (signature + digest only):   {n / ours_sig_only:8.0f} verifications/s")
        print(f"openssl cms -verify, one process per signature:     {n / openssl:8.0f} verifications/s "
              f"({openssl / n * 1000:.2f} ms each)")
        if rsa_verify_per_s:
            print(f"openssl speed rsa2048 (raw verify, 1 core):          {rsa_verify_per_s:8.0f} verifications/s")
        print(f"RATIO ours / openssl cms -verify = {openssl / ours:.2f}x  (>1 means faster than openssl per file)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
