"""wsd-server against wsd-generate on the same prompts: answer tokens/s, requests/s and time to the
first streamed token at 1, 4 and 8 concurrent clients (the server with as many in flight), one run.

Usage: python wsd_server_bench.py BUILD_BIN PROMPTS OUT_DIR [--limit N] [--clients 1,4,8]
       [--max-tokens 64] [--draft-max-tokens 48]
Writes OUT_DIR/server_bench.json and prints a table. Greedy decoding; the server's answers are
checked to equal wsd-generate's records (batch-invariant kernels).
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import time
import urllib.request



def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("prompts")
    ap.add_argument("out")
    ap.add_argument("--limit", type=int, default=8)
    ap.add_argument("--clients", default="1,4,8")
    ap.add_argument("--max-tokens", default="64")
    ap.add_argument("--draft-max-tokens", default="48")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    with open(a.prompts) as f:
        convs = [json.loads(l) for l in f if l.strip()][: a.limit]
    subset = os.path.join(a.out, "prompts.jsonl")
    with open(subset, "w") as f:
        for c in convs:
            f.write(json.dumps(c) + "\n")
    flags = ["--max-tokens", a.max_tokens, "--draft-max-tokens", a.draft_max_tokens, "--context", "2048"]
    results = {}
    for n in [int(x) for x in a.clients.split(",")]:
        # wsd-generate --parallel n over the prompts: the in-process baseline.
        out = os.path.join(a.out, f"generate-{n}.jsonl")
        def generate(path, output, limits=(a.max_tokens, a.draft_max_tokens)):
            if os.path.exists(output):
                os.remove(output)
            t0 = time.time()
            subprocess.run([os.path.join(a.bin, "wsd-generate"), "--input", path, "--output", output, "--parallel",
                            str(n), "--max-tokens", limits[0], "--draft-max-tokens", limits[1], "--context", "2048"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            return time.time() - t0
        # Its start-up (loading the models, n contexts): n one-token answers; then the prompts.
        trivial = os.path.join(a.out, "trivial.jsonl")
        with open(trivial, "w") as f:
            for i in range(n):
                f.write(json.dumps({"id": f"t{i}", "messages": [{"role": "user", "content": "Hi"}]}) + "\n")
        startup = generate(trivial, os.path.join(a.out, "trivial-out.jsonl"), ("1", "1"))
        gen_wall_all = generate(subset, out)
        records = {}
        with open(out) as f:
            for line in f:
                r = json.loads(line)
                records[r["id"]] = r
        gen_tokens = sum(max(0, r["switch"]["index"] + 1) + len(r["continuation"]["tokens"]) for r in records.values())
        gen_wall = gen_wall_all - startup

        port = free_port()
        log = open(os.path.join(a.out, f"server-{n}.log"), "w")
        server = subprocess.Popen([os.path.join(a.bin, "wsd-server"), "--port", str(port), "--parallel", str(n), *flags],
                                  stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                if urllib.request.urlopen(url + "/health", timeout=2).status == 200:
                    break
            except Exception:
                time.sleep(0.1)
        def ask(c):
            # A light client (http.client, the events parsed as they come): on 2 cores the client
            # shares the CPU with the models, and the openai package's parsing costs more.
            start = time.time()
            first, text, usage = None, "", None
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            conn.request("POST", "/v1/chat/completions", json.dumps(
                {"model": "wsd", "messages": c["messages"], "temperature": 0, "stream": True,
                 "stream_options": {"include_usage": True}}), {"Content-Type": "application/json"})
            resp = conn.getresponse()
            for line in resp:
                if not line.startswith(b"data: ") or line.startswith(b"data: [DONE]"):
                    continue
                ev = json.loads(line[6:])
                if ev.get("choices") and ev["choices"][0]["delta"].get("content"):
                    if first is None:
                        first = time.time() - start
                    text += ev["choices"][0]["delta"]["content"]
                if ev.get("usage"):
                    usage = ev["usage"]
            conn.close()
            return c["id"], text, usage["completion_tokens"], first
        t0 = time.time()
        with concurrent.futures.ThreadPoolExecutor(n) as pool:
            answers = list(pool.map(ask, convs))
        srv_wall = time.time() - t0
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        srv_tokens = sum(x[2] for x in answers)
        same = sum(1 for cid, text, _, _ in answers if text == records[cid]["text"])
        ttft = [x[3] for x in answers if x[3] is not None]
        results[str(n)] = {
            "clients": n,
            "generate_wall_s": gen_wall, "generate_wall_with_startup_s": gen_wall_all, "generate_startup_s": startup,
            "generate_answer_tok_s": gen_tokens / gen_wall,
            "generate_requests_s": len(convs) / gen_wall,
            "server_wall_s": srv_wall, "server_answer_tok_s": srv_tokens / srv_wall,
            "server_requests_s": len(convs) / srv_wall,
            "server_over_generate_tok_s": (srv_tokens / srv_wall) / (gen_tokens / gen_wall),
            "ttft_median_s": statistics.median(ttft) if ttft else None,
            "same_text_as_generate": same, "answers": len(convs),
        }
        r = results[str(n)]
        print(f"clients {n}: wsd-generate {r['generate_answer_tok_s']:.1f} tok/s {r['generate_requests_s']:.2f} req/s "
              f"(decoding {gen_wall:.1f} s: its wall less its start-up {startup:.1f} s); wsd-server {r['server_answer_tok_s']:.1f} tok/s "
              f"{r['server_requests_s']:.2f} req/s; ratio {r['server_over_generate_tok_s']:.3f}; "
              f"TTFT median {r['ttft_median_s']:.3f} s; same text {same}/{len(convs)}", flush=True)
    with open(os.path.join(a.out, "server_bench.json"), "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
