"""Stand-in for NCALayer (НУЦ РК's signing program on the user's computer), for the demo and the
tests only. It speaks NCALayer's WebSocket JSON protocol on the same address
(`wss://127.0.0.1:13579/`, `ws://` with --ws): the `kz.gov.pki.knca.basics` module's `sign` and
the older `kz.gov.pki.knca.commonUtils` calls (getActiveTokens, getKeyInfo,
createCAdESFromBase64, createCAdESFromBase64Hash, changeLocale), with the answers' shapes that
NCALayer gives, and makes real CMS (CAdES-BES, sha256WithRSA) with the demo keys of the test PKI
(signing.pki, `var/pki/demo-keys.json`).

Where NCALayer shows its own dialog (choose the key, type its password), the emulator has a small
HTTP page (http://127.0.0.1:13580/): the sign request waits until the person answers there. Or it
answers by itself: `--key company_head_sign --password Qwerty12` (a wrong password answers like
NCALayer's failed key store), `--cancel` (the user pressed «Отмена»). "No NCALayer" is the port
closed: don't start it. `python -m ncalayer_emulator --help`; docs/signing.md (NCALayer),
docs/demo.md.

No Django, no database: it reads the PKI directory only. `make run` (Procfile), the tests
(conftest.py) and compose's dev profile start it; the production image never contains it
(.dockerignore).
"""
