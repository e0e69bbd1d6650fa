"""`bitnet serve` end to end on the bundled model: the official openai
client, the scheduler's batching, cancellation, queue limits, hostile
requests, metrics, tokenize, hot swap.

usage: test_api.py BITNET_BINARY
Each check prints PASS/FAIL; the exit status is the number of failures.
Every server must exit 0 on SIGTERM with no sanitizer report in its log
(the ASan build runs this too)."""
import concurrent.futures as cf
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serverlib import Server, Stream, sse_events  # noqa: E402

import openai  # noqa: E402

BIN = sys.argv[1]
KEY, ADMIN = "sk-test-0123456789", "admin-secret-42"
COMMON = ["-c", "512", "-t", "2"]
PROMPTS = ["Once upon a time", "The king said", "In the beginning", "And the LORD spake unto Moses",
           "Blessed are the", "He went up", "Thou shalt", "The children of Israel"]
failures = []


def check(name):
    def deco(fn):
        def run(*a):
            t0 = time.time()
            try:
                fn(*a)
                print("PASS %-40s %.1f s" % (name, time.time() - t0), flush=True)
            except Exception as e:  # every failure is reported, the rest still run
                import traceback
                traceback.print_exc()
                print("FAIL %-40s %s" % (name, e), flush=True)
                failures.append(name)
        return run
    return deco


def cli_greedy(prompt, n):
    """The CLI's greedy continuation: what a one-sequence run gives."""
    out = subprocess.run([BIN, "run", "-p", prompt, "-n", str(n), "--temp", "0", *COMMON], capture_output=True,
                         text=True, timeout=120, env=dict(os.environ, BITNET_CONFIG=NOCONF))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(prompt), out.stdout
    return out.stdout[len(prompt):]


def client(s, key=KEY, **kw):
    return openai.OpenAI(base_url=s.url + "/v1", api_key=key, **kw)


@check("openai client: completions = CLI greedy")
def t_completion(s):
    want = cli_greedy(PROMPTS[0], 24)
    r = client(s).completions.create(model="default", prompt=PROMPTS[0], max_tokens=24, temperature=0)
    assert r.choices[0].text == want, (r.choices[0].text, want)
    assert r.choices[0].finish_reason == "length"
    assert r.usage.completion_tokens == 24 and r.usage.prompt_tokens > 0
    assert r.object == "text_completion" and r.id.startswith("cmpl-")


@check("openai client: chat, streamed, include_usage")
def t_chat_stream(s):
    c = client(s)
    full = c.chat.completions.create(model="default", messages=[{"role": "system", "content": "Be brief."},
                                                                 {"role": "user", "content": "Who was Moses?"}],
                                     max_tokens=16, temperature=0)
    text, usage, finish, n_chunks = "", None, None, 0
    for ch in c.chat.completions.create(model="default", messages=[{"role": "system", "content": "Be brief."},
                                                                    {"role": "user", "content": "Who was Moses?"}],
                                        max_tokens=16, temperature=0, stream=True,
                                        stream_options={"include_usage": True}):
        n_chunks += 1
        if ch.choices:
            text += ch.choices[0].delta.content or ""
            finish = ch.choices[0].finish_reason or finish
        if ch.usage:
            usage = ch.usage
    assert text == full.choices[0].message.content, (text, full.choices[0].message.content)
    assert usage and usage.completion_tokens == full.usage.completion_tokens, usage
    assert finish == full.choices[0].finish_reason
    assert n_chunks >= 3


@check("openai client: errors are typed")
def t_client_errors(s):
    try:
        client(s, key="sk-wrong").completions.create(model="default", prompt="x", max_tokens=2)
        raise AssertionError("a wrong key was accepted")
    except openai.AuthenticationError as e:
        assert e.status_code == 401
    for bad in [dict(max_tokens=0), dict(max_tokens=10 ** 9), dict(temperature=-1), dict(top_p=2)]:
        try:
            client(s).completions.create(model="default", prompt="x", **bad)
            raise AssertionError("accepted %s" % bad)
        except openai.BadRequestError as e:
            assert e.status_code == 400 and e.body["param"] in bad, e.body


@check("stop strings end the text before them")
def t_stop(s):
    want = cli_greedy(PROMPTS[0], 24)
    stop = want[8:12]
    assert stop.strip(), want
    st, r = s.json("POST", "/v1/completions", {"prompt": PROMPTS[0], "max_tokens": 24, "temperature": 0,
                                               "stop": ["zzzzqq", stop]}, {"Authorization": "Bearer " + KEY})
    assert st == 200, r
    got = r["choices"][0]["text"]
    assert got == want[:want.index(stop)], (got, want, stop)
    assert r["choices"][0]["finish_reason"] == "stop"


