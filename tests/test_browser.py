"""The web page in headless Chromium: ask, watch the answer stream in, click [1], see the quote highlighted."""

import shutil

import httpx
from playwright.sync_api import sync_playwright

from tests.conftest import MODEL, ROOT
from tests.server import running_service

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


def test_keys_documents_panel_uploads_and_a_narrow_screen(tmp_path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "data" / "reports", corpus)
    env = {
        "RAGQA_CORPUS_DIR": str(corpus),
        "RAGQA_INDEX_DIR": str(tmp_path / "index"),
        "RAGQA_EMBEDDING_MODEL": str(MODEL),
        "RAGQA_API_KEYS": "reader-key",
        "RAGQA_ADMIN_API_KEYS": "admin-key",
    }
    notice = tmp_path / "东平县通知.txt"
    notice.write_text("东平县营商环境评估通知。全县各乡镇均纳入评估。", encoding="utf-8")
    with running_service(env, tmp_path / "service.log", build=True) as url, sync_playwright() as playwright:
        favicon = httpx.get(url + "/favicon.ico")
        assert favicon.status_code == 200 and favicon.headers["content-type"].startswith("image/svg+xml")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.on("dialog", lambda dialog: dialog.accept())
        page.goto(url + "/")
        page.fill("#question", "东阿县如何开展双随机检查")
        page.click("#send")
        page.wait_for_selector(".answer[data-state=done]", timeout=30_000)
        assert "需要有效的 API 密钥" in page.inner_text(".answer.error")
        page.fill("#key", "reader-key")
        page.press("#key", "Tab")  # the key is taken when the field loses focus
        page.click("#show-documents")
        page.wait_for_selector("#documents table tr", timeout=10_000)
        assert page.locator("#documents tr").count() == 5 and page.locator("#upload").count() == 0
        page.fill("#key", "admin-key")
        page.press("#key", "Tab")  # the key is taken when the field loses focus
        page.wait_for_selector("#upload", timeout=10_000)
        page.set_input_files("#upload input[type=file]", str(notice))
        page.click("#upload button")
        page.wait_for_function("document.querySelectorAll('#documents tr').length === 6", timeout=60_000)
        assert "东平县营商环境评估通知" in page.inner_text("#documents")
        page.locator("#documents tr", has_text="东平县营商环境评估通知").locator("button").click()
        page.wait_for_function("document.querySelectorAll('#documents tr').length === 5", timeout=60_000)
        assert page.evaluate("localStorage.getItem('ragqa-key')") == "admin-key"
        page.fill("#question", "东阿县如何开展双随机检查")
        page.click("#send")
        page.wait_for_selector(".turn:last-child .answer[data-state=done]", timeout=30_000)
        page.click(".turn:last-child a.marker")
        page.wait_for_selector("#highlight", timeout=10_000)
        assert page.evaluate(
            "() => { const h = document.querySelector('#source h2').getBoundingClientRect();"
            " const s = document.getElementById('side').getBoundingClientRect(); return h.top >= s.top - 1; }"
        ), "the document title stays in view above the highlighted passage"
        page.click("#new")
        assert page.locator(".turn").count() == 0
        narrow = browser.new_page(viewport={"width": 390, "height": 844})
        narrow.goto(url + "/")
        layout = narrow.evaluate(
            "() => { const c = document.getElementById('chat').getBoundingClientRect();"
            " const s = document.getElementById('side').getBoundingClientRect();"
            " const b = document.getElementById('send').getBoundingClientRect();"
            " return {stacked: s.top >= c.bottom - 1, wide: c.width > 350, button: b.height}; }"
        )
        assert layout["stacked"] and layout["wide"] and layout["button"] < 45, layout
        narrow.screenshot(path=str(ARTIFACTS / "browser-narrow.png"))
        browser.close()
