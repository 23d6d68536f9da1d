"""wsd-server against real clients: the official openai package and curl, on a free 127.0.0.1 port.

Run with pytest (ctest does: tests/cli/CMakeLists.txt), the programs and files named by the
environment: WSD_SERVER, WSD_GENERATE, WSD_TEST_WORK (a folder for logs) and WSD_STRONG_GGUF (the base
model, served by llama-cpp-python's server for the --strong-url checks). Each test starts its own
servers; each check prints one line, and a failed check fails its test without ending it, so that
every failure is reported, not only the first.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import openai
import pytest

SERVER, GENERATE, WORK, STRONG_GGUF = (os.environ[v] for v in ("WSD_SERVER", "WSD_GENERATE", "WSD_TEST_WORK", "WSD_STRONG_GGUF"))
os.makedirs(WORK, exist_ok=True)
FLAGS = ["--max-tokens", "24", "--draft-max-tokens", "16", "--context", "1024"]
KEY = "test-key-8f2a"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


START = time.monotonic()
FAILED = []  # the running test's failed checks


def check(cond, what):
    """One line per check, with the seconds since the start (where the test's time goes); a failed
    check is recorded and the test goes on (every_check_passes fails it at its end)."""
    at = f"[{time.monotonic() - START:6.1f} s]"
    if not cond:
        print(at, "FAIL:", what, flush=True)
        FAILED.append(what)
        return
    print(at, "ok:", what, flush=True)


@pytest.fixture(autouse=True)
def every_check_passes():
    FAILED.clear()
    yield
    assert not FAILED, f"{len(FAILED)} failed check(s):\n" + "\n".join(FAILED)


class Server:
    def __init__(self, name, extra=(), key=True):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, WSD_TEST_KEY=KEY)
        args = [SERVER, "--port", str(self.port), *FLAGS, *extra]
        if key:
            args += ["--api-key-env", "WSD_TEST_KEY"]
        self.log = open(os.path.join(WORK, name + ".log"), "w")
        self.proc = subprocess.Popen(args, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"wsd-server exited with {self.proc.returncode}; see {self.log.name}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except Exception:
                pass
            time.sleep(0.2)
        raise RuntimeError("wsd-server did not become ready")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                return None
        return self.proc.returncode


def curl(url, body=None, key=KEY, raw_body=None, stream=False):
    """(status, body) of a POST (or GET without a body), through the curl program."""
    args = ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "--max-time", "120"]
    if stream:
        args.append("-N")
    if key is not None:
        args += ["-H", f"Authorization: Bearer {key}"]
    if raw_body is not None:  # any bytes, of any size, through a file
        path = os.path.join(WORK, "body.bin")
        with open(path, "wb") as f:
            f.write(raw_body if isinstance(raw_body, bytes) else raw_body.encode())
        raw_body = "@" + path
    if body is not None or raw_body is not None:
        args += ["-H", "Content-Type: application/json", "--data-binary", raw_body if raw_body is not None else json.dumps(body)]
    out = subprocess.run(args + [url], capture_output=True, text=True, check=True).stdout
    text, _, code = out.rpartition("\n")
    return int(code), text


def generate_record(messages, extra=(), flags=FLAGS):
    path = os.path.join(WORK, "prompt.jsonl")
    out = os.path.join(WORK, "generated.jsonl")
    with open(path, "w") as f:
        f.write(json.dumps({"id": "p", "messages": messages}) + "\n")
    if os.path.exists(out):
        os.remove(out)
    subprocess.run([GENERATE, "--input", path, "--output", out, *flags, *extra], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(out) as f:
        return json.loads(f.readline())


def test_api():
    """The API with the openai client and curl: answers equal wsd-generate's, limits, every error
    case, a client killed mid-stream, /metrics, SIGTERM."""
    server = Server("main")
    client = openai.OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0)
    good = {"model": "wsd", "messages": [{"role": "user", "content": "Name two colours."}], "max_tokens": 4}
    try:
        # The models endpoint and a completion equal to wsd-generate's record.
        check([m.id for m in client.models.list().data] == ["wsd"], "GET /v1/models lists the pair as 'wsd'")
        messages = [{"role": "user", "content": "What is the capital of France?"}]
        record = generate_record(messages)
        r = client.chat.completions.create(model="wsd", messages=messages, temperature=0)
        wsd = r.model_extra["wsd"]
        check(r.choices[0].message.content == record["text"], "the chat completion's text is wsd-generate's")
        check(wsd["switch"]["index"] == record["switch"]["index"], "the switch index is wsd-generate's")
        check(r.choices[0].finish_reason in ("stop", "length") and r.usage.completion_tokens > 0, "finish_reason and usage")

        # max_tokens is a hard cap on the answer: a kept draft is cut to it (the drafter alone keeps its
        # whole 16-token draft under the 'never' rule, and even so the answer is max_tokens long).
        for limit in (1, 3):
            r = client.chat.completions.create(model="wsd", messages=messages, temperature=0, max_tokens=limit,
                                               extra_body={"wsd": {"switch": "never"}})
            check(r.usage.completion_tokens == limit and r.choices[0].finish_reason == "length",
                  f"max_tokens {limit} under the never rule: {limit} completion tokens, finish_reason length "
                  f"(got {r.usage.completion_tokens}, {r.choices[0].finish_reason})")
            check(r.model_extra["wsd"]["switch"]["reason"] == "max_tokens", "the draft was ended by max_tokens")
        roomy = client.chat.completions.create(model="wsd", messages=[{"role": "user", "content": "Say yes."}],
                                               temperature=0, max_tokens=200)
        check(roomy.choices[0].finish_reason == "stop" and roomy.usage.completion_tokens < 200,
              "an answer that ends by itself within max_tokens finishes with stop")

        # Streaming: the chunks concatenate to the same text, a switch marker, usage at the end.
        text, marker, usage = "", False, None
        for chunk in client.chat.completions.create(model="wsd", messages=messages, temperature=0, stream=True,
                                                    stream_options={"include_usage": True}):
            extra = chunk.model_extra.get("wsd") or {}
            marker = marker or extra.get("event") == "switch"
            if chunk.choices and chunk.choices[0].delta.content:
                text += chunk.choices[0].delta.content
            if chunk.usage:
                usage = chunk.usage
        check(text == record["text"], "streamed chunks concatenate to the same text")
        check(marker == (record["continuation"]["text"] != ""), "a switch marker where the base model took over")
        check(usage is not None and usage.completion_tokens > 0, "stream_options.include_usage: usage at the end")

        # langchain-openai's ChatOpenAI, as people use it: invoke and stream give the same text as the
        # openai client (greedy), and the wsd settings pass through extra_body.
        from langchain_openai import ChatOpenAI
        chat = ChatOpenAI(base_url=server.url + "/v1", api_key=KEY, model="wsd", temperature=0, max_retries=0)
        question = [("user", "What is the capital of France?")]
        check(chat.invoke(question).content == record["text"], "langchain ChatOpenAI.invoke: wsd-generate's text")
        check("".join(c.content for c in chat.stream(question)) == record["text"],
              "langchain ChatOpenAI.stream: the chunks concatenate to the same text")
        never = ChatOpenAI(base_url=server.url + "/v1", api_key=KEY, model="wsd", temperature=0, max_retries=0,
                           max_tokens=3, extra_body={"wsd": {"switch": "never"}})
        answer = never.invoke(question)
        check(answer.response_metadata.get("finish_reason") == "length" and
              answer.usage_metadata["output_tokens"] == 3,
              "langchain: max_tokens and extra_body's wsd settings reach the server")

        # n = 2 with a temperature: two choices, the same again from the same seed.
        def sample():
            r = client.chat.completions.create(model="wsd", messages=messages, temperature=0.9, seed=11, n=2,
                                               max_tokens=12)
            return [c.message.content for c in r.choices]
        first = sample()
        check(len(first) == 2, "n = 2 gives two choices")
        check(sample() == first, "the same seed gives the same two choices")

        # An answer prefix (a last assistant message) is continued, not repeated.
        prefixed = messages + [{"role": "assistant", "content": "The capital of France is"}]
        record = generate_record(prefixed)
        r = client.chat.completions.create(model="wsd", messages=prefixed, temperature=0)
        check(record["text"].startswith("The capital of France is"), "wsd-generate keeps the prefix")
        check(r.choices[0].message.content == record["text"][len("The capital of France is"):],
              "the answer continues the prefix (the prefix itself is not sent back)")

        # A wrong key is refused, and never echoed.
        try:
            openai.OpenAI(base_url=server.url + "/v1", api_key="wrong-key", max_retries=0).models.list()
            check(False, "a wrong key is refused")
        except openai.AuthenticationError as e:
            check(e.status_code == 401 and "wrong-key" not in str(e.body), "a wrong key is refused with 401, not echoed")

        # Raw server-sent events through curl.
        code, body = curl(server.url + "/v1/chat/completions", dict(good, stream=True), stream=True)
        events = [l for l in body.split("\n") if l]
        check(code == 200 and all(l.startswith("data: ") for l in events) and events[-1] == "data: [DONE]",
              "curl: server-sent events, 'data: [DONE]' last")
        check(json.loads(events[0][6:])["object"] == "chat.completion.chunk", "curl: chat.completion.chunk events")

        # Every error case: OpenAI's error object, the field named; a good request answered after each.
        url = server.url + "/v1/chat/completions"
        cases = [
            ("malformed JSON", None, "{\"messages\": [", 400, None),
            ("wrong type", dict(good, max_tokens="ten"), None, 400, "max_tokens"),
            ("no messages", {"model": "wsd", "messages": []}, None, 400, "messages"),
            ("unknown role", dict(good, messages=[{"role": "wizard", "content": "hi"}]), None, 400, "messages[0].role"),
            ("unknown model", dict(good, model="gpt-9"), None, 404, "model"),
            ("value out of range", dict(good, temperature=3), None, 400, "temperature"),
            ("a threshold out of range", dict(good, wsd={"threshold": 1.5}), None, 400, "wsd.threshold"),
            ("an unsupported field", dict(good, tools=[{"type": "function", "function": {"name": "f"}}]), None, 400,
             "tools"),
            ("a conversation too long for the context", dict(good, messages=[{"role": "user", "content": "word " * 3000}]),
             None, 400, "messages"),
            ("invalid UTF-8 inside a string", None,
             b'{"model": "wsd", "messages": [{"role": "user", "content": "caf\xc3\x28 \xff"}]}', 400, None),
            ("a number that overflows", None,
             '{"model": "wsd", "messages": [{"role": "user", "content": "hi"}], "temperature": 1e999}', 400, None),
            ("a body over --max-body-bytes", None,
             json.dumps(dict(good, messages=[{"role": "user", "content": "word " * 400000}])), 413, None),
        ]
        for name, body, raw, status, param in cases:
            code, text = curl(url, body, raw_body=raw)
            err = json.loads(text).get("error", {})
            check(code == status and err.get("message") and err.get("type") and (param is None or err.get("param") == param),
                  f"curl: {name}: HTTP {status} naming {param}")
            code, _ = curl(url, good)
            check(code == 200, f"curl: a good request after {name} is answered")
        code, text = curl(server.url + "/v1/completions", good)
        check(code == 404 and json.loads(text)["error"]["code"] == "unknown_url", "curl: an unknown route: 404 with OpenAI's object")
        code, text = curl(url)  # GET
        check(code == 405 and json.loads(text)["error"]["code"] == "method_not_allowed", "curl: GET on the completions route: 405")
        check(client.models.retrieve("wsd").id == "wsd", "GET /v1/models/wsd (openai's models.retrieve)")
        try:
            client.models.retrieve("gpt-9")
            check(False, "an unknown model id is refused")
        except openai.NotFoundError as e:
            check(e.status_code == 404, "GET /v1/models/gpt-9: 404")
        with urllib.request.urlopen(server.url + "/metrics", timeout=10) as m:
            counted = m.read().decode()
        check(all(f'wsd_requests_total{{status="{s}"}}' in counted for s in (400, 404, 405, 413)),
              "/metrics counts the 400s, 404s, 405s and 413s")
        with urllib.request.urlopen(server.url + "/health", timeout=10) as h:
            health = json.loads(h.read())
        check(health["devices"]["weak"] and health["devices"]["strong"], f"/health names each model's device: {health['devices']}")
        check(all(health["engines"][m]["kernels"] == "reference" and health["engines"][m]["physical_batch"] == 512
                  and health["engines"][m]["sequences_share_batches"] is True for m in ("weak", "strong")),
              f"/health says how exact mode batches each model (the reference kernels, 512 tokens, shared): {health['engines']}")
        code, text = curl(url, good, key=None)
        check(code == 401 and json.loads(text)["error"]["code"] == "invalid_api_key", "curl: a missing key: 401")
        code, text = curl(url, good, key="nope-123")
        check(code == 401 and "nope-123" not in text, "curl: a wrong key: 401, not echoed")

        # A client killed mid-stream: its conversation is cancelled, the next request is served.
        # Greedy, this one writes all 400 tokens (measured): it is in flight when the client goes.
        long_body = dict(good, max_tokens=400, stream=True, wsd={"draft_max_tokens": 4},
                         messages=[{"role": "user", "content": "Count from 1 to 300, separated by commas."}])
        p = subprocess.Popen(["curl", "-sS", "-N", "-H", f"Authorization: Bearer {KEY}", "-H",
                              "Content-Type: application/json", "--data-binary", json.dumps(long_body), url],
                             stdout=subprocess.PIPE)
        p.stdout.read(100)  # the stream has begun
        p.kill()
        p.wait()
        cancelled = 0
        for _ in range(100):
            metrics = urllib.request.urlopen(server.url + "/metrics").read().decode()
            cancelled = int(next(l for l in metrics.split("\n") if l.startswith("wsd_answers_cancelled_total")).split()[1])
            if cancelled:
                break
            time.sleep(0.2)
        check(cancelled >= 1, "a client killed mid-stream cancels its conversation (/metrics)")
        code, _ = curl(url, good)
        check(code == 200, "the next request is served")
        check("wsd_switch_index_bucket" in metrics and "wsd_queue_length" in metrics, "/metrics: Prometheus text")
        metrics = urllib.request.urlopen(server.url + "/metrics").read().decode()
        check(metric(metrics, 'wsd_requests_total{status="499"}') >= 1,
              "/metrics counts the stream whose client was killed as 499, not as the 200 it began with")
        check(metric(metrics, "wsd_switch_index_sum") > 0 and metric(metrics, "wsd_switch_index_count") > 0,
              "/metrics: the switch index histogram has its _sum and _count")
    finally:
        rc = server.stop()
    check(rc == 0, "SIGTERM: the server exits 0")


def test_queue_full_and_sigterm():
    """Queue full: one slot, no queue; a second request while one runs is refused with 429."""
    good = {"model": "wsd", "messages": [{"role": "user", "content": "Name two colours."}], "max_tokens": 4}
    small = Server("queue", ["--parallel", "1", "--queue", "0"], key=False)
    try:
        body = dict(good, max_tokens=200, stream=True, wsd={"draft_max_tokens": 4},
                    messages=[{"role": "user", "content": "Count from 1 to 300, separated by commas."}])
        p = subprocess.Popen(["curl", "-sS", "-N", "-H", "Content-Type: application/json", "--data-binary",
                              json.dumps(body), small.url + "/v1/chat/completions"], stdout=subprocess.PIPE)
        p.stdout.read(200)
        out = subprocess.run(["curl", "-sS", "-i", "-H", "Content-Type: application/json", "--data-binary",
                              json.dumps(good), small.url + "/v1/chat/completions"], capture_output=True, text=True).stdout
        check(" 429" in out.split("\n")[0] and "retry-after" in out.lower(), "queue full: 429 with Retry-After")
        # SIGTERM while that answer streams: it finishes within the grace period, then the server exits 0.
        small.proc.send_signal(signal.SIGTERM)
        rest = p.stdout.read().decode()
        p.wait()
        check("data: [DONE]" in rest, "SIGTERM: the answer in flight is finished")
    finally:
        rc = small.stop()
    check(rc == 0, "SIGTERM with an answer in flight: exit 0")


def test_page():
    """The chat page in a real browser: headless Chromium loads it, the page sends a prompt, and the
    DOM is read (through the DevTools protocol) once the answer has streamed: both parts present,
    the switch marker where the trace says. The server wants a key: the page's first try is refused
    (401, shown), then the key typed into its key field is sent and kept. A second turn carries the
    conversation; the compare view's three answers (WSD, base model alone, drafter alone) with the
    settings typed in are each the API's answer for the same request."""
    import shutil
    import websocket
    browser = shutil.which("chromium")
    check(browser is not None, "chromium is installed (make deps)")
    server = Server("page")
    port = free_port()
    profile = os.path.join(WORK, "chromium-profile")
    shutil.rmtree(profile, ignore_errors=True)  # no key kept from an earlier run
    chrome = subprocess.Popen([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                               f"--user-data-dir={profile}", f"--remote-debugging-port={port}", "about:blank"],
                              stdout=subprocess.DEVNULL, stderr=open(os.path.join(WORK, "chromium.log"), "w"))
    try:
        target = None
        for _ in range(100):
            try:
                targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json").read())
                target = next(t for t in targets if t.get("type") == "page")
                break
            except Exception:
                time.sleep(0.2)
        check(target is not None, "chromium: a page to drive")
        ws = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=60)
        ids = iter(range(1, 10**6))

        def call(method, **params):
            i = next(ids)
            ws.send(json.dumps({"id": i, "method": method, "params": params}))
            while True:
                m = json.loads(ws.recv())
                if m.get("id") == i:
                    return m.get("result", {})

        def js(expr):
            return call("Runtime.evaluate", expression=expr, returnByValue=True)["result"].get("value")
        def wait_end():
            state = None
            for _ in range(600):
                state = js("document.body && document.body.dataset.state")
                if state in ("done", "error"):
                    break
                time.sleep(0.1)
            return state
        prompt = "What is the capital of France?"
        call("Page.navigate", url=server.url + "/?prompt=" + urllib.parse.quote(prompt))
        state = wait_end()
        info = js("document.getElementById('info').textContent")
        check(state == "error" and "401" in info and "API key" in info, f"the page without the key: 401 shown ({info})")
        check(js("document.getElementById('prompt').value") == prompt, "a refused prompt is back in the composer")
        js(f"const k = document.getElementById('key'); k.value = '{KEY}'; k.dispatchEvent(new Event('change'));"
           "document.getElementById('send').click()")
        check(wait_end() == "done", "with the key in its field, the page streamed an answer to its end")
        check(js("localStorage.getItem('wsd-api-key')") == KEY, "the page keeps the key for the next visit")

        def shown(kind, nth=-1):
            """What the page shows of an answer box: its parts, marker, switch index, plot."""
            return js(f"""(() => {{ const a = [...document.querySelectorAll('#turns .answer[data-kind={kind}]')].at({nth});
                return {{draft: a.querySelector('.draft').textContent, strong: a.querySelector('.strong').textContent,
                        marker: a.querySelector('.switch').textContent, index: a.dataset.switchIndex, state: a.dataset.state,
                        points: a.querySelectorAll('circle.pk').length, tau: a.querySelectorAll('line.tau').length}}; }})()""")

        def api(body):
            code, text = curl(server.url + "/v1/chat/completions", body)
            check(code == 200, f"the API answers {json.dumps(body)[:80]}...")
            reply = json.loads(text)
            return reply["choices"][0]["message"]["content"], reply["wsd"]

        first = shown("wsd")
        content, trace = api({"messages": [{"role": "user", "content": prompt}]})
        check(first["draft"] + first["strong"] == content, "the page shows the whole answer: the drafter's part and the base model's part")
        check(first["draft"] == trace["draft"]["accepted_text"] and first["strong"] == trace["continuation"]["text"][:len(first["strong"])],
              "the drafter's part and the base model's part are where the trace puts them")
        check(str(trace["switch"]["index"]) == first["index"], f"the page's switch index is the trace's ({first['index']})")
        check((first["marker"] == "|") == (first["strong"] != ""), "the switch marker stands where the base model took over")
        check(first["points"] == len(trace["draft"]["probs"]) and first["tau"] == 1, f"the plot shows the {first['points']} drafted p_k against tau")

        # A second turn: the page sends the whole conversation, its answer is the API's for it.
        follow = "And of Germany?"
        js(f"document.getElementById('prompt').value = {json.dumps(follow)}; document.getElementById('send').click()")
        check(wait_end() == "done", "a second turn streamed to its end")
        history = [{"role": "user", "content": prompt}, {"role": "assistant", "content": content}, {"role": "user", "content": follow}]
        sent = js("window.wsdRequests.at(-1).messages")
        check(sent == history and js("document.body.dataset.turns") == "2",
              "the second turn sends the conversation so far (the first answer included)")
        second = shown("wsd")
        content2, _ = api({"messages": history})
        check(second["draft"] + second["strong"] == content2, "the second answer is the API's for the whole conversation")

        # Settings and the compare view: one prompt answered by WSD, the base model alone and the
        # drafter alone, each the API's answer for the same request (the immediate and never rules).
        settings = {"threshold": 0.7, "window": 3, "draft_max_tokens": 8, "max_tokens": 12}
        js("".join(f"document.getElementById('{k}').value = '{v}'; document.getElementById('{k}').dispatchEvent(new Event('change'));"
                   for k, v in settings.items()) +
           "document.getElementById('clear').click(); document.getElementById('compare').checked = true;" +
           f"document.getElementById('prompt').value = {json.dumps(prompt)}; document.getElementById('send').click()")
        check(wait_end() == "done", "the compare view streamed three answers to their end")
        check(js("document.querySelectorAll('#turns .answer').length") == 3 and js("document.body.dataset.turns") == "1",
              "a new chat: one turn, three answers side by side")
        one = [{"role": "user", "content": prompt}]
        expected = {
            "wsd": {"messages": one, "max_tokens": 12, "wsd": {"threshold": 0.7, "window": 3, "draft_max_tokens": 8}},
            "base": {"messages": one, "max_tokens": 12, "wsd": {"draft_max_tokens": 8, "switch": "immediate"}},
            "drafter": {"messages": one, "max_tokens": 12, "wsd": {"draft_max_tokens": 100000, "switch": "never"}},
        }
        for kind, body in expected.items():
            page = shown(kind)
            content, trace = api(body)
            check(page["state"] == "done" and page["draft"] + page["strong"] == content,
                  f"compare, {kind}: the page's answer is the API's ({content!r})")
            check(str(trace["switch"]["index"]) == page["index"], f"compare, {kind}: switch index {page['index']} as in the trace")
            if kind == "base":
                check(page["draft"] == "" and page["index"] == "-1", "compare: the base model alone drafts nothing")
            if kind == "drafter":
                check(page["draft"] == trace["draft"]["accepted_text"] and trace["switch"]["reason"] != "switch",
                      f"compare: the drafter alone keeps its whole draft ({trace['switch']['reason']})")
            if kind == "wsd":
                check(page["points"] == len(trace["draft"]["probs"]) and page["tau"] == 1 and trace["config"]["threshold"] == 0.7,
                      "compare: WSD's p_k against the page's tau (0.7)")
        shot = os.environ.get("WSD_PAGE_SCREENSHOT")  # the README's picture: WSD_PAGE_SCREENSHOT=path
        if shot:
            call("Emulation.setDeviceMetricsOverride", width=1280, height=760, deviceScaleFactor=1, mobile=False)
            time.sleep(0.5)
            import base64
            with open(shot, "wb") as f:
                f.write(base64.b64decode(call("Page.captureScreenshot", format="png")["data"]))
        ws.close()
    finally:
        chrome.kill()
        chrome.wait()
        rc = server.stop()
    check(rc == 0, "page: SIGTERM, exit 0")


