#!/usr/bin/env python3
"""Load, scaling and soak benchmark of `bitnet serve` (loopback only,
bounded in time and count; standard library only).

  serve_load.py --binary build/bin/bitnet -m MODEL [server flags after --]
      starts the server on a free port and stops it at the end
  serve_load.py --url http://127.0.0.1:8080
      uses a running server

Modes (any combination):
  --clients N --duration S   N concurrent streaming clients for S seconds:
                             errors, p50/p99 time to first token and
                             inter-token latency, aggregate tokens/s, and
                             /health latency (p50/p99) probed meanwhile
  --scaling 1,16             aggregate decode tokens/s with k streams, side
                             by side, and the ratio to the first
  --soak S                   S seconds of load with RSS sampled every
                             --rss-every seconds; the slope after warm-up
                             (--warmup seconds, default the first quarter)
                             in MB/hour

Every figure is a median or percentile of this run; the host's other load
shows in them, so compare runs made together."""
import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

PROMPTS = ["Once upon a time", "The king said unto", "In the beginning", "And the LORD spake unto Moses, saying",
           "Blessed are the", "He went up into the mountain", "Thou shalt not", "The children of Israel"]


def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


async def http(host, port, method, path, body=None, timeout=600):
    """One request on a fresh connection: (status, body bytes)."""
    r, w = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    data = json.dumps(body).encode() if body is not None else b""
    w.write(("%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nContent-Type: application/json\r\n"
             "Content-Length: %d\r\n\r\n" % (method, path, host, len(data))).encode() + data)
    await w.drain()
    raw = await asyncio.wait_for(r.read(), timeout)
    w.close()
    head, _, rest = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), rest


async def stream(host, port, body, stats, timeout=600):
    """One streaming completion: records TTFT, gaps between tokens, tokens."""
    t0 = time.perf_counter()
    r, w = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    data = json.dumps(dict(body, stream=True, stream_options={"include_usage": True})).encode()
    w.write(("POST /v1/completions HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
             "Content-Length: %d\r\n\r\n" % (host, len(data))).encode() + data)
    await w.drain()
    status = await asyncio.wait_for(r.readline(), timeout)
    if b" 200 " not in status:
        stats["errors"] += 1
        stats["error_samples"].append(status.decode(errors="replace").strip())
        w.close()
        return
    chunked = False
    while True:
        line = await asyncio.wait_for(r.readline(), timeout)
        if line.lower().startswith(b"transfer-encoding: chunked"):
            chunked = True
        if line in (b"\r\n", b""):
            break
    last, first, done, ntok = None, True, False, 0
    buf = b""
    while not done:
        if chunked:
            size = await asyncio.wait_for(r.readline(), timeout)
            n = int(size.strip() or b"0", 16)
            if n == 0:
                break
            part = await asyncio.wait_for(r.readexactly(n + 2), timeout)
            buf += part[:-2]
        else:
            part = await asyncio.wait_for(r.read(65536), timeout)
            if not part:
                break
            buf += part
        while b"\n\n" in buf:
            ev, buf = buf.split(b"\n\n", 1)
            if not ev.startswith(b"data: "):
                continue
            payload = ev[6:]
            if payload == b"[DONE]":
                done = True
                break
            obj = json.loads(payload)
            if "error" in obj:
                stats["errors"] += 1
                stats["error_samples"].append(str(obj["error"])[:200])
                w.close()
                return
            now = time.perf_counter()
            if obj.get("usage"):
                ntok = obj["usage"]["completion_tokens"]
            if any(c.get("text") for c in obj.get("choices", [])):
                if first:
                    stats["ttft"].append(now - t0)
                    first = False
                elif last is not None:
                    stats["itl"].append(now - last)
                last = now
    w.close()
    if not done:
        stats["errors"] += 1
        stats["error_samples"].append("stream ended without [DONE]")
        return
    stats["ok"] += 1
    stats["tokens"] += ntok


def new_stats():
    return {"ok": 0, "errors": 0, "tokens": 0, "ttft": [], "itl": [], "health": [], "error_samples": []}


async def client_loop(host, port, stats, until, max_tokens, i):
    k = i
    while time.perf_counter() < until:
        body = {"prompt": PROMPTS[k % len(PROMPTS)], "max_tokens": max_tokens, "temperature": 0.8, "seed": k}
        k += 7
        try:
            await stream(host, port, body, stats)
        except (OSError, asyncio.TimeoutError, ValueError) as e:
            stats["errors"] += 1
            stats["error_samples"].append(repr(e)[:200])


async def health_loop(host, port, stats, until):
    while time.perf_counter() < until:
        t = time.perf_counter()
        st, _ = await http(host, port, "GET", "/health", timeout=30)
        if st == 200:
            stats["health"].append(time.perf_counter() - t)
        await asyncio.sleep(0.1)


async def load(host, port, clients, duration, max_tokens, rss=None, rss_every=5.0):
    stats = new_stats()
    t0 = time.perf_counter()
    until = t0 + duration
    tasks = [client_loop(host, port, stats, until, max_tokens, i) for i in range(clients)]
    tasks.append(health_loop(host, port, stats, until))
    samples = []
    if rss:
        async def sampler():
            while time.perf_counter() < until:
                samples.append((time.perf_counter() - t0, rss()))
                await asyncio.sleep(rss_every)
        tasks.append(sampler())
    await asyncio.gather(*tasks)
    stats["wall"] = time.perf_counter() - t0
    stats["rss"] = samples
    return stats


