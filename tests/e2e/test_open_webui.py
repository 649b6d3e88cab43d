"""Open WebUI end to end (`make e2e`): its own server, pointed at ours, driven in headless Chromium.

Ask, see the answer with a citation chip and a sources list naming the document's title, open the
source and land on our page with the quote highlighted, follow up, see the generated chat title.
Screenshots go to docs/e2e/ (the README's frontend section shows them).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.server import ROOT, free_port, wait_until_up
from tests.test_browser import CHROMIUM, FLAGS

OPEN_WEBUI = os.environ.get("RAGQA_OPEN_WEBUI", "")
SHOTS = ROOT / "docs" / "e2e"
QUESTION = "东阿县如何开展双随机检查"
FOLLOW_UP = "抽查了多少个部门？"


@pytest.fixture(scope="module")
def open_webui(live_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Open WebUI offline, without login or Ollama, with our service as its only OpenAI connection."""
    assert OPEN_WEBUI, "set RAGQA_OPEN_WEBUI to the open-webui executable (`make e2e` does)"
    data = tmp_path_factory.mktemp("open-webui")
    port = free_port()
    env = {
        **os.environ,
        "OFFLINE_MODE": "true",
        "HF_HUB_OFFLINE": "1",
        "WEBUI_AUTH": "false",
        "ENABLE_OLLAMA_API": "false",
        "OPENAI_API_BASE_URL": f"{live_url}/v1",
        "OPENAI_API_KEY": "x",
        "DATA_DIR": str(data),
    }
    log = (data / "open-webui.log").open("w")
    process = subprocess.Popen([OPEN_WEBUI, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                               stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process, 240.0, data / "open-webui.log", path="/health", name="open-webui")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _dismiss_release_notes(page: Page) -> None:
    """A first visit opens Open WebUI's release notes over the chat."""
    button = page.get_by_role("button", name="Okay, Let's Go!")
    try:
        button.wait_for(timeout=10_000)
    except PlaywrightTimeout:
        return
    button.click()


def _ask(page: Page, question: str, replies: int) -> str:
    """Type a question, wait until the `replies`-th answer is complete with its sources; its text."""
    page.click("#chat-input")
    page.keyboard.type(question)
    page.keyboard.press("Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('button[aria-label^=\"Toggle\"][aria-label*=\"source\"]').length >= n",
        arg=replies,
        timeout=90_000,
    )
    return page.locator("#response-content-container").nth(replies - 1).inner_text()


def test_ask_see_sources_open_the_passage_follow_up_and_get_a_title(open_webui: str, live_url: str) -> None:
    expected = httpx.post(
        f"{live_url}/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}]}, timeout=60
    ).json()
    cited = expected["choices"][0]["message"]["annotations"][0]["url_citation"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 900})  # Open WebUI's labels in English
        page = context.new_page()
        page.goto(open_webui, wait_until="load", timeout=60_000)
        page.wait_for_selector("#chat-input", timeout=60_000)
        _dismiss_release_notes(page)
        answer = _ask(page, QUESTION, replies=1)
        assert "双随机" in answer and "参考资料" in answer, answer

        # [1] became a citation chip naming the document by its clean title, not its file name.
        chip = page.locator(f'button[aria-label="View source: {cited["title"]}"]').first
        assert chip.is_visible(), f"no citation chip titled {cited['title']!r}"
        page.locator('button[aria-label^="Toggle"][aria-label*="source"]').first.click()
        assert page.get_by_text(cited["title"]).first.is_visible()
        page.screenshot(path=str(SHOTS / "open-webui-answer.png"))

        # The source opens our page on the cited passage, highlighted and in view.
        chip.click()
        link = page.locator(f'[role="dialog"] a[href="{cited["url"]}"]').first
        with context.expect_page() as opened:
            link.click()
        passage = opened.value
        highlight = passage.wait_for_selector("#highlight", timeout=30_000)
        assert highlight.inner_text() == expected["citations"][0]["quote"]
        assert passage.evaluate(
            "() => { const r = document.getElementById('highlight').getBoundingClientRect();"
            " return r.top >= 0 && r.top < window.innerHeight; }"
        )
        passage.screenshot(path=str(SHOTS / "open-webui-source.png"))
        passage.close()
        page.keyboard.press("Escape")

        # A follow-up is understood in the conversation's context; the chat got a generated title.
        follow_up = _ask(page, FOLLOW_UP, replies=2)
        assert "45" in follow_up, follow_up
        # The title comes from our answer to Open WebUI's title task (a document emoji and the question).
        page.wait_for_function("q => document.title.startsWith('📄 ' + q)", arg=QUESTION, timeout=30_000)
        page.screenshot(path=str(SHOTS / "open-webui-follow-up.png"))
        browser.close()
