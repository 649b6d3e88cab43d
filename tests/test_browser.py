"""The web page in headless Chromium: ask, watch the answer stream in, click [1], see the quote highlighted."""

import shutil

import httpx
from playwright.sync_api import sync_playwright

from tests.conftest import ROOT

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Flags that keep Chromium off the network it cannot reach here (and running as root in CI).
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip


def test_ask_stream_click_marker_and_see_the_highlighted_quote(live_url: str) -> None:
    base_url = live_url
    assert CHROMIUM, "Debian's chromium is missing: `make test` installs it (apt-get install chromium)"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(base_url + "/")
        page.fill("#question", "东阿县如何开展双随机检查")
        page.click("#send")
        page.wait_for_selector(".answer[data-state=done]", timeout=30_000)
        answer = page.inner_text(".answer")
        assert "随机" in answer and "[1]" in answer
        page.click('a.marker[data-citation="1"]')
        highlight = page.wait_for_selector("#highlight", timeout=10_000)
        quote = highlight.inner_text()
        assert highlight.is_visible() and page.evaluate(
            "() => { const r = document.getElementById('highlight').getBoundingClientRect();"
            " return r.top >= 0 && r.top < window.innerHeight; }"
        ), "the quote is scrolled into view"
        page.screenshot(path=str(ARTIFACTS / "browser.png"))
        browser.close()
    completion = httpx.post(
        base_url + "/v1/chat/completions",
        json={"messages": [{"role": "user", "content": "东阿县如何开展双随机检查"}]},
        timeout=60,
    ).json()
    first = completion["citations"][0]
    assert first["source"] == "001_5545cfdd99bf609a.txt"
    assert quote == first["quote"], "the highlight is exactly the cited original text"


def test_a_citation_link_from_a_chat_frontend_opens_the_passage_highlighted(live_url: str) -> None:
    completion = httpx.post(
        live_url + "/v1/chat/completions",
        json={"messages": [{"role": "user", "content": "东阿县开展了几次双随机抽查？"}]},
        timeout=60,
    ).json()
    annotation = completion["choices"][0]["message"]["annotations"][0]["url_citation"]
    citation = completion["citations"][0]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(annotation["url"])
        highlight = page.wait_for_selector("#highlight", timeout=10_000)
        assert highlight.inner_text() == citation["quote"] and highlight.is_visible()
        assert annotation["title"] in page.inner_text("#source h2")
        browser.close()
