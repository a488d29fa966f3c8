"""The playground's JSON API: real encodings, and clear JSON errors for bad input (no browser)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("starlette", reason="the [serve] extra is not installed")
pytest.importorskip("httpx", reason="starlette's TestClient needs httpx")

from starlette.testclient import TestClient  # noqa: E402

from tests.tokenkit.helpers import mixed_vocab  # noqa: E402
from tokenkit import serve  # noqa: E402
from tokenkit.render import view  # noqa: E402

BASE = "http://127.0.0.1:8000"  # the Host the guard accepts (TestClient's "testserver" is not)


@pytest.fixture(scope="module")
def vocab_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("vocabs")
    mixed_vocab("hf").save(root / "mixed-400")
    mixed_vocab("hf", alphabet="observed").save(root / "mixed-observed-400")
    (root / "not-a-vocab").mkdir()
    return root


@pytest.fixture(scope="module")
def client(vocab_root: Path) -> TestClient:
    return TestClient(serve.create_app(serve.Playground([], root=vocab_root)), base_url=BASE)


def test_lists_trained_directories_and_builtins(client: TestClient) -> None:
    data = client.get("/api/vocabularies").json()
    specs = {v["spec"]: v["source"] for v in data["vocabularies"]}
    assert specs == {"gpt2": "built-in", "tiktoken:cl100k_base": "built-in",
                     "mixed-400": "directory", "mixed-observed-400": "directory"}
    assert data["model"] is None and data["limits"]["max_text_chars"] == serve.MAX_TEXT_CHARS


def test_encode_matches_the_library(client: TestClient) -> None:
    text = "Zebra 吾輩は猫 🥺\nfox"
    r = client.post("/api/encode", json={"text": text, "specs": ["mixed-400", "mixed-observed-400"]})
    assert r.status_code == 200
    lossless, lossy = r.json()["results"]
    for result, vocab in ((lossless, mixed_vocab("hf")), (lossy, mixed_vocab("hf", alphabet="observed"))):
        expected = view(vocab, text)
        assert [t["id"] for t in result["tokens"]] == expected.ids
        assert result["report"]["n_tokens"] == expected.report.n_tokens
        assert result["report"]["ratio"] == pytest.approx(expected.report.ratio)
        assert result["decoded"] == expected.decoded and 'class="tk-tok' in result["html"]
    assert lossless["lossless"] and not lossy["lossless"] and "Z" in lossy["lost_chars"]


def test_builtin_cl100k_loads_once_and_is_cached(client: TestClient) -> None:
    r1 = client.post("/api/encode", json={"text": "hello world", "specs": ["tiktoken:cl100k_base"]})
    assert [t["id"] for t in r1.json()["results"][0]["tokens"]] == [15339, 1917]
    app_state = client.app  # the same vocabulary object serves the second request
    r2 = client.post("/api/encode", json={"text": "hello", "specs": ["tiktoken:cl100k_base"]})
    assert r2.json()["results"][0]["tokens"][0]["id"] == 15339 and app_state is client.app


@pytest.mark.parametrize("body, status, message", [
    ({"text": "x", "specs": ["no-such-vocab"]}, 400, "unknown vocabulary 'no-such-vocab'"),
    ({"text": "x", "specs": ["not-a-vocab"]}, 400, "unknown vocabulary 'not-a-vocab'"),
    ({"text": "x", "specs": ["../../etc"]}, 400, "unknown vocabulary '../../etc'"),
    ({"text": "x", "specs": []}, 400, "'specs' must be a non-empty list"),
    ({"text": "x", "specs": ["mixed-400"] * 5}, 400, "at most 4 vocabularies"),
    ({"text": 12, "specs": ["mixed-400"]}, 400, "'text' must be a string"),
    ({"text": "x" * (serve.MAX_TEXT_CHARS + 1), "specs": ["mixed-400"]}, 413, "over the limit of 200,000"),
])
def test_encode_bad_input_is_one_json_error(client: TestClient, body, status: int, message: str) -> None:
    r = client.post("/api/encode", json=body)
    assert r.status_code == status and message in r.json()["error"]


def test_a_ten_megabyte_paste_is_refused_before_it_is_read(client: TestClient) -> None:
    body = b'{"specs": ["mixed-400"], "text": "' + b"a" * 10_000_000 + b'"}'
    r = client.post("/api/encode", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 413 and f"{len(body):,} bytes is over the limit" in r.json()["error"]
    assert client.get("/api/vocabularies").status_code == 200  # still serving


def test_not_json_and_not_an_object(client: TestClient) -> None:
    r = client.post("/api/encode", content=b"{oops", headers={"content-type": "application/json"})
    assert "not valid JSON" in r.json()["error"]
    assert "JSON object" in client.post("/api/encode", json=[1, 2]).json()["error"]


def test_decode_refuses_invalid_ids(client: TestClient) -> None:
    ok = client.post("/api/decode", json={"spec": "mixed-400", "ids": mixed_vocab("hf").encode("fox")})
    assert ok.json()["text"] == "fox"
    for ids, message in (([1, 400], "token id 400 is outside vocabulary mixed-400"),
                         ([-1], "token id -1 is outside"), (["7"], "'ids' must be a list of integers"),
                         ([True], "'ids' must be a list of integers")):
        r = client.post("/api/decode", json={"spec": "mixed-400", "ids": ids})
        assert r.status_code == 400 and message in r.json()["error"], (ids, r.json())


def test_model_endpoints_say_how_to_start_with_a_model(client: TestClient) -> None:
    for path in ("/api/next", "/api/sample"):
        r = client.post(path, json={"text": "fox"})
        assert r.status_code == 404 and "gptcore serve" in r.json()["error"]


def test_unbounded_work_is_abandoned_with_504(vocab_root: Path, monkeypatch) -> None:
    import time

    monkeypatch.setattr(serve, "REQUEST_TIMEOUT_S", 0.2)
    playground = serve.Playground([], root=vocab_root)
    monkeypatch.setattr(playground, "encode", lambda text, specs: time.sleep(2))
    r = TestClient(serve.create_app(playground), base_url=BASE).post("/api/encode", json={"text": "x", "specs": ["mixed-400"]})
    assert r.status_code == 504 and "longer than 0.2 s and was cancelled" in r.json()["error"]


def test_page_and_its_css_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "tokenkit playground" in page.text
    assert "Noto Sans CJK JP" in page.text  # a font stack that renders CJK
    assert ".tk-lost" in client.get("/render.css").text


def test_cli_serve_points_a_model_to_gptcore_serve(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from tokenkit.cli import main

    before = sorted(tmp_path.iterdir())
    result = CliRunner().invoke(main, ["serve", "--model", "runs/x", "gpt2"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: tokenkit serve shows vocabularies only; with a model run `gptcore serve runs/x gpt2`"]
    assert sorted(tmp_path.iterdir()) == before


# -- every refusal is JSON, and the guard's rules (hostile clients on a real server:
#    test_serve_hostile.py) ------------------------------------------------------------------
def test_unknown_paths_and_wrong_methods_answer_json(client: TestClient) -> None:
    r = client.get("/nope")
    assert r.status_code == 404 and r.json() == {"error": "no such page or endpoint: /nope"}
    r = client.get("/api/encode")
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    assert r.json() == {"error": "GET is not allowed on /api/encode (allowed: POST)"}
    r = client.post("/api/vocabularies", json={})
    assert r.status_code == 405 and "POST is not allowed on /api/vocabularies" in r.json()["error"]


@pytest.mark.parametrize("headers, status, message", [
    ({"content-type": "text/plain"}, 415, "Content-Type must be application/json, got 'text/plain'"),
    ({"content-type": "multipart/form-data; boundary=x"}, 415, "got 'multipart/form-data'"),
    ({"content-type": "application/json", "origin": "http://evil.example"}, 403, "another origin"),
    ({"content-type": "application/json", "origin": "https://127.0.0.1:8000"}, 403, "another origin"),
    ({"content-type": "application/json", "sec-fetch-site": "cross-site"}, 403, "cross-site"),
    ({"content-type": "application/json", "host": "evil.example:8000"}, 421, "not this playground"),
    ({"content-type": "application/json", "host": "127.0.0.1:9999"}, 421, "not this playground"),
])
def test_cross_origin_and_non_json_posts_are_refused_in_json(client: TestClient, headers, status: int,
                                                             message: str) -> None:
    body = b'{"spec": "mixed-400", "ids": [1]}'
    r = client.post("/api/decode", content=body, headers=headers)
    assert r.status_code == status and message in r.json()["error"]
    ok = client.post("/api/decode", content=body, headers={"content-type": "application/json; charset=utf-8",
                                                           "origin": BASE, "sec-fetch-site": "same-origin"})
    assert ok.status_code == 200


def test_the_host_given_is_served_besides_loopback(vocab_root: Path) -> None:
    app = serve.create_app(serve.Playground([], root=vocab_root), hosts=["Box.lan"])
    for base, status in (("http://box.lan:8000", 200), ("http://[::1]:8000", 200),
                         ("http://localhost:8000", 200), ("http://box.lan.evil.example:8000", 421)):
        assert TestClient(app, base_url=base).get("/api/vocabularies").status_code == status, base


@settings(max_examples=200, deadline=None)
@given(name=st.from_regex(r"[a-z0-9.-]{1,30}", fullmatch=True), port=st.integers(1, 65535))
def test_only_this_servers_names_and_port_pass_the_host_check(name: str, port: int) -> None:
    from tokenkit.serve_guard import Guard

    guard = Guard(app=None, hosts=["box.lan"])
    scope = {"type": "http", "method": "GET", "server": ("127.0.0.1", 8000),
             "headers": [(b"host", f"{name}:{port}".encode())]}
    mine = name.rstrip(".") in ("127.0.0.1", "localhost", "box.lan") and port == 8000
    assert (guard.refusal(scope) is None) == mine


def test_a_bug_in_a_route_answers_500_in_json(vocab_root: Path) -> None:
    from starlette.routing import Route

    async def boom(request):
        raise RuntimeError("broken\nsecond line")

    app = serve.create_app(serve.Playground([], root=vocab_root),
                           model_routes=lambda limiter: [Route("/api/next", boom, methods=["POST"])])
    r = TestClient(app, base_url=BASE, raise_server_exceptions=False).post("/api/next", json={})
    assert r.status_code == 500 and r.json() == {"error": "internal error: RuntimeError: broken"}