def test_penalty():
    """A decoding flag wsd-generate serves through its own samplers (the continuation's repetition
    penalty, a logits processor) is honoured the same way by wsd-server."""
    extra = ["--continuation-repetition-penalty", "1.3"]
    messages = [{"role": "user", "content": "Name three colours."}]
    record = generate_record(messages, extra)
    server = Server("penalty", extra, key=False)
    try:
        code, text = curl(server.url + "/v1/chat/completions", {"messages": messages}, key=None)
        check(code == 200 and json.loads(text)["choices"][0]["message"]["content"] == record["text"],
              "--continuation-repetition-penalty: the answer is wsd-generate's with the same flag")
    finally:
        rc = server.stop()
    check(rc == 0, "penalty: SIGTERM, exit 0")


def test_remote():
    """--strong-url: the drafter in wsd-server, the base model on llama-cpp-python's server (a real
    one on a free port, wanting a key of its own). An answer and a stream equal wsd-generate's
    record through the same server; a server that refuses the key stops wsd-server at once."""
    os.environ["WSD_STRONG_KEY"] = "strong-key-51c0"
    port = free_port()
    strong_url = f"http://127.0.0.1:{port}/v1"
    log = open(os.path.join(WORK, "llama-server.log"), "w")
    # One token per physical batch: the server's logits do not depend on how a prompt is split.
    llama = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", STRONG_GGUF, "--host", "127.0.0.1",
                              "--port", str(port), "--n_ctx", "1024", "--n_batch", "1", "--n_ubatch", "1",
                              "--flash_attn", "true", "--api_key", os.environ["WSD_STRONG_KEY"]],
                             stdout=log, stderr=subprocess.STDOUT)
    try:
        up = False
        for _ in range(300):
            if llama.poll() is not None:
                break
            try:
                req = urllib.request.Request(strong_url + "/models",
                                             headers={"Authorization": "Bearer " + os.environ["WSD_STRONG_KEY"]})
                up = urllib.request.urlopen(req, timeout=2).status == 200
            except Exception:
                pass
            if up:
                break
            time.sleep(0.2)
        check(up, "llama-cpp-python's server with the base model is up")

        # The answer is short: the server scores ~0.4 s per echoed token (Gemma's 262k vocabulary).
        flags = ["--max-tokens", "8", "--draft-max-tokens", "4", "--context", "1024"]
        remote = ["--strong-url", strong_url, "--strong-api-key-env", "WSD_STRONG_KEY"]
        messages = [{"role": "user", "content": "What is the capital of France?"}]
        record = generate_record(messages, ["--api-key-env", "WSD_STRONG_KEY", "--strong-url", strong_url], flags)
        server = Server("remote", remote)
        try:
            body = {"model": "wsd", "messages": messages, "max_tokens": 8, "wsd": {"draft_max_tokens": 4}}
            code, text = curl(server.url + "/v1/chat/completions", body)
            answer = json.loads(text)
            check(code == 200 and answer["choices"][0]["message"]["content"] == record["text"],
                  f"--strong-url: the answer is wsd-generate's through the same server ({record['text']!r})")
            check(answer["wsd"]["switch"]["index"] == record["switch"]["index"] and answer["wsd"]["draft"]["probs"] == record["draft"]["probs"],
                  "--strong-url: the switch index and the base model's p_k are wsd-generate's")
            code, body_text = curl(server.url + "/v1/chat/completions", dict(body, stream=True), stream=True)
            streamed, marker = "", False
            for line in body_text.split("\n"):
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                ev = json.loads(line[6:])
                marker = marker or (ev.get("wsd") or {}).get("event") == "switch"
                if ev.get("choices") and ev["choices"][0]["delta"].get("content"):
                    streamed += ev["choices"][0]["delta"]["content"]
            check(code == 200 and streamed == record["text"], "--strong-url: the stream concatenates to the same text")
            check(marker == (record["continuation"]["text"] != ""), "--strong-url: the switch marker in the stream")
        finally:
            rc = server.stop()
        check(rc == 0, "--strong-url: SIGTERM, exit 0")

        # The base model's server refuses the key: wsd-server says so and exits non-zero.
        env = dict(os.environ, WSD_STRONG_KEY="not-the-key")
        out = subprocess.run([SERVER, "--port", str(free_port()), *flags, *remote], env=env, capture_output=True,
                             text=True, timeout=120)
        check(out.returncode != 0 and strong_url in out.stderr and "not-the-key" not in out.stderr,
              f"a base-model server that refuses the key: exit {out.returncode}, naming it "
              f"({out.stderr.strip().splitlines()[-1] if out.stderr.strip() else ''})")
    finally:
        llama.kill()
        llama.wait()


