#!/usr/bin/env python3
"""Browser test of the chat page `bitnet serve` answers GET / with.

    python3 tests/server/test_page.py BITNET_BINARY [EXTRA SERVE ARGS...]

Starts `BITNET_BINARY serve --port 0 --parallel 2 -c 512 -n 64` (the bundled
default model unless EXTRA SERVE ARGS say otherwise), opens the page in
headless Chromium through Selenium and chromedriver, and checks that:
  - GET / serves the page compiled from host/server/page/chat.html;
  - the page shows the model's id from /v1/models;
  - Shift+Enter adds a new line, and a message sent with the Send button
    streams a reply (the assistant bubble's text grows over more than one
    update) with its token rate shown under it; New chat empties the page;
  - a reply sent with Enter and a large max_tokens can be stopped with the
    Stop button: the text stops growing, the reply is marked stopped, Stop is
    disabled again, and the server still answers /health and a new request;
  - the browser console logged no errors;
  - the server exits 0 on SIGTERM with no sanitizer report in its log.

Exits 0 when everything passed, 1 on any failure (with the server's log), 2
on bad usage. Needs the Debian packages chromium and chromium-driver and the
pip package selenium; when one is missing the test FAILS (it never skips).
CHROMIUM / CHROMEDRIVER override where they are looked for. The server runs
with BITNET_CONFIG set to an empty file unless it is set. The whole run is
bounded (TIME_LIMIT seconds), and the server is killed on every way out.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

TIME_LIMIT = 55.0  # seconds for the whole test; the watchdog kills it after
START_LIMIT = 20.0  # seconds for the server to listen and be ready
STOP_AFTER = 3  # the Stop test clicks Stop after this many updates of the reply
HERE = os.path.dirname(os.path.abspath(__file__))
PAGE_SRC = os.path.normpath(os.path.join(HERE, "..", "..", "host", "server", "page", "chat.html"))

T0 = time.monotonic()
server = None  # subprocess.Popen of `bitnet serve`
server_log = []  # its stderr lines
driver_service = None  # selenium Service (chromedriver, chromium under it)
profile_dir = None  # the browser's throwaway profile
temp_files = []
stopping = False  # the test asked the server to exit
failures = []


def log(msg):
    print("[%5.1fs] %s" % (time.monotonic() - T0, msg), flush=True)


class Failed(Exception):
    pass


def check(cond, msg):
    """A check that stops the test when it fails."""
    if not cond:
        raise Failed(msg)
    log("ok: " + msg)


def soft_check(cond, msg):
    """A check whose failure is recorded but lets the test go on."""
    if cond:
        log("ok: " + msg)
    else:
        failures.append(msg)
        log("FAIL: " + msg)


def cleanup():
    """Kill what we started: the server, then chromedriver's process group."""
    if server is not None and server.poll() is None:
        try:
            os.killpg(server.pid, signal.SIGKILL)  # the server and anything it started
        except (ProcessLookupError, PermissionError):
            pass
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    proc = getattr(driver_service, "process", None)
    if proc is not None and proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # chromedriver and the browsers it started
        except (ProcessLookupError, PermissionError):
            proc.kill()
    if profile_dir:
        shutil.rmtree(profile_dir, ignore_errors=True)
    for f in temp_files:
        try:
            os.unlink(f)
        except OSError:
            pass


def dump_server_log():
    if server_log:
        print("---- server stderr (last 40 lines) ----", flush=True)
        for line in server_log[-40:]:
            print("  " + line, flush=True)
        print("----", flush=True)


def watchdog():
    print("FAIL: test_page.py ran past %.0f s; killing everything" % TIME_LIMIT, flush=True)
    dump_server_log()
    cleanup()
    os._exit(1)


def on_signal(signum, frame):
    raise SystemExit(128 + signum)


# ---- HTTP helpers -------------------------------------------------------------

