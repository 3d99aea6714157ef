#!/usr/bin/env python3
"""Probes GET /health on 127.0.0.1:<port> about every 10 ms for <seconds> over one kept-alive connection and prints one
line: the probes sent and every one that took 50 ms or more (seconds since the start, milliseconds taken). Used by
run-gateway.sh PROBE=1 on the gateway and on the worker-node stand-in at once, to tell which process paused."""
import http.client
import sys
import time

port, seconds, label = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
start = time.monotonic()
sent = 0
slow = []
connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
while time.monotonic() - start < seconds:
    began = time.monotonic()
    try:
        connection.request("GET", "/health")
        connection.getresponse().read()
    except (OSError, http.client.HTTPException):
        connection.close()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        continue
    took = (time.monotonic() - began) * 1000
    sent += 1
    if took >= 50:
        slow.append(f"{began - start:.1f} s: {took:.0f} ms")
    time.sleep(0.01)
print(f"{label}: {sent} probes, {len(slow)} of 50 ms or more{': ' + ', '.join(slow) if slow else ''}")