def metric(text, name):
    return int(next((l.split()[1] for l in text.split("\n") if l.startswith(name + " ")), "0"))


def test_limits():
    """Bounded resources: a 100 MB body sent without asking first is refused with 413 before it is
    read (the server's memory does not grow); a non-streaming request whose client went away is
    cancelled, every one of its n=8 conversations, and counted as 499; a client that sends a header a
    second is answered 408 when --read-timeout runs out, while another client is served."""
    import socket
    server = Server("limits", ["--parallel", "1", "--queue", "8", "--read-timeout", "6"], key=False)
    url = server.url + "/v1/chat/completions"
    try:
        before = rss_kb(server.proc.pid)
        size = 100 * 1024 * 1024
        s = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        s.sendall(f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {size}\r\n\r\n".encode())
        sent = 0
        try:
            while sent < size:  # the server answers and closes long before the body is sent
                sent += s.send(b" " * 65536)
        except OSError:
            pass
        answer = b""
        try:
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                answer += chunk
        except OSError:
            pass
        s.close()
        head, _, body = answer.partition(b"\r\n\r\n")
        check(head.startswith(b"HTTP/1.1 413") and json.loads(body)["error"]["code"] == "request_too_large",
              f"a 100 MB body: 413 with OpenAI's error object after {sent // 1024} KiB were sent")
        after = rss_kb(server.proc.pid)
        check(after < before + 50 * 1024, f"a 100 MB body: resident memory {before} kB before, {after} kB after")

        slow = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        slow.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        start, late = time.time(), b""
        for i in range(30):
            try:
                slow.sendall(f"X-Slow-{i}: 1\r\n".encode())
            except OSError:
                break
            if i == 2:
                code, _ = curl(url, {"model": "wsd", "messages": [{"role": "user", "content": "Say hi."}], "max_tokens": 4}, key=None)
                check(code == 200, "while a client sends a header a second, another one is served")
            slow.settimeout(1)
            try:
                late = slow.recv(65536)
                break
            except socket.timeout:
                pass
        took = time.time() - start
        slow.close()
        head, _, text = late.partition(b"\r\n\r\n")
        check(head.startswith(b"HTTP/1.1 408") and json.loads(text)["error"]["code"] == "request_timeout",
              f"a client sending a header a second: 408 after {took:.1f} s (--read-timeout 6)")

        body = {"model": "wsd", "n": 8, "temperature": 0.7, "max_tokens": 400, "wsd": {"draft_max_tokens": 4},
                "messages": [{"role": "user", "content": "Count from 1 to 300, separated by commas."}]}
        p = subprocess.Popen(["curl", "-sS", "-H", "Content-Type: application/json", "--data-binary", json.dumps(body), url],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):  # until the first of its conversations is in flight
            if metric(urllib.request.urlopen(server.url + "/metrics").read().decode(), "wsd_queue_length") == 8:
                break
            time.sleep(0.1)
        time.sleep(1)
        p.kill()
        p.wait()
        text = ""
        for _ in range(300):
            text = urllib.request.urlopen(server.url + "/metrics").read().decode()
            if metric(text, "wsd_answers_cancelled_total") == 8:
                break
            time.sleep(0.1)
        check(metric(text, "wsd_answers_cancelled_total") == 8 and 'wsd_requests_total{status="499"} 1' in text
              and metric(text, "wsd_queue_length") == 0 and 'wsd_requests_total{status="408"} 1' in text
              and 'status="400"' not in text,
              "an abandoned non-streaming n=8 request: its 8 conversations cancelled, 499 counted, the queue empty")
        code, _ = curl(url, {"model": "wsd", "messages": [{"role": "user", "content": "Say hi."}], "max_tokens": 4}, key=None)
        check(code == 200, "after it, the next request is served")

        # Framing that cannot be read is answered at once (413, 400); a body that stops coming gets
        # 408 when --read-timeout (6 s) runs out; a body cut short by a half-close is never a 200.
        def raw(data, half_close=False):
            c = socket.create_connection(("127.0.0.1", server.port), timeout=20)
            start = time.monotonic()
            c.sendall(data)
            if half_close:
                c.shutdown(socket.SHUT_WR)
            got, took = b"", None  # took: until the status line came (the connection may stay open)
            try:
                while True:
                    part = c.recv(65536)
                    if not part:
                        break
                    got += part
                    if took is None and b"\r\n" in got:
                        took = time.monotonic() - start
            except OSError:
                pass
            c.close()
            return got.split(b"\r\n", 1)[0].decode(errors="replace"), took if took is not None else time.monotonic() - start
        head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        line, took = raw(head + b"Content-Length: 1000000000000\r\n\r\n")
        check(line.startswith("HTTP/1.1 413") and took < 2, f"Content-Length 10^12 and no body: '{line}' after {took:.1f} s")
        line, took = raw(head + b"Content-Length: -5\r\n\r\n")
        check(line.startswith("HTTP/1.1 400") and took < 2, f"Content-Length -5: '{line}' after {took:.1f} s")
        line, took = raw(head + b"Content-Length: 100\r\n\r\n{\"model\":")
        check(line.startswith("HTTP/1.1 408") and 5 < took < 10, f"10 of 100 bytes, then silence: '{line}' after {took:.1f} s")
        line, took = raw(head + b"Content-Length: 100\r\n\r\n{\"model\":", half_close=True)
        check(line.startswith("HTTP/1.1 4") and took < 7, f"10 of 100 bytes, then a half-close: '{line}' after {took:.1f} s")
        line, took = raw(head + b"\r\n{\"model\": \"wsd\"}", half_close=True)
        check(line.startswith("HTTP/1.1 4"), f"a body without Content-Length, then a half-close: '{line}'")
    finally:
        rc = server.stop()
    check(rc == 0, "limits: SIGTERM, exit 0")


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(next(l for l in f if l.startswith("VmRSS:")).split()[1])


def test_load():
    """32 concurrent streaming clients, 4 requests each, on loopback: each answered once (or refused
    with 429), answers equal the sequential ones, no crash, resident memory within 10% afterwards."""
    import concurrent.futures
    server = Server("load", ["--parallel", "4", "--queue", "64"], key=False)
    try:
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0, timeout=300)
        questions = ["Name a fruit.", "Say hello.", "What is 2 + 2?", "Name a colour."]

        def ask(q):
            text = ""
            for chunk in client.chat.completions.create(model="wsd", messages=[{"role": "user", "content": q}],
                                                        max_tokens=6, temperature=0, stream=True,
                                                        extra_body={"wsd": {"draft_max_tokens": 4}}):
                if chunk.choices and chunk.choices[0].delta.content:
                    text += chunk.choices[0].delta.content
            return text
        expected = {q: ask(q) for q in questions}  # one at a time
        ask(questions[0])
        before = rss_kb(server.proc.pid)

        def client_run(c):
            out = []
            for k in range(4):
                q = questions[(c + k) % len(questions)]
                try:
                    out.append((q, ask(q)))
                except openai.RateLimitError:
                    out.append((q, None))
            return out
        with concurrent.futures.ThreadPoolExecutor(32) as pool:
            results = [r for rs in pool.map(client_run, range(32)) for r in rs]
        answered = [r for r in results if r[1] is not None]
        check(len(results) == 128 and all(a != "" for _, a in results if a is not None), "load: 128 requests, each answered (non-empty) or refused")
        check(all(a == expected[q] for q, a in answered), f"load: the {len(answered)} answers equal the sequential ones")
        check(len(answered) >= 64, f"load: {len(answered)} answered, {128 - len(answered)} refused with 429")
        check(server.proc.poll() is None, "load: no crash")
        after = rss_kb(server.proc.pid)
        check(after <= before * 1.10, f"load: resident memory {before} kB before, {after} kB after (within 10%)")

        # 200 idle connections (opened, nothing sent) do not starve a normal request: each holds a
        # thread of its own, beyond the 72 that answer.
        def timed():
            start = time.monotonic()
            client.chat.completions.create(model="wsd", messages=[{"role": "user", "content": "Say hello."}],
                                           max_tokens=6, temperature=0, extra_body={"wsd": {"draft_max_tokens": 4}})
            return time.monotonic() - start
        alone = timed()
        idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(200)]
        try:
            time.sleep(0.5)  # every one accepted
            crowded = timed()
        finally:
            for s in idle:
                s.close()
        check(crowded < alone + 1.0, f"200 idle connections open: a request takes {crowded:.2f} s ({alone:.2f} s alone)")
    finally:
        rc = server.stop()
    check(rc == 0, "load: SIGTERM, exit 0")

