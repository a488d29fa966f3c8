"""The playground against hostile clients, on a REAL server (uvicorn on 127.0.0.1, ephemeral port).

Each test starts ``tests/tokenkit/serve_server.py`` in a subprocess with shortened limits and
talks to it over loopback sockets only; every loop and wait is bounded.
"""

from __future__ import annotations

import http.client
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette", reason="the [serve] extra is not installed")
pytest.importorskip("uvicorn", reason="the [serve] extra is not installed")
psutil = pytest.importorskip("psutil", reason="psutil measures the server's CPU time")

ROOT = Path(__file__).resolve().parents[2]
PARTIAL = b"GET /api/vocabularies HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


@contextmanager
def server(**settings: Any) -> Iterator[tuple[int, subprocess.Popen]]:
    env = {**os.environ, "TOKENKIT_TEST_SERVER": json.dumps(settings)}
    proc = subprocess.Popen([sys.executable, "-m", "tests.tokenkit.serve_server"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "the test server did not print its port within 60 s"
        port = int(proc.stdout.readline())
        deadline = time.monotonic() + 30
        while True:  # the port is bound before uvicorn listens: wait until it answers
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "server did not start"
                time.sleep(0.05)
        yield port, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def request(port: int, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None, timeout: float = 10) -> tuple[int, dict, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        all_headers = {"Host": f"127.0.0.1:{port}", **(headers or {})}
        if body is not None:
            all_headers["Content-Length"] = str(len(body))
        for k, v in all_headers.items():
            conn.putheader(k, v)
        conn.endheaders(body)
        r = conn.getresponse()
        data = r.read()
        kind = r.getheader("content-type", "")
        return r.status, dict(r.getheaders()), json.loads(data) if "json" in kind else data
    finally:
        conn.close()


def slow_sockets(port: int, n: int) -> list[socket.socket]:
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(PARTIAL)
        socks.append(s)
    return socks


def slow_bodies(port: int, n: int) -> list[socket.socket]:
    """``n`` posts whose headers are complete but whose body never is."""
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"POST /api/decode HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: "
                  b"application/json\r\nContent-Length: 100\r\n\r\n{\"sp" % port)
        socks.append(s)
    return socks


def read_answer(s: socket.socket) -> tuple[bytes, Any]:
    """The head and JSON body of one raw HTTP answer on ``s``."""
    data = b""
    while b"\r\n\r\n" not in data or len(data.partition(b"\r\n\r\n")[2]) < int(
            data.lower().partition(b"content-length: ")[2].split(b"\r\n")[0] or 0):
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head, json.loads(body)


def is_closed(s: socket.socket, wait: float) -> bool:
    """Whether the server closed ``s`` within ``wait`` seconds (EOF or reset)."""
    s.settimeout(wait)
    try:
        while True:
            if s.recv(4096) == b"":
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


def test_200_slow_header_sockets_do_not_starve_a_normal_request() -> None:
    with server() as (port, _):
        socks = slow_sockets(port, 200)
        try:
            t0 = time.monotonic()
            status, _, data = request(port, "GET", "/api/vocabularies", timeout=5)
            elapsed = time.monotonic() - t0
            assert status == 200 and "vocabularies" in data
            assert elapsed < 2, f"a normal request took {elapsed:.2f} s behind 200 slow sockets"
            assert not is_closed(socks[-1], 0.05)  # under the cap and the deadline: still open
        finally:
            for s in socks:
                s.close()


def test_past_the_cap_the_oldest_slow_sockets_are_closed() -> None:
    with server(MAX_PENDING=20) as (port, _):
        socks = slow_sockets(port, 30)
        try:
            assert request(port, "GET", "/api/vocabularies", timeout=5)[0] == 200
            assert all(is_closed(s, 2) for s in socks[:10])
            assert not any(is_closed(s, 0.05) for s in socks[-5:])
        finally:
            for s in socks:
                s.close()


def test_slow_bodies_do_not_starve_either() -> None:
    with server() as (port, _):  # 80 slow bodies: more than the 64 requests handled at once
        socks = slow_bodies(port, 80)
        try:
            time.sleep(0.3)
            status, _, data = request(port, "GET", "/api/vocabularies", timeout=5)
            assert status == 200 and "vocabularies" in data
            assert request(port, "POST", "/api/decode", b'{"spec": "gpt2", "ids": []}',
                           {"Content-Type": "application/json"})[0] != 503
            assert all(is_closed(s, 2) for s in socks[:40])  # past the cap of 32: oldest closed
            assert not any(is_closed(s, 0.05) for s in socks[-5:])
        finally:
            for s in socks:
                s.close()


def test_headers_and_bodies_that_never_finish_are_cut_off() -> None:
    with server(HEADER_TIMEOUT_S=1.0, BODY_TIMEOUT_S=1.0) as (port, _):
        first = slow_sockets(port, 1)[0]
        # a keep-alive client that sends one good request, then half of the next one
        second = socket.create_connection(("127.0.0.1", port), timeout=5)
        second.sendall(b"GET /api/vocabularies HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % port)
        assert second.recv(12) == b"HTTP/1.1 200"
        second.sendall(PARTIAL)
        t0 = time.monotonic()
        assert is_closed(first, 5) and is_closed(second, 5)
        assert 0.5 < time.monotonic() - t0 < 4
        # a body that trickles in: 408, JSON
        body = socket.create_connection(("127.0.0.1", port), timeout=5)
        body.sendall(b"POST /api/decode HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"sp" % port)
        head, data = read_answer(body)
        assert head.startswith(b"HTTP/1.1 408") and "did not arrive within 1 s" in data["error"]
        for s in (first, second, body):
            s.close()


def test_foreign_hosts_origins_and_content_types_are_refused() -> None:
    with server() as (port, _):
        for host in (f"evil.example:{port}", f"127.0.0.1.nip.io:{port}", "127.0.0.1:1",
                     "127.0.0.1", "", "a b"):
            status, _, data = request(port, "GET", "/api/vocabularies", headers={"Host": host})
            assert status == 421 and "is not this playground" in data["error"], host
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST.:{port}"):
            assert request(port, "GET", "/", headers={"Host": host})[0] == 200, host
        body = json.dumps({"text": "x"}).encode()
        ok = {"Content-Type": "application/json"}
        # reaches the handler (no model: 404 naming `gptcore serve`)
        status, _, data = request(port, "POST", "/api/next", body,
                                  {**ok, "Origin": f"http://127.0.0.1:{port}",
                                   "Sec-Fetch-Site": "same-origin"})
        assert status == 404 and "gptcore serve" in data["error"]
        for headers, status_wanted, message in (
            ({"Content-Type": "text/plain"}, 415, "must be application/json"),
            ({"Content-Type": "application/x-www-form-urlencoded"}, 415, "must be application/json"),
            ({}, 415, "must be application/json"),
            ({**ok, "Origin": "http://evil.example"}, 403, "another origin"),
            ({**ok, "Origin": "null"}, 403, "another origin"),
            ({**ok, "Origin": f"http://localhost:{port + 1}"}, 403, "another origin"),
            ({**ok, "Sec-Fetch-Site": "cross-site"}, 403, "cross-site"),
            ({**ok, "Sec-Fetch-Site": "same-site"}, 403, "cross-site"),
        ):
            status, _, data = request(port, "POST", "/api/next", body, headers)
            assert status == status_wanted and message in data["error"], (headers, data)


def cpu_seconds(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system


def test_a_504_stops_the_work_and_the_server_goes_idle() -> None:
    with server(busy=True, REQUEST_TIMEOUT_S=2.0) as (port, popen):
        proc = psutil.Process(popen.pid)
        body = json.dumps({"text": "x", "specs": ["gpt2"]}).encode()
        headers = {"Content-Type": "application/json"}
        before = cpu_seconds(proc)
        t0 = time.monotonic()
        status, _, data = request(port, "POST", "/api/encode", body, headers)
        assert status == 504 and "was cancelled" in data["error"]
        assert time.monotonic() - t0 < 4.5
        busy = cpu_seconds(proc) - before
        assert busy > 0.3, f"the stand-in work used only {busy:.2f} s of CPU: nothing to cancel"
        time.sleep(0.5)
        start = cpu_seconds(proc)
        time.sleep(1.5)
        idle = cpu_seconds(proc) - start
        assert idle < 0.2, f"the server used {idle:.2f} s of CPU in 1.5 s after the 504"
        # both worker slots are free again: two more requests each get their own 504, not a wait
        results: list[int] = []
        threads = [threading.Thread(target=lambda: results.append(
            request(port, "POST", "/api/encode", body, headers)[0])) for _ in range(2)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
        assert results == [504, 504] and time.monotonic() - t0 < 4.5


def test_overload_answers_503_in_json() -> None:
    with server(busy=True, REQUEST_TIMEOUT_S=3.0, MAX_IN_FLIGHT=2) as (port, _):
        body = json.dumps({"text": "x", "specs": ["gpt2"]}).encode()
        headers = {"Content-Type": "application/json"}
        threads = [threading.Thread(target=request, args=(port, "POST", "/api/encode", body, headers))
                   for _ in range(2)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 2.5  # the two busy requests hold their slots for 3 s
        while True:
            status, answer_headers, data = request(port, "GET", "/api/vocabularies")
            if status != 200 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert status == 503 and "busy (2 requests at once)" in data["error"]
        assert answer_headers.get("retry-after") == "1"
        for t in threads:
            t.join(timeout=10)
        assert request(port, "GET", "/api/vocabularies")[0] == 200


def test_a_malformed_request_gets_a_json_400() -> None:
    with server() as (port, _):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET / HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n")
        head, data = read_answer(s)
        s.close()
        assert head.startswith(b"HTTP/1.1 400") and b"application/json" in head
        assert "bad HTTP request" in data["error"]
        # headers over 16 KiB are refused the same way, before the deadline
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-Big: " % port + b"a" * 20_000)
        head, data = read_answer(s)
        s.close()
        assert head.startswith(b"HTTP/1.1 400") and "bad HTTP request" in data["error"]
