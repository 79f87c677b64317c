"""Container healthcheck: exit 0 if the URL answers with a status below 400.

python:3.10-slim has no curl; this needs only the standard library.
Usage: python deploy/healthcheck.py http://127.0.0.1:5005/
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request


def main(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return 0 if response.status < 400 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5005/"))