@check("8 streams at once = each alone (greedy)")
def t_parallel_equivalence(s):
    alone = {p: cli_greedy(p, 20) for p in PROMPTS}
    streams = [Stream(s, {"prompt": p, "max_tokens": 20, "temperature": 0}, headers={"Authorization": "Bearer " + KEY})
               for p in PROMPTS]
    for t in streams:
        t.start()
    for t in streams:
        t.join(180)
    for p, t in zip(PROMPTS, streams):
        assert t.error is None, t.error
        assert t.text == alone[p], (p, t.text, alone[p])


@check("prefix cache: a repeated prompt reuses pages")
def t_prefix(s):
    long_prompt = " ".join(PROMPTS * 6)
    h = {"Authorization": "Bearer " + KEY}
    st, a = s.json("POST", "/v1/completions", {"prompt": long_prompt, "max_tokens": 4, "temperature": 0}, h)
    st2, b = s.json("POST", "/v1/completions", {"prompt": long_prompt, "max_tokens": 4, "temperature": 0}, h)
    assert st == 200 and st2 == 200
    assert b["usage"]["prompt_tokens_details"]["cached_tokens"] >= 64, b["usage"]
    assert a["choices"][0]["text"] == b["choices"][0]["text"]


@check("disconnect cancels within a step, pages back")
def t_cancel(s):
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
    c.request("POST", "/v1/completions", body=json.dumps({"prompt": PROMPTS[1], "max_tokens": 400, "stream": True,
                                                           "temperature": 0}),
              headers={"Content-Type": "application/json", "Authorization": "Bearer " + KEY})
    r = c.getresponse()
    ev = sse_events(r)
    for _ in range(3):
        next(ev)
    aborted = s.metric("bitnet:request_success_total", finished_reason="abort")
    assert s.metric("bitnet:kv_pages_used") > 0
    c.sock.shutdown(socket.SHUT_RDWR)
    c.close()
    t0 = time.time()
    while time.time() - t0 < 5:
        if s.metric("bitnet:request_success_total", finished_reason="abort") > aborted and \
                s.metric("bitnet:kv_pages_used") == 0:
            break
        time.sleep(0.01)
    dt = time.time() - t0
    assert s.metric("bitnet:kv_pages_used") == 0, "pages still mapped"
    assert dt < 2, "cancel took %.2f s" % dt
    print("     cancel seen by /metrics after %.3f s" % dt)


