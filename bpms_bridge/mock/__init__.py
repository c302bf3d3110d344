"""BPMS Simbase mock: a standalone HTTP service (own SQLite, no portal database).
Run with `python -m bpms_bridge.mock --port 8090`; API in docs/bpms-api.md."""
