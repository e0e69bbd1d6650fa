"""Scale-out on HAProxy with deploy/haproxy.cfg (loopback only, bounded):
two `bitnet serve` processes behind it, streaming load through it, one
server killed (SIGKILL) mid-load. At most the requests in flight on the
killed server fail; everything after the health check noticed is served by
the other one.

usage: test_scaleout.py BITNET_BINARY [HAPROXY]"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serverlib import Server, Stream  # noqa: E402

BIN = sys.argv[1]
HAPROXY = sys.argv[2] if len(sys.argv) > 2 else shutil.which("haproxy") or "/usr/sbin/haproxy"
PARALLEL = 4
SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def haproxy_config(front, backs):
    """deploy/haproxy.cfg with this test's ports: the shipped file is what runs."""
    cfg = open(os.path.join(SRC, "deploy", "haproxy.cfg")).read()
    cfg = re.sub(r"bind 127\.0\.0\.1:\d+", "bind 127.0.0.1:%d" % front, cfg)
    cfg = re.sub(r"maxconn 16\b", "maxconn %d" % PARALLEL, cfg)
    lines = [l for l in cfg.splitlines() if not re.match(r"\s*server s\d", l)]
    lines += ["    server s%d 127.0.0.1:%d" % (i + 1, p) for i, p in enumerate(backs)]
    assert "balance leastconn" in cfg and "option httpchk GET /health/ready" in cfg
    return "\n".join(lines) + "\n"


class Front:
    port = None


def main():
    if not os.access(HAPROXY, os.X_OK):
        print("FAIL: haproxy not found at %s (Debian: apt-get install haproxy)" % HAPROXY)
        return 1
    common = ["-c", "512", "-t", "1", "--parallel", str(PARALLEL)]
    with Server(BIN, *common) as s1, Server(BIN, *common) as s2:
        front = free_port()
        d = tempfile.mkdtemp()
        cfgp = os.path.join(d, "haproxy.cfg")
        open(cfgp, "w").write(haproxy_config(front, [s1.port, s2.port]))
        ha_log = open(os.path.join(d, "haproxy.log"), "w+")
        ha = subprocess.Popen([HAPROXY, "-f", cfgp, "-db"], stdout=ha_log, stderr=subprocess.STDOUT)
        try:
            f = Front()
            f.port = front
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", front), 1).close()
                    break
                except OSError:
                    time.sleep(0.05)
            results = []  # (start, end, error)
            stop_at = time.time() + 14
            lock = threading.Lock()

            def worker(i):
                k = i
                while time.time() < stop_at:
                    t = Stream(f, {"prompt": "Once upon a time %d" % k, "max_tokens": 24, "temperature": 0.7,
                                   "seed": k})
                    t0 = time.time()
                    t.run()
                    with lock:
                        results.append((t0, time.time(), t.error))
                    k += 16

            threads = [threading.Thread(target=worker, args=(i,)) for i in range(2 * PARALLEL)]
            for t in threads:
                t.start()
            time.sleep(5)
            t_kill = time.time()
            s1.proc.kill()
            s1.proc.wait()  # requests that began before it was gone count as in flight on it
            kill_t = time.time()
            for t in threads:
                t.join(120)
            before = [r for r in results if r[1] < t_kill]
            during = [r for r in results if r[0] < t_kill <= r[1]]  # on a server when the signal went
            window = [r for r in results if t_kill <= r[0] < kill_t]  # sent while it was dying
            after = [r for r in results if r[0] >= kill_t]
            failed_during = [r for r in during if r[2]]
            failed_after = [r for r in after if r[2]]
            print("requests: %d done before the kill, %d in flight at it (%d failed), %d sent in the %.0f ms it "
                  "took to die (%d failed), %d sent after (%d failed)" % (
                      len(before), len(during), len(failed_during), len(window), 1e3 * (kill_t - t_kill),
                      sum(1 for r in window if r[2]), len(after), len(failed_after)))
            for r in (failed_during + failed_after)[:5]:
                print("  error:", r[2])
            ok = True
            if any(r[2] for r in before):
                print("FAIL: requests failed before any server was killed")
                ok = False
            if len(failed_during) > PARALLEL:
                print("FAIL: more requests failed than the killed server had slots (%d)" % PARALLEL)
                ok = False
            if failed_after:
                print("FAIL: requests sent after the kill failed")
                ok = False
            if len(after) < 4 or not len(before):
                print("FAIL: too little traffic to tell (%d before, %d after)" % (len(before), len(after)))
                ok = False
            if not ok:
                ha_log.seek(0)
                print("haproxy log (end):\n" + ha_log.read()[-3000:])
                print("server 2 log (end):\n" + s2.text()[-2000:])
            print("PASS scale-out" if ok else "FAIL scale-out")
            return 0 if ok else 1
        finally:
            ha.terminate()
            ha.wait(10)


if __name__ == "__main__":
    sys.exit(main())
