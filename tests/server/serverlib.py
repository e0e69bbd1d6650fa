"""Start and talk to a `bitnet serve` process in tests (loopback only)."""
import http.client
import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import time


class Server:
    """A server process on a free port; stop() (or the with-block) ends it."""

    def __init__(self, binary, *args, api_key=None, admin_key=None, env=None, ready_timeout=120):
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="bitnet-serve-test-")
        argv = [binary, "serve", "--port", "0", *args]
        if api_key:
            p = os.path.join(self.dir, "keys")
            with open(p, "w") as f:
                f.write("# test keys\n\n%s\n" % api_key)
            argv += ["--api-key-file", p]
        if admin_key:
            p = os.path.join(self.dir, "admin")
            with open(p, "w") as f:
                f.write(admin_key + "\n")
            argv += ["--admin-key-file", p]
        e = dict(os.environ)
        e.setdefault("BITNET_CONFIG", os.path.join(self.dir, "none.ini"))
        open(e["BITNET_CONFIG"], "a").close()
        if env:
            e.update(env)
        self.log_path = os.path.join(self.dir, "server.log")
        self.log = open(self.log_path, "w+")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=e)
        self.port = None
        deadline = time.time() + ready_timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited with %d:\n%s" % (self.proc.returncode, self.text()))
            m = re.search(r"listening on http://[^:]+:(\d+)", self.text())
            if m and not self.port:
                self.port = int(m.group(1))
            if self.port:
                try:
                    st, _, _ = self.request("GET", "/health/ready")
                    if st == 200:
                        return
                except OSError:
                    pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("server not ready in %d s:\n%s" % (ready_timeout, self.text()))

    def text(self):
        with open(self.log_path) as f:
            return f.read()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def request(self, method, path, body=None, headers=None, timeout=60):
        """(status, headers dict, body bytes)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
            h = {"Content-Type": "application/json"} if body is not None else {}
            h.update(headers or {})
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()

    def json(self, method, path, body=None, headers=None, timeout=60):
        st, h, b = self.request(method, path, body, headers, timeout)
        return st, json.loads(b) if b else None

    def metrics(self):
        """{'name{labels}': value} of /metrics."""
        st, _, b = self.request("GET", "/metrics")
        assert st == 200, st
        out = {}
        for line in b.decode().splitlines():
            if line and not line.startswith("#"):
                k, v = line.rsplit(" ", 1)
                out[k] = float(v)
        return out

    def metric(self, name, **labels):
        """Sum of the series of name whose labels include these."""
        tot = 0.0
        for k, v in self.metrics().items():
            base = k.split("{", 1)[0]
            if base != name:
                continue
            if all('%s="%s"' % (a, b) in k for a, b in labels.items()):
                tot += v
        return tot

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError("server did not stop within %d s of SIGTERM" % timeout)
        self.log.close()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def sse_events(resp):
    """Yield the parsed `data:` payloads of an SSE response (http.client)."""
    buf = b""
    while True:
        chunk = resp.read1(65536) if hasattr(resp, "read1") else resp.read(1)
        if not chunk:
            return
        buf += chunk
        while b"\n\n" in buf:
            ev, buf = buf.split(b"\n\n", 1)
            for line in ev.split(b"\n"):
                if line.startswith(b"data: "):
                    d = line[6:]
                    yield d if d == b"[DONE]" else json.loads(d)


class Stream(threading.Thread):
    """A streaming completion in a thread: token arrival times and text."""

    def __init__(self, server, body, path="/v1/completions", headers=None):
        super().__init__(daemon=True)
        self.server, self.body, self.path, self.headers = server, dict(body, stream=True), path, headers or {}
        self.times, self.text, self.error, self.finish, self.done = [], "", None, None, False

    def run(self):
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=300)
            h = {"Content-Type": "application/json", **self.headers}
            c.request("POST", self.path, body=json.dumps(self.body), headers=h)
            r = c.getresponse()
            if r.status != 200:
                self.error = "HTTP %d: %s" % (r.status, r.read()[:300])
                return
            for ev in sse_events(r):
                if ev == b"[DONE]":
                    self.done = True
                    break
                if "error" in ev:
                    self.error = ev["error"]
                    break
                for ch in ev.get("choices", []):
                    t = ch.get("text")
                    if t is None:
                        t = (ch.get("delta") or {}).get("content") or ""
                    if t:
                        self.times.append(time.time())
                        self.text += t
                    if ch.get("finish_reason"):
                        self.finish = ch["finish_reason"]
            c.close()
            if not self.done and not self.error:
                self.error = "stream ended without [DONE]"
        except Exception as e:  # reported by the test
            self.error = repr(e)

    def max_gap(self):
        return max((b - a for a, b in zip(self.times, self.times[1:])), default=0.0)
