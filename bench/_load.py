"""HTTP load for the benchmarks that measure pages under gunicorn: keep-alive
connections from a few threads, GETs for a fixed time, latencies and statuses."""

import http.client
import threading
import time
from collections import Counter


def percentile(values, share):
    """The value below which ``share`` (0..1) of ``values`` lie; NaN for none."""
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * share))] if values else float("nan")


def hammer(port, requests, *, seconds, concurrency, host="127.0.0.1"):
    """GET ``requests`` (a list of (path, headers)) in turn from ``concurrency`` threads,
    each on one keep-alive connection, for ``seconds``: (requests a second, latencies in
    ms, statuses)."""
    deadline = time.monotonic() + seconds
    latencies, statuses, lock = [], Counter(), threading.Lock()

    def client(offset):
        conn = http.client.HTTPConnection(host, port, timeout=60)
        n, mine, codes = offset, [], Counter()
        while time.monotonic() < deadline:
            path, headers = requests[n % len(requests)]
            n += concurrency
            started = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - started) * 1000)
            codes[response.status] += 1
            if response.will_close:
                conn.close()
        with lock:
            latencies.extend(mine)
            statuses.update(codes)

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies) / (time.monotonic() - started), latencies, statuses
