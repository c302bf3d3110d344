"""BPMS Simbase mock: a stand-in for KZhK's back office, a standalone HTTP service (FastAPI +
uvicorn, its own SQLite, no portal database). Not part of the product: the production image does
not contain it. Run `python -m bpms_mock --port 8090`; API in docs/bpms-api.md."""