def report(label, s):
    tps = s["tokens"] / s["wall"] if s["wall"] else 0
    print("%s: %d requests ok, %d errors in %.0f s; aggregate %.1f tokens/s" % (label, s["ok"], s["errors"], s["wall"],
                                                                              tps))
    print("  time to first token  p50 %7.1f ms  p99 %7.1f ms  (%d)" % (1e3 * pct(s["ttft"], 50),
                                                                       1e3 * pct(s["ttft"], 99), len(s["ttft"])))
    print("  inter-token latency  p50 %7.1f ms  p99 %7.1f ms  (%d)" % (1e3 * pct(s["itl"], 50),
                                                                       1e3 * pct(s["itl"], 99), len(s["itl"])))
    print("  GET /health          p50 %7.2f ms  p99 %7.2f ms  (%d)" % (1e3 * pct(s["health"], 50),
                                                                       1e3 * pct(s["health"], 99), len(s["health"])))
    for e in s["error_samples"][:5]:
        print("  error:", e)
    return tps


def slope_mb_per_hour(samples, warmup):
    """Least-squares slope of RSS (KiB) over time (s) after warmup seconds
    (default: the first quarter of the run)."""
    if warmup is None:
        warmup = samples[-1][0] / 4 if samples else 0
    pts = [p for p in samples if p[0] >= warmup]
    if len(pts) < 3:
        return float("nan")
    xs, ys = [p[0] for p in pts], [p[1] / 1024.0 for p in pts]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den * 3600 if den else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary")
    ap.add_argument("-m", "--model")
    ap.add_argument("--url")
    ap.add_argument("--clients", type=int, default=0)
    ap.add_argument("--duration", type=float, default=120)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--scaling", default="")
    ap.add_argument("--scaling-seconds", type=float, default=30)
    ap.add_argument("--soak", type=float, default=0)
    ap.add_argument("--soak-clients", type=int, default=16)
    ap.add_argument("--rss-every", type=float, default=5)
    ap.add_argument("--warmup", type=float, default=None, help="seconds of the soak before the slope is taken "
                    "(default: a quarter of it)")
    ap.add_argument("server_args", nargs="*", help="after --: flags for bitnet serve")
    a = ap.parse_args()
    if not a.clients and not a.scaling and not a.soak:
        ap.error("give --clients, --scaling or --soak")
    proc = None
    if a.binary:
        logf = tempfile.NamedTemporaryFile("w+", prefix="serve-load-", suffix=".log", delete=False)
        argv = [a.binary, "serve", "--port", "0"] + (["-m", a.model] if a.model else []) + a.server_args
        print("server:", " ".join(argv), " (log: %s)" % logf.name)
        proc = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT)
        port = None
        for _ in range(6000):
            time.sleep(0.1)
            if proc.poll() is not None:
                sys.exit("server exited:\n" + open(logf.name).read())
            txt = open(logf.name).read()
            m = re.search(r"listening on http://[^:]+:(\d+)", txt)
            if m and "ready (" in txt:
                port = int(m.group(1))
                break
        if not port:
            proc.kill()
            sys.exit("server not ready")
        host = "127.0.0.1"
    else:
        m = re.match(r"http://([^:/]+):(\d+)", a.url or "")
        if not m:
            ap.error("--url http://HOST:PORT or --binary")
        host, port = m.group(1), int(m.group(2))

    def rss():
        with open("/proc/%d/status" % proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    rc = 0
    try:
        if a.scaling:
            ks = [int(x) for x in a.scaling.split(",")]
            res = []
            for k in ks:
                s = asyncio.run(load(host, port, k, a.scaling_seconds, a.max_tokens))
                res.append(report("%d streams" % k, s))
                rc |= s["errors"] > 0
            for k, t in zip(ks, res):
                print("scaling: %3d streams %8.1f tokens/s  x%.2f of %d stream(s)" % (k, t, t / res[0], ks[0]))
        if a.clients:
            s = asyncio.run(load(host, port, a.clients, a.duration, a.max_tokens))
            report("%d clients" % a.clients, s)
            rc |= s["errors"] > 0
        if a.soak:
            if not proc:
                sys.exit("--soak needs --binary (it samples the server's RSS)")
            s = asyncio.run(load(host, port, a.soak_clients, a.soak, a.max_tokens, rss, a.rss_every))
            report("soak %d clients" % a.soak_clients, s)
            r = s["rss"]
            print("soak: RSS %.1f MB at start, %.1f MB at the end, %d samples; slope after %.0f s of warm-up "
                  "%.2f MB/hour" % (r[0][1] / 1024, r[-1][1] / 1024, len(r),
                                    a.warmup if a.warmup is not None else r[-1][0] / 4,
                                    slope_mb_per_hour(r, a.warmup)))
            step = max(1, len(r) // 10)
            print("soak: RSS over time: " + ", ".join("%.0fs %.1fMB" % (t, k / 1024) for t, k in r[::step]))
            rc |= s["errors"] > 0
    finally:
        if proc:
            proc.terminate()
            proc.wait(60)
    sys.exit(1 if rc else 0)


if __name__ == "__main__":
    main()
