"""``gptcore serve``: tokenkit's playground with a model's next-token and sampling endpoints."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the [serve] extra is not installed")
pytest.importorskip("httpx", reason="starlette's TestClient needs httpx")

from click.testing import CliRunner  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from tests.tokenkit.helpers import mixed_vocab  # noqa: E402

from gptcore import serve  # noqa: E402
from gptcore.cli import main  # noqa: E402
from gptcore.kit import testing  # noqa: E402
from gptcore.runs.checkpoint import save_checkpoint  # noqa: E402


@pytest.fixture(scope="module")
def vocab_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("vocabs")
    mixed_vocab("hf").save(root / "mixed-400")
    return root


@pytest.fixture(scope="module")
def checkpoint(vocab_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    size = mixed_vocab("hf").vocab_size
    model = testing.build_tiny("gpt2", dict(vocab_size=size, context_length=16, emb_dim=16,
                                            n_layers=2, n_heads=2))
    return save_checkpoint(tmp_path_factory.mktemp("run") / "ckpt", model,
                           vocabulary=str(vocab_root / "mixed-400"))


@pytest.fixture(scope="module")
def model_client(vocab_root: Path, checkpoint: Path) -> TestClient:
    path = checkpoint
    return TestClient(serve.build_app(str(path), [], root=vocab_root), base_url="http://127.0.0.1:8000")


def test_next_and_sample_with_a_gptcore_checkpoint(model_client: TestClient) -> None:
    info = model_client.get("/api/vocabularies").json()["model"]
    assert info["vocabulary"].endswith("mixed-400")
    tokens = model_client.post("/api/next", json={"text": "the fox", "top_k": 10}).json()["tokens"]
    assert len(tokens) == 10 and abs(sum(t["p"] for t in tokens) - 1) < 1e-5
    assert [t["p"] for t in tokens] == sorted((t["p"] for t in tokens), reverse=True)
    body = {"text": "the fox", "max_new_tokens": 5, "temperature": 0.8, "top_k": 20, "top_p": 0.9, "seed": 3}
    first = model_client.post("/api/sample", json=body).json()
    assert model_client.post("/api/sample", json=body).json() == first  # seeded
    assert len(first["ids"]) == 5 and first["completion"] == mixed_vocab("hf").decode(first["ids"])


@pytest.mark.parametrize("body, message", [
    ({"text": "", "top_k": 3}, "at least one token"),
    ({"text": "fox", "top_k": 0}, "'top_k' must be an integer from 1 to 100"),
    ({"text": "fox", "temperature": "hot"}, "'temperature' must be a number"),
])
def test_next_bad_input(model_client: TestClient, body, message: str) -> None:
    r = model_client.post("/api/next", json=body)
    assert r.status_code == 400 and message in r.json()["error"]


def test_sample_bad_input(model_client: TestClient) -> None:
    r = model_client.post("/api/sample", json={"text": "fox", "max_new_tokens": 10_000})
    assert r.status_code == 400 and "'max_new_tokens' must be an integer from 1 to 200" in r.json()["error"]
    r = model_client.post("/api/sample", json={"text": "fox", "top_p": 1.5})
    assert r.status_code == 400 and "'top_p'" in r.json()["error"]


def test_the_page_and_vocabulary_api_come_from_tokenkit(model_client: TestClient) -> None:
    assert "tokenkit playground" in model_client.get("/").text
    specs = [v["spec"] for v in model_client.get("/api/vocabularies").json()["vocabularies"]]
    assert "mixed-400" in specs and "gpt2" in specs
    r = model_client.post("/api/encode", json={"text": "the fox", "specs": ["mixed-400"]})
    ids = [t["id"] for t in r.json()["results"][0]["tokens"]]
    assert r.status_code == 200 and ids == mixed_vocab("hf").encode("the fox")


def test_cli_serve_refuses_a_bad_model_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["serve", str(tmp_path / "missing")])
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and str(tmp_path / "missing") in lines[0], lines
    assert not (tmp_path / "missing").exists()


def test_a_504_stops_sampling_between_tokens(vocab_root: Path, checkpoint: Path, monkeypatch) -> None:
    import time

    from tokenkit import serve as tk_serve

    session = serve.ModelSession.load(str(checkpoint))
    passes: list[float] = []

    def slow_forward(module, args) -> None:  # 10 ms a token: 200 tokens would take 2 s
        passes.append(time.monotonic())
        time.sleep(0.01)

    session.model.register_forward_pre_hook(slow_forward)
    monkeypatch.setattr(tk_serve, "REQUEST_TIMEOUT_S", 0.3)
    app = tk_serve.create_app(tk_serve.Playground([], root=vocab_root),
                              model_routes=lambda limiter: serve.model_routes(session, limiter))
    client = TestClient(app, base_url="http://127.0.0.1:8000")
    r = client.post("/api/sample", json={"text": "the fox", "max_new_tokens": 200, "seed": 1})
    assert r.status_code == 504 and "was cancelled" in r.json()["error"]
    answered = time.monotonic()
    time.sleep(0.5)
    assert 0 < len(passes) < 200 and passes[-1] < answered + 0.05, "sampling went on after the 504"
    # the model's lock was released: the next request samples normally
    monkeypatch.setattr(tk_serve, "REQUEST_TIMEOUT_S", 20.0)
    ok = client.post("/api/sample", json={"text": "the fox", "max_new_tokens": 3, "seed": 1})
    assert ok.status_code == 200 and len(ok.json()["ids"]) == 3
