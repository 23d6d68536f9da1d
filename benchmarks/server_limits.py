#!/usr/bin/env python3
"""What wsd-server does with the clients that strain a server, as figures (issue 28's before/after):
a 100 MB body sent without asking first, a client sending one header line a second (slowloris), a
non-streaming n=8 request abandoned after 2 s, and three requests pipelined on one connection.
Starts the server on a free port with --parallel 1 --queue 8 (the fetched pair), prints one line
per case, stops it.

  benchmarks/server_limits.py build/bin/wsd-server
"""
import json
import socket
import subprocess
import sys
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(next(l for l in f if l.startswith("VmRSS:")).split()[1]) // 1024


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.argv[1], "--port", str(port), "--parallel", "1", "--queue", "8"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                if urllib.request.urlopen(url + "/health", timeout=1).status == 200:
                    break
            except Exception:
                time.sleep(0.2)
        chat = url + "/v1/chat/completions"

        def ask(body, timeout=600):
            req = urllib.request.Request(chat, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
            start = time.time()
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, time.time() - start

        hi = {"model": "wsd", "messages": [{"role": "user", "content": "Say hi."}], "max_tokens": 4}
        print(f"server resident memory at start: {rss_mib(server.pid)} MiB")

        size = 100 * 1024 * 1024
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {size}\r\n\r\n".encode())
        s.setblocking(False)
        sent, answer, start = 0, b"", time.time()
        while sent < size and not answer:
            try:
                sent += s.send(b" " * 65536)
            except BlockingIOError:
                time.sleep(0.01)
            except OSError:
                break
            try:
                answer = s.recv(65536)
            except BlockingIOError:
                pass
            except OSError:
                break
        s.settimeout(5)
        try:
            answer += s.recv(65536)
        except OSError:
            pass
        s.close()
        head, _, body = answer.partition(b"\r\n\r\n")
        status_line = head.split(b"\r\n")[0].decode() or "no answer"
        print(f"100 MB body, not asked first: {status_line} after {sent // 1024} KiB "
              f"sent, {time.time() - start:.2f} s; body {body[:90]!r}; memory {rss_mib(server.pid)} MiB")

        slow = socket.create_connection(("127.0.0.1", port))
        slow.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
        start, ended = time.time(), None
        for i in range(45):
            try:
                slow.sendall(f"X-Slow-{i}: 1\r\n".encode())
            except OSError as e:
                ended = f"closed ({type(e).__name__})"
                break
            if i == 3:
                status, took = ask(hi)
                print(f"  meanwhile another client: {status} in {took:.2f} s")
            slow.settimeout(1)
            try:
                got = slow.recv(65536)
                ended = got.split(b"\r\n")[0].decode() if got else "closed"
                break
            except socket.timeout:
                pass
        slow.close()
        print(f"slowloris (a header line a second): {ended or 'still open'} after {time.time() - start:.1f} s")

        body = {"model": "wsd", "n": 8, "temperature": 0.7, "max_tokens": 200, "wsd": {"draft_max_tokens": 4},
                "messages": [{"role": "user", "content": "Count from 1 to 300, separated by commas."}]}
        client = subprocess.Popen(["curl", "-sS", "-H", "Content-Type: application/json", "--data-binary", json.dumps(body), chat],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(2)
        client.kill()
        client.wait()
        status, took = ask(hi)
        metrics = urllib.request.urlopen(url + "/metrics").read().decode()
        counted = [l for l in metrics.split("\n") if l.startswith(("wsd_answers_cancelled_total", "wsd_requests_total"))]
        print(f"abandoned n=8 request: the next request {status} after {took:.1f} s; {', '.join(counted)}")

        p = socket.create_connection(("127.0.0.1", port), timeout=8)
        p.sendall(b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n" * 3)
        data, start = b"", time.time()
        while time.time() - start < 8 and data.count(b"HTTP/1.1 200") < 3:
            try:
                chunk = p.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            data += chunk
        p.close()
        print(f"3 pipelined requests on one connection: {data.count(b'HTTP/1.1 200')} answered")
        print(f"server resident memory at the end: {rss_mib(server.pid)} MiB")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