@check("hostile requests get 4xx, server lives")
def t_hostile(s):
    h = {"Authorization": "Bearer " + KEY}
    cases = [
        ("POST", "/v1/completions", b"{not json", 400),
        ("POST", "/v1/completions", b"[1,2,3]", 400),
        ("POST", "/v1/completions", b'{"prompt": "\xc0\xaf"}', 400),          # overlong UTF-8
        ("POST", "/v1/completions", b'{"prompt": "a", "max_tokens": "5"}', 400),
        ("POST", "/v1/completions", b'{"prompt": "a", "max_tokens": -1}', 400),
        ("POST", "/v1/completions", b'{"prompt": "a", "max_tokens": 1e300}', 400),
        ("POST", "/v1/completions", b'{"prompt": "a", "n": 2}', 400),
        ("POST", "/v1/completions", b'{"prompt": [99999999]}', 400),
        ("POST", "/v1/completions", b'{"prompt": "' + b"a b " * 2000 + b'"}', 400),  # longer than the context
        ("POST", "/v1/chat/completions", b'{"messages": []}', 400),
        ("POST", "/v1/chat/completions", b'{"messages": [{"role": "user", "content": 5}]}', 400),
        ("POST", "/v1/chat/completions", b'{"messages": "hi"}', 400),
        ("POST", "/v1/completions", b"{}", 400),
        ("POST", "/tokenize", b'{"content": 5}', 400),
        ("POST", "/detokenize", b'{"tokens": [-1]}', 400),
        ("GET", "/v1/chat/completions", None, 405),
        ("DELETE", "/health", None, 405),
        ("GET", "/v1/nothing", None, 404),
        ("POST", "/admin/model", b'{"action": "swap"}', 401),
    ]
    for method, path, body, want in cases:
        st, hd, b = s.request(method, path, body, h)
        assert st == want, (method, path, body[:60] if body else None, st, b[:200])
        e = json.loads(b)["error"]
        assert set(e) == {"message", "type", "param", "code"} and e["message"], e
    # 10 MB body: refused from its Content-Length, before it is read
    raw = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    raw.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % (10 << 20))
    try:
        raw.sendall(b"x" * (10 << 20))
    except OSError:
        pass  # the server answers and closes without reading it
    resp = raw.recv(4096)
    raw.close()
    assert resp.startswith(b"HTTP/1.1 413"), resp[:100]
    # chunked, no length announced: refused once past the limit
    raw = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    raw.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    try:
        for _ in range(12):
            raw.sendall(b"100000\r\n" + b"x" * (1 << 20) + b"\r\n")
        raw.sendall(b"0\r\n\r\n")
    except OSError:
        pass
    resp = raw.recv(4096)
    raw.close()
    assert resp.startswith(b"HTTP/1.1 413"), resp[:100]
    # a header block larger than the connection's memory
    try:
        st, _, _ = s.request("GET", "/health", None, {"X-Big": "a" * 200000})
        assert st in (413, 431), st
    except (ConnectionError, http.client.HTTPException):
        pass
    # slow headers (slowloris): the idle timeout closes it; others are served meanwhile
    sl = socket.create_connection(("127.0.0.1", s.port))
    sl.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\n")
    t0 = time.time()
    st, _, _ = s.request("GET", "/health")
    assert st == 200 and time.time() - t0 < 1
    sl.settimeout(10)
    try:
        sl.recv(100)  # b"" (closed) or an error status, within the idle timeout (2 s here)
        closed = time.time() - t0
    except socket.timeout:
        closed = None
    except ConnectionError:
        closed = time.time() - t0
    sl.close()
    assert closed is not None and closed < 5, "a connection sending nothing was not closed in 10 s"
    assert s.proc.poll() is None


@check("queue full: 429 + Retry-After, client retries")
def t_queue(binary):
    with Server(binary, *COMMON, "--parallel", "1", "--queue", "0") as s:
        long = Stream(s, {"prompt": PROMPTS[2], "max_tokens": 60, "temperature": 0})
        long.start()
        while not long.times:
            time.sleep(0.01)
        st, hd, b = s.request("POST", "/v1/completions", {"prompt": "x", "max_tokens": 2})
        assert st == 429 and hd.get("retry-after") == "1", (st, hd)
        # the official client retries 429 by itself after Retry-After
        r = client(s, key="none", max_retries=5).completions.create(model="default", prompt="x", max_tokens=2)
        assert r.choices[0].finish_reason in ("length", "stop")
        long.join(60)
        assert long.error is None, long.error
        assert s.metric("bitnet:request_rejected_queue_full_total") >= 2
        clean_exit(s)


@check("preemption under a small KV budget: same text")
def t_preempt(binary):
    # 10 pages of 64 tokens for 4 sequences that grow to ~3 pages each:
    # the newest is preempted and recomputed (its full pages from the cache).
    n = 150
    alone = {p: cli_greedy(p, n) for p in PROMPTS[:4]}
    with Server(binary, *COMMON, "--parallel", "4", "--kv-budget", "1280K") as s:
        streams = [Stream(s, {"prompt": p, "max_tokens": n, "temperature": 0}) for p in PROMPTS[:4]]
        for t in streams:
            t.start()
        for t in streams:
            t.join(300)
        pre = s.metric("bitnet:num_preemptions_total")
        for p, t in zip(PROMPTS, streams):
            assert t.error is None, t.error
            assert t.text == alone[p], (p, t.text[:80], alone[p][:80])
        assert pre > 0, "no preemption happened: the test did not test it"
        print("     %d preemptions" % pre)
        clean_exit(s)


