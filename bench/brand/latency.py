#!/usr/bin/env python3
"""Polls summary:brand:<brand> of every brand (GETRANGE of the first bytes, pipelined) and records when each brand's
totalChunks first reaches each value; then joins with the simulator's push timestamps (chunkId, brand, unixMs per push,
in push order) to get, per chunk, push-to-summary latency: the first poll at which its brand's totalChunks counted it.
Usage: latency.py PORT BRANDS_FILE TOTAL_EXPECTED OUT_SAMPLES  (polls until the sum of totalChunks reaches TOTAL_EXPECTED)
       latency.py --report TIMESTAMPS_FILE SAMPLES_FILE [START_MS]
With START_MS (a drain: everything was pushed before the brands were registered at START_MS) only the rate is
reported, counted from START_MS.
"""
import re, socket, sys, time

def poll(port, brands, total, out):
    sock = socket.create_connection(("127.0.0.1", port))
    stream = sock.makefile("rb")
    keys = [("summary:brand:" + b).encode() for b in brands]
    request = b"".join(b"*4\r\n$8\r\nGETRANGE\r\n$%d\r\n%s\r\n$1\r\n0\r\n$3\r\n160\r\n" % (len(k), k) for k in keys)
    pattern = re.compile(rb'"totalChunks":(\d+)')
    last = {b: 0 for b in brands}
    deadline = time.time() + 1800
    with open(out, "w") as samples:
        while time.time() < deadline:
            sock.sendall(request)
            now = int(time.time() * 1000)
            for b in brands:
                header = stream.readline()
                length = int(header[1:])
                body = stream.read(length + 2) if length >= 0 else b""
                m = pattern.search(body)
                n = int(m.group(1)) if m else 0
                if n > last[b]:
                    samples.write(f"{b}\t{n}\t{now}\n")
                    last[b] = n
            if sum(last.values()) >= total:
                return
            time.sleep(0.01)
    sys.exit("timed out")

def report(timestamps, samples, start=None):
    reached = {}
    for line in open(samples):
        b, n, t = line.rstrip("\n").split("\t")
        reached.setdefault(b, []).append((int(n), int(t)))
    counts, latencies, first_push, last_merge = {}, [], None, 0
    for line in open(timestamps):
        chunk, b, t = line.rstrip("\n").split("\t")
        t = int(t)
        first_push = t if first_push is None else min(first_push, t)
        counts[b] = counts.get(b, 0) + 1
        k = counts[b]
        merged = next(at for n, at in reached[b] if n >= k)
        last_merge = max(last_merge, merged)
        latencies.append(merged - t)
    latencies.sort()
    def pct(p): return latencies[min(len(latencies) - 1, int(p * len(latencies)))]
    if start is not None:
        seconds = (last_merge - start) / 1000
        print(f"drain: {len(latencies)} chunks merged {seconds:.2f} s after the brands were registered: {len(latencies) / seconds:,.0f} chunks/s")
        return
    seconds = (last_merge - first_push) / 1000
    print(f"paced: {len(latencies)} chunks, first push to last merged {seconds:.2f} s: {len(latencies) / seconds:,.0f} chunks/s")
    print(f"push-to-summary latency ms: p50 {pct(0.5)}  p90 {pct(0.9)}  p99 {pct(0.99)}  max {latencies[-1]}")

if __name__ == "__main__":
    if sys.argv[1] == "--report":
        report(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else None)
    else:
        brands = [l.strip() for l in open(sys.argv[2]) if l.strip()]
        poll(int(sys.argv[1]), brands, int(sys.argv[3]), sys.argv[4])