def http(method, url, body=None, timeout=10):
    """(status, headers, body bytes); HTTP errors are answers, not exceptions."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def metric(text, name, labels=""):
    """Sum of a Prometheus series' samples whose labels contain `labels`."""
    total, seen = 0.0, False
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)", line)
        if m and m.group(1) == name and labels in (m.group(2) or ""):
            total += float(m.group(3))
            seen = True
    return total if seen else None


# ---- server -------------------------------------------------------------------

def start_server(binary, extra):
    global server
    cmd = [binary, "serve", "--port", "0", "--parallel", "2", "-c", "512", "-n", "64"] + extra
    log("starting: " + " ".join(cmd))
    env = dict(os.environ)
    if "BITNET_CONFIG" not in env:  # no user config file changes what is tested
        fd, env["BITNET_CONFIG"] = tempfile.mkstemp(prefix="bitnet-page-test-", suffix=".ini")
        os.close(fd)
        temp_files.append(env["BITNET_CONFIG"])
    # A session of its own, so cleanup() can kill it with anything it started.
    server = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, errors="replace", start_new_session=True, env=env)
    port_box = []
    got_port = threading.Event()

    def reader():
        for line in server.stderr:
            line = line.rstrip("\n")
            server_log.append(line)
            m = re.search(r"bitnet serve: listening on http://127\.0\.0\.1:(\d+)", line)
            if m and not port_box:
                port_box.append(int(m.group(1)))
                got_port.set()
        got_port.set()  # EOF: the server exited

    threading.Thread(target=reader, daemon=True).start()
    got_port.wait(START_LIMIT)
    if not port_box:
        rc = server.poll()
        raise Failed("the server printed no 'bitnet serve: listening on http://127.0.0.1:PORT' line within %.0f s%s"
                     % (START_LIMIT, "" if rc is None else " (it exited with status %d)" % rc))
    base = "http://127.0.0.1:%d" % port_box[0]
    deadline = time.monotonic() + START_LIMIT
    status = None
    while time.monotonic() < deadline and server.poll() is None:
        try:
            status = http("GET", base + "/health/ready", timeout=2)[0]
        except OSError:
            status = None
        if status == 200:
            break
        time.sleep(0.1)
    check(status == 200, "server listening at %s and /health/ready answers 200" % base)
    return base


# ---- browser ------------------------------------------------------------------

def find_exe(env, names):
    if os.environ.get(env):
        p = os.environ[env]
        return p if os.access(p, os.X_OK) else None
    for n in names:
        p = shutil.which(n)
        if p:
            return p
    return None


def start_browser():
    global driver_service, profile_dir
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        raise Failed("python module selenium is missing: pip install selenium")
    chromium = find_exe("CHROMIUM", ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"])
    chromedriver = find_exe("CHROMEDRIVER", ["chromedriver"])
    if not chromium:
        raise Failed("no chromium browser found (apt-get install chromium, or set CHROMIUM to one)")
    if not chromedriver:
        raise Failed("no chromedriver found (apt-get install chromium-driver, or set CHROMEDRIVER to one)")
    opts = Options()
    opts.binary_location = chromium
    profile_dir = tempfile.mkdtemp(prefix="bitnet-page-test-")
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
              "--disable-extensions", "--disable-background-networking", "--window-size=1000,800",
              "--disable-crash-reporter", "--user-data-dir=" + profile_dir):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # Its own process group, so cleanup() can kill chromedriver with the browsers.
    try:
        driver_service = Service(executable_path=chromedriver, popen_kw={"start_new_session": True})
    except TypeError:  # selenium before popen_kw: chromedriver shares our process group
        driver_service = Service(executable_path=chromedriver)
    log("starting %s with %s" % (chromium, chromedriver))
    try:
        d = webdriver.Chrome(service=driver_service, options=opts)
    except Exception as e:
        raise Failed("could not start headless Chromium: %s" % str(e).strip().splitlines()[0])
    d.set_page_load_timeout(15)
    d.set_script_timeout(15)
    return d


