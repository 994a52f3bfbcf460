"""Writes a metrics directory with Python's own client, as PIDS processes of one app would.
Usage: PYTHONPATH=<client_python> python3 bench/write_python_dir.py DIR PIDS COUNTERS HISTOGRAMS
Each pid has COUNTERS counter series and HISTOGRAMS histogram series (default buckets), the same
label sets in every pid, in the same order; values differ per pid."""
import os, sys

out, pids, counters, histograms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
os.makedirs(out, exist_ok=True)
os.environ['PROMETHEUS_MULTIPROC_DIR'] = out
from prometheus_client import values, Counter, Histogram

for index in range(pids):
    pid = 1000 + index
    values.ValueClass = values.MultiProcessValue(lambda: pid)
    requests = Counter('http_requests_total', 'Requests.', ['method', 'route'], registry=None)
    latency = Histogram('http_request_duration_seconds', 'Latency.', ['route'], registry=None)
    for i in range(counters):
        requests.labels('GET', '/api/v1/resource/%d' % i).inc(index + i)
    for i in range(histograms):
        latency.labels('/api/v1/resource/%d' % i).observe(0.001 * (index + i))
