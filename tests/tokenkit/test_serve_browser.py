"""The playground in a real headless Chromium (Playwright): the textbook's numbers on the page.

Chromium comes from the system (Debian's ``chromium``, installed by ``.ci/run``), not from
Playwright's own download. Without it these tests skip, except under CI (``CI=true``), where
a missing browser is a failure. The screenshot is kept in ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the [serve] extra is not installed")
pytest.importorskip("uvicorn", reason="the [serve] extra is not installed")
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

from tests.conftest import corpus_path  # noqa: E402

SEED = "吾輩わがはいは猫である。名前はまだ無い。"
OOV = "論文を書くのは辛い El Psy Congroo 🥺"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
OBSERVED, DEFAULT = "wagahai-observed-5000", "wagahai-5000"


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        reason = "no system Chromium (apt-get install chromium; .ci/run does)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: the browser tests must run in CI")
        pytest.skip(reason)
    return found


@pytest.fixture(scope="module")
def vocab_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The textbook's two vocabularies at 5000, trained on 吾輩は猫である (a few seconds)."""
    from tokenkit.training import train

    corpus = str(corpus_path("wagahai"))
    root = tmp_path_factory.mktemp("playground")
    train([corpus], 5000, alphabet="observed").vocabulary.save(root / OBSERVED)
    train([corpus], 5000).vocabulary.save(root / DEFAULT)
    return root


@pytest.fixture(scope="module")
def server_url(vocab_root: Path) -> Iterator[str]:
    from tokenkit.serve import Playground, create_app, server as make_server

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # the settings `tokenkit serve` uses: guarded h11 protocol, Host/Origin checks
    server = make_server(create_app(Playground([], root=vocab_root)), "127.0.0.1", port)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the playground server did not start within 20 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    executable = chromium_path()
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server_url: str):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    pg.goto(server_url)
    playwright_api.expect(pg.locator(".column")).to_have_count(2)
    yield pg
    context.close()


def column(pg, spec: str):
    return pg.locator(f'.column[data-spec="{spec}"]')


def test_seed_sentence_shows_the_textbook_numbers_and_boundaries(page, vocab_root: Path) -> None:
    import tokenkit

    expect = playwright_api.expect
    page.locator("#text").press_sequentially(SEED)
    for spec, n_tokens, ratio in ((OBSERVED, "10", "3.69"), (DEFAULT, "11", "3.36")):
        col = column(page, spec)
        expect(col.locator('[data-stat="n_tokens"]')).to_have_text(n_tokens)
        expect(col.locator('[data-stat="ratio"]')).to_have_text(ratio)
        expect(col.locator('[data-stat="utf8_bits"]')).to_have_text("480")
        expect(col.locator('[data-stat="bits_per_token"]')).to_have_text("13")
        vocab = tokenkit.load(str(vocab_root / spec))
        expected = [vocab.token_bytes(i).decode("utf-8") for i in vocab.encode(SEED)]
        shown = col.locator(".tk-tok").evaluate_all("els => els.map(e => e.dataset.text)")
        assert shown == expected and "".join(shown) == SEED
        expect(col.locator(".tk-lost")).to_have_count(0)
        expect(col.locator(".decoded")).to_be_hidden()


def test_hovering_a_token_shows_id_bytes_and_backend_string(page, vocab_root: Path) -> None:
    import tokenkit

    page.locator("#text").fill(SEED)
    col = column(page, OBSERVED)
    playwright_api.expect(col.locator('[data-stat="n_tokens"]')).to_have_text("10")
    vocab = tokenkit.load(str(vocab_root / OBSERVED))
    token_id = vocab.encode(SEED)[1]  # わが
    col.locator(".tk-tok").nth(1).hover()
    tip = page.locator("#tooltip")
    playwright_api.expect(tip).to_be_visible()
    playwright_api.expect(tip).to_contain_text(f"id {token_id}")
    playwright_api.expect(tip).to_contain_text(f"bytes {vocab.token_bytes(token_id).hex(' ')}")
    playwright_api.expect(tip).to_contain_text(vocab.id_to_token(token_id))


def test_emoji_is_marked_lost_for_the_observed_vocabulary_only(page) -> None:
    expect = playwright_api.expect
    page.locator("#sample").select_option(OOV)
    observed, default = column(page, OBSERVED), column(page, DEFAULT)
    expect(observed.locator(".decoded")).to_be_visible()
    lost = observed.locator(".tk-lost").evaluate_all("els => els.map(e => e.dataset.text)")
    assert {"🥺", "E", "P", "C"} <= set(lost)
    assert "🥺" not in observed.locator(".decoded").inner_text()
    expect(default.locator('[data-stat="n_tokens"]')).not_to_have_text("–")
    expect(default.locator(".tk-lost")).to_have_count(0)
    expect(default.locator(".decoded")).to_be_hidden()
    assert default.locator(".tk-byte").count() == 4  # 🥺 as four byte tokens, given back whole
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "playground-oov.png"
    observed.locator(".tk-tok").nth(1).hover()
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 10_000


def test_a_huge_paste_gets_a_message_on_the_page(page) -> None:
    page.locator("#text").fill(SEED)
    playwright_api.expect(column(page, DEFAULT).locator('[data-stat="n_tokens"]')).to_have_text("11")
    page.evaluate("""() => { const t = document.querySelector('#text');
        t.value = 'a'.repeat(10 * 1024 * 1024); t.dispatchEvent(new Event('input')); }""")
    error = page.locator("#error")
    start = time.monotonic()
    page.wait_for_function("() => document.querySelector('#error').textContent.includes('over the limit')",
                           timeout=60_000)
    print(f"huge paste refused after {time.monotonic() - start:.1f} s")
    assert "10,485,760 characters is over the limit of 200,000" in error.inner_text()
    page.locator("#text").fill(SEED)  # and the page keeps working
    playwright_api.expect(error).to_be_hidden()


def test_a_server_error_is_shown_not_swallowed(page) -> None:
    page.route("**/api/encode", lambda route: route.continue_(post_data='{"text": 1, "specs": []}'))
    page.locator("#text").fill("x")
    playwright_api.expect(page.locator("#error")).to_contain_text("'text' must be a string")
