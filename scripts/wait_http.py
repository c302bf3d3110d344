"""Wait until a URL answers 2xx: `python scripts/wait_http.py URL [SECONDS]` (exit 1 on timeout).

Used by `make run` to let a stand-in come up before the step that needs it.
"""

import sys
import time

import httpx


def main() -> int:
    url, seconds = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 30.0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1.0).raise_for_status()
            return 0
        except httpx.HTTPError:
            time.sleep(0.2)
    print(f"{url} did not answer within {seconds:.0f} s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