def wait_for(fn, timeout, what, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise Failed("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


# Installed in the page before a send: records every text the newest reply
# bubble shows (one entry per DOM update), whether Stop was ever enabled, and
# optionally (stopAfter > 0) clicks Stop once the reply showed that many
# non-empty texts: a WebDriver round trip would lose the race against a fast
# model.
OBSERVE_JS = r"""
const stopAfter = arguments[0];
const msgs = document.getElementById('messages');
const stop = document.getElementById('stop');
const before = msgs.querySelectorAll('.msg.assistant').length;
const obs = {texts: [], stopEnabled: !stop.disabled, clicked: false};
window.__obs = obs;
const look = () => {
  const all = msgs.querySelectorAll('.msg.assistant');
  if (all.length <= before) return;
  const t = all[all.length - 1].querySelector('.text');
  const s = t ? t.textContent : '';
  if (obs.texts[obs.texts.length - 1] !== s) obs.texts.push(s);
  maybeStop();
};
const maybeStop = () => {
  if (stopAfter > 0 && !obs.clicked && !stop.disabled && obs.texts.filter(t => t).length >= stopAfter) {
    obs.clicked = true;
    obs.clickedAt = obs.texts[obs.texts.length - 1].length;
    stop.click();
  }
};
new MutationObserver((records) => {
  for (const r of records) {
    if (r.target === stop) { if (!stop.disabled) obs.stopEnabled = true; continue; }
    // Every textContent assignment replaces the text node: each added node is one state the user saw.
    for (const n of r.addedNodes) {
      const p = n.nodeType === 3 ? n.parentElement : null;
      if (p && p.classList.contains('text') && p.parentElement.classList.contains('assistant')) {
        if (obs.texts[obs.texts.length - 1] !== n.data) obs.texts.push(n.data);
        maybeStop();
      }
    }
  }
  look();
}).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true,
                          attributeFilter: ['disabled']});
"""

STATE_JS = r"""
const all = document.querySelectorAll('#messages .msg.assistant');
const last = all[all.length - 1];
const q = (sel) => { const e = last && last.querySelector(sel); return e ? e.textContent : null; };
return {
  replies: all.length,
  users: document.querySelectorAll('#messages .msg.user').length,
  text: q('.text'),
  meta: (q('.meta') || '') + ' ' + (q('.rate') || ''),
  cls: last ? last.className : null,
  rate: (document.getElementById('rate') || {}).textContent || '',
  error: (document.getElementById('error') || {}).textContent || '',
  errors: Array.from(document.querySelectorAll('#messages .msg.error')).map(e => e.textContent),
  sendDisabled: document.getElementById('send').disabled,
  stopDisabled: document.getElementById('stop').disabled,
  input: document.getElementById('input').value,
  obs: window.__obs || null,
};
"""


def state(d):
    return d.execute_script(STATE_JS)


def set_number(d, el_id, value):
    d.execute_script("const e = document.getElementById(arguments[0]); e.value = arguments[1];"
                     "e.dispatchEvent(new Event('input')); e.dispatchEvent(new Event('change'));", el_id, str(value))


def finished(d):
    s = state(d)
    return s if (s["stopDisabled"] and not s["sendDisabled"] and "streaming" not in (s["cls"] or "")) else None


def run(binary, extra):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    base = start_server(binary, extra)

    # The page as served, against its source.
    status, headers, body = http("GET", base + "/")
    check(status == 200, "GET / answers 200 (got %d%s)" % (status, "" if status == 200 else ": " + body[:200].decode(
        "utf-8", "replace")))
    ctype = headers.get("Content-Type", "")
    soft_check(ctype.startswith("text/html"), "GET / is text/html (Content-Type: %r)" % ctype)
    if os.path.exists(PAGE_SRC):
        with open(PAGE_SRC, "rb") as f:
            src = f.read()
        soft_check(body == src, "GET / serves host/server/page/chat.html byte for byte (%d bytes served, %d in the "
                   "source)" % (len(body), len(src)))
    status, _, body = http("GET", base + "/v1/models")
    check(status == 200, "GET /v1/models answers 200")
    model_id = json.loads(body)["data"][0]["id"]

    d = start_browser()
    try:
        d.get(base + "/")
        name = wait_for(lambda: (d.find_element(By.ID, "model-name").text or "").strip() == model_id, 10,
                        "the model name %r in #model-name" % model_id)
        check(name, "the page shows the model name %r" % model_id)

        # Shift+Enter: a new line, nothing sent.
        box = d.find_element(By.ID, "input")
        box.send_keys("Hello", Keys.SHIFT, Keys.ENTER, Keys.SHIFT, "there")
        s = state(d)
        check(s["input"] == "Hello\nthere" and s["users"] == 0,
              "Shift+Enter adds a new line without sending (input %r)" % s["input"])

        # 1. Send with the button: the reply streams, then shows its rate. The page renders once per
        # network read, and a fast core writes 48 tokens of the bundled model in ~20 ms, one read:
        # 400 tokens span many reads on any machine.
        set_number(d, "max-tokens", 400)
        d.execute_script(OBSERVE_JS, 0)
        d.find_element(By.ID, "send").click()
        s = wait_for(lambda: finished(d), 20, "the first reply to finish")
        texts = [t for t in s["obs"]["texts"] if t]
        check(not s["error"] and not s["errors"], "the reply came without an error (#error %r, error bubbles %r)" % (s["error"], s["errors"]))
        check(s["users"] == 1 and s["replies"] == 1, "one user message and one reply shown")
        check(s["text"], "the reply has text: %r" % (s["text"] or "")[:80])
        soft_check(s["obs"]["stopEnabled"], "Stop was enabled while the reply streamed")
        soft_check(len(texts) >= 2 and all(texts[i + 1].startswith(texts[i]) and len(texts[i + 1]) > len(texts[i])
                                           for i in range(len(texts) - 1)),
                   "the reply grew over %d updates (%s)" % (len(texts), [len(t) for t in texts][:12]))
        soft_check(re.search(r"\d+ tokens?\b.*tok/s", s["meta"]) is not None,
                   "the rate shows under the reply: %r" % s["meta"].strip())
        soft_check("tok" in s["rate"], "#rate shows the rate: %r" % s["rate"])
        soft_check(not s["sendDisabled"] and s["stopDisabled"], "Send enabled and Stop disabled after the reply")
        # New chat: the next requests start without this long reply in their prompt (the context is 512)
        d.find_element(By.ID, "clear").click()
        s = state(d)
        check(s["replies"] == 0 and s["users"] == 0, "New chat empties the conversation (%d user, %d assistant "
              "bubbles left)" % (s["users"], s["replies"]))

        # 2. Send with Enter and a large max_tokens; Stop as soon as it streams.
        stopped = None
        for attempt in range(3):
            set_number(d, "max-tokens", 400)
            d.find_element(By.ID, "clear").click()  # an earlier attempt's reply stays out of the prompt
            d.execute_script(OBSERVE_JS, STOP_AFTER)
            box = d.find_element(By.ID, "input")
            box.send_keys("Tell me a long story, attempt %d" % (attempt + 1), Keys.ENTER)
            s = wait_for(lambda: finished(d), 20, "the stopped reply to settle")
            if s["error"] or s["errors"]:
                raise Failed("the long request failed: %r %r" % (s["error"], s["errors"]))
            if "stopped" in (s["cls"] or ""):
                stopped = s
                break
            log("the reply finished before Stop could be clicked (%d chars); again" % len(s["text"] or ""))
        check(stopped is not None, "a streaming reply was stopped with the Stop button")
        s = stopped
        check(s["obs"]["clicked"], "Stop was clicked while the reply streamed (at %s chars)" % s["obs"].get("clickedAt"))
        soft_check(s["text"], "the partial reply stays: %r" % (s["text"] or "")[:60])
        soft_check("stopped" in s["meta"], "the reply is marked stopped: %r" % s["meta"].strip())
        # no usage after Stop: the count comes from content chunks and says so
        soft_check(re.search(r"~\d+ tokens?\b", s["meta"]) is not None,
                   "the stopped reply's token count is marked approximate: %r" % s["meta"].strip())
        soft_check(s["stopDisabled"] and not s["sendDisabled"], "Stop disabled and Send enabled again after Stop")
        time.sleep(1.0)
        s2 = state(d)
        soft_check(s2["text"] == s["text"] and s2["replies"] == s["replies"],
                   "the text stopped growing (%d chars, then %d)" % (len(s["text"] or ""), len(s2["text"] or "")))

        # The server after the client went away.
        check(http("GET", base + "/health", timeout=5)[0] == 200, "the server still answers /health")
        status, _, body = http("GET", base + "/metrics", timeout=5)
        if status == 200:
            idle = wait_for(lambda: metric(http("GET", base + "/metrics", timeout=5)[2].decode(),
                                           "bitnet:num_requests_running") == 0 or None, 10,
                            "bitnet:num_requests_running to drop to 0")
            soft_check(idle, "the server is idle again after the stop (num_requests_running 0)")
            aborts = metric(http("GET", base + "/metrics", timeout=5)[2].decode(), "bitnet:request_success_total",
                            'finished_reason="abort"')
            log("info: requests finished by abort so far: %s" % aborts)
        status, _, body = http("POST", base + "/v1/chat/completions",
                               {"model": model_id, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4},
                               timeout=15)
        soft_check(status == 200, "a new request after the stop succeeds (HTTP %d)" % status)

        # Console errors of the page.
        try:
            entries = d.get_log("browser")
        except Exception as e:  # not every driver keeps the log
            entries = []
            log("info: no browser log (%s)" % str(e).splitlines()[0])
        severe = [e.get("message", "") for e in entries if e.get("level") == "SEVERE"]
        soft_check(not severe, "no errors in the browser console %s" % (severe[:3] if severe else ""))
    finally:
        try:
            d.quit()
        except Exception:
            pass

    # A clean exit on SIGTERM, with no sanitizer report (the ASan build runs this too).
    global stopping
    stopping = True
    server.send_signal(signal.SIGTERM)
    try:
        rc = server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        raise Failed("the server did not exit within 15 s of SIGTERM")
    time.sleep(0.2)  # the stderr reader drains the last lines
    soft_check(rc == 0, "the server exits 0 on SIGTERM (status %d)" % rc)
    reports = [line for line in server_log if re.search(r"Sanitizer|runtime error:", line)]
    soft_check(not reports, "no sanitizer report in the server's log %s" % (reports[:3] if reports else ""))


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    binary = sys.argv[1]
    if not os.access(binary, os.X_OK):
        print("FAIL: %s is not an executable" % binary, file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, on_signal)
    timer = threading.Timer(TIME_LIMIT, watchdog)
    timer.daemon = True
    timer.start()
    ok = False
    try:
        run(binary, sys.argv[2:])
        ok = not failures
    except Failed as e:
        failures.append(str(e))
        log("FAIL: %s" % e)
    except Exception as e:
        failures.append("%s: %s" % (type(e).__name__, e))
        log("FAIL: unexpected %s: %s" % (type(e).__name__, e))
        import traceback
        traceback.print_exc()
    finally:
        timer.cancel()
        if server is not None and server.poll() is not None and not stopping:
            failures.append("the server exited with status %d during the test" % server.returncode)
            ok = False
        cleanup()
    if not ok:
        dump_server_log()
        print("test_page: FAILED (%d): %s" % (len(failures), "; ".join(failures)), flush=True)
        return 1
    print("test_page: passed in %.1f s" % (time.monotonic() - T0), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