@check("metrics, models, tokenize round trip")
def t_info(s):
    m = s.metrics()
    for name in ["bitnet:num_requests_running", "bitnet:num_requests_waiting", "bitnet:kv_cache_usage_perc",
                 "bitnet:prompt_tokens_total", "bitnet:generation_tokens_total",
                 "bitnet:time_to_first_token_seconds_count", "bitnet:inter_token_latency_seconds_bucket",
                 "bitnet:e2e_request_latency_seconds_sum", "bitnet:request_queue_time_seconds_count"]:
        assert any(k.split("{")[0] == name for k in m), name
    assert s.metric("bitnet:generation_tokens_total") > 0
    h = {"Authorization": "Bearer " + KEY}
    st, r = s.json("GET", "/v1/models", None, h)
    assert st == 200 and r["data"][0]["id"] == "default", r
    st, r = s.json("POST", "/tokenize", {"content": "Hello world", "with_pieces": True}, h)
    assert st == 200 and "".join(t["piece"] for t in r["tokens"]) == "Hello world", r
    ids = [t["id"] for t in r["tokens"]]
    st, r = s.json("POST", "/detokenize", {"tokens": ids}, h)
    assert st == 200 and r["content"] == "Hello world", r
    st, _, _ = s.request("GET", "/health")
    assert st == 200


@check("load: 3 waves of 16 sampled streams, all complete")
def t_load(s):
    h = {"Authorization": "Bearer " + KEY}
    done = 0
    for wave in range(3):
        streams = [Stream(s, {"prompt": PROMPTS[i % len(PROMPTS)], "max_tokens": 12 + i, "temperature": 0.9,
                              "top_k": 20, "seed": wave * 100 + i, "stop": ["\n\n"]}, headers=h)
                   for i in range(16)]
        for t in streams:
            t.start()
        for t in streams:
            t.join(300)
            assert t.error is None and t.done and t.finish in ("stop", "length"), (t.error, t.finish)
            done += 1
    assert done == 48
    t0 = time.time()  # the gauges follow the step that ended the last request
    while time.time() - t0 < 2 and (s.metric("bitnet:num_requests_running") or s.metric("bitnet:kv_pages_used")):
        time.sleep(0.01)
    assert s.metric("bitnet:num_requests_running") == 0 and s.metric("bitnet:kv_pages_used") == 0


@check("hot swap under load: no failed request")
def t_swap(s):
    h = {"Authorization": "Bearer " + KEY}
    streams = [Stream(s, {"prompt": p, "max_tokens": 80, "temperature": 0}, headers=h) for p in PROMPTS[:4]]
    for t in streams:
        t.start()
    while not all(t.times for t in streams):
        time.sleep(0.01)
    st, r = s.json("POST", "/admin/model", {"action": "swap", "model": MODEL}, {"Authorization": "Bearer " + ADMIN})
    assert st == 200 and r["status"] == "ready", r
    # requests right after the swap run on the new model
    after = [Stream(s, {"prompt": p, "max_tokens": 10, "temperature": 0}, headers=h) for p in PROMPTS[4:]]
    for t in after:
        t.start()
    for t in streams + after:
        t.join(180)
        assert t.error is None and t.done, t.error
    gap = max(t.max_gap() for t in streams)
    # reported, not asserted: a timing, which a loaded CI host can stretch (target < 0.5 s)
    print("     longest gap between tokens during the swap: %.3f s" % gap)
    # a failed load leaves the model serving
    st, r = s.json("POST", "/admin/model", {"action": "swap", "model": "/nonexistent.gguf"},
                   {"Authorization": "Bearer " + ADMIN})
    assert st == 400 and "nonexistent" in r["error"]["message"], r
    st, _, _ = s.request("GET", "/health/ready")
    assert st == 200
    r = client(s).completions.create(model="default", prompt="x", max_tokens=2)
    assert r.usage.completion_tokens >= 1


def clean_exit(s):
    rc = s.stop()
    log = s.text()
    if rc != 0 or "Sanitizer" in log or "runtime error:" in log:
        print(log[-4000:])
        failures.append("server exit %d%s" % (rc, ", sanitizer report" if "Sanitizer" in log else ""))


NOCONF = None
MODEL = None


def main():
    global NOCONF, MODEL
    import tempfile
    NOCONF = os.path.join(tempfile.mkdtemp(), "none.ini")
    open(NOCONF, "w").close()
    MODEL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(BIN))), "share/bitnet/models/default.gguf")
    with Server(BIN, *COMMON, "--parallel", "8", "--idle-timeout", "2", api_key=KEY, admin_key=ADMIN) as s:
        for t in [t_completion, t_chat_stream, t_client_errors, t_stop, t_parallel_equivalence, t_prefix,
                  t_cancel, t_hostile, t_info, t_load]:
            t(s)
        t_swap(s)
        clean_exit(s)
    t_queue(BIN)
    t_preempt(BIN)
    print("%d failed%s" % (len(failures), (": " + ", ".join(failures)) if failures else ""))
    return len(failures)


if __name__ == "__main__":
    sys.exit(main())
