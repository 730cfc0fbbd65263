"""Python anchors of `cargo xtask bench`: what a Python user would write.

    python3 anchor.py <mode> <url>

Modes:

- ``requests-json``: ``requests.post(...)`` then ``response.json()``;
- ``requests-orjson``: ``requests.post(...)`` then ``orjson.loads(response.content)``;
- ``pydruid``: pydruid's DB-API cursor (``pydruid.db.connect``), iterated.

Each runs the bench's query once against ``url`` and prints one JSON line,
the same as ``bench-client``: ``wall_ms`` and ``cpu_ms`` of the work (imports
excluded), the rows and checksum it saw (``cities``: rows whose
``cityName`` is neither null nor empty), and its peak RSS (``VmHWM``).

These are measurement references only, never dependencies of the project.
"""

import json
import os
import sys
import time
from urllib.parse import urlparse

TABLE = os.environ.get("BENCH_TABLE", "wikipedia").replace('"', '""')
QUERY = (
    'SELECT __time, channel, page, "user", isRobot, added, deleted, delta, '
    f'countryName, cityName FROM "{TABLE}"'
)


def peak_rss_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def checksum_dicts(rows):
    added = delta = cities = count = 0
    for row in rows:
        count += 1
        added += row["added"]
        delta += row["delta"]
        if row["cityName"]:
            cities += 1
    return count, added, delta, cities


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: anchor.py <requests-json|requests-orjson|pydruid> <url>")
    mode, url = sys.argv[1], sys.argv[2].rstrip("/")
    body = {"query": QUERY, "resultFormat": "object"}
    size = None
    if mode == "requests-json":
        import requests

        wall, cpu = time.perf_counter(), time.process_time()
        response = requests.post(url + "/druid/v2/sql", json=body)
        response.raise_for_status()
        seen = checksum_dicts(response.json())
        size = len(response.content)
    elif mode == "requests-orjson":
        import orjson
        import requests

        wall, cpu = time.perf_counter(), time.process_time()
        response = requests.post(url + "/druid/v2/sql", json=body)
        response.raise_for_status()
        seen = checksum_dicts(orjson.loads(response.content))
        size = len(response.content)
    elif mode == "pydruid":
        from pydruid.db import connect

        parsed = urlparse(url)
        wall, cpu = time.perf_counter(), time.process_time()
        connection = connect(
            host=parsed.hostname, port=parsed.port, path="/druid/v2/sql/", scheme="http"
        )
        cursor = connection.cursor()
        cursor.execute(QUERY)
        added = delta = cities = count = 0
        # Rows are named tuples in column order: added, delta, cityName.
        for row in cursor:
            count += 1
            added += row[5]
            delta += row[7]
            if row[9]:
                cities += 1
        seen = (count, added, delta, cities)
    else:
        sys.exit(f"unknown mode {mode!r}")
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    rows, added, delta, cities = seen
    print(
        json.dumps(
            {
                "variant": mode,
                "status": "ok",
                "wall_ms": wall * 1e3,
                "cpu_ms": cpu * 1e3,
                "rows": rows,
                "added_sum": added,
                "delta_sum": delta,
                "cities": cities,
                "bytes": size,
                "rss_kib": peak_rss_kib(),
            }
        )
    )


if __name__ == "__main__":
    main()
