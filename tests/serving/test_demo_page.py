"""The demo page in a real browser: Chromium from the Debian package, driven by Playwright,
types into each panel of the page that `rnnapps serve` shows and checks what it displays.
With RNNAPPS_UPDATE_SCREENSHOT=1 it also saves the screenshot shown in the README
(docs/serving_demo.png); otherwise the screenshot goes to a temporary folder, so a test run
never changes a tracked file."""

import os

import pytest

CHROMIUM = "/usr/bin/chromium"
SCREENSHOT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "docs", "serving_demo.png")
# Nothing may be fetched from the network: the page is self-contained.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no {CHROMIUM}: apt-get install chromium")


@pytest.fixture(scope="module")
def page(server):
    playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the Python package only)")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        outside = []
        page.on("request", lambda request: None if request.url.startswith(server.url) else outside.append(request.url))
        page.goto(server.url + "/")
        page.wait_for_function("document.querySelector('#server-status').textContent.includes('4 of 4 models ready')", timeout=30000)
        yield page
        assert outside == []  # no CDN, no fonts, nothing from elsewhere
        browser.close()


def run_panel(page, panel, result_selector):
    page.click(f"#{panel} form.run button")
    page.wait_for_function(
        f"!document.querySelector('#{panel}').classList.contains('busy') && "
        f"(document.querySelector('#{panel} {result_selector}') !== null || !document.querySelector('#{panel} .error').hidden)",
        timeout=60000,
    )
    error = page.locator(f"#{panel} .error")
    assert error.is_hidden(), error.text_content()


def test_each_panel_shows_what_the_model_answers(page, server, tmp_path):
    # The panels found the models through /demo/models.json and their metadata.
    assert page.locator("#classify .model-status").text_content() == "version 1"

    page.fill("#classify textarea[name=text]", "what a wonderful film")
    run_panel(page, "classify", ".bar-row")
    rows = page.locator("#classify .bar-row")
    assert rows.count() == 3
    names = sorted(rows.nth(i).locator(".bar-name").text_content() for i in range(3))
    assert names == ["negative", "neutral", "positive"]
    widths = [float(rows.nth(i).locator(".bar").get_attribute("style").split("width:")[1].strip(" %;")) for i in range(3)]
    assert abs(sum(widths) - 100) < 0.5
    top = page.locator("#classify .bar-row.top .bar-name").text_content()
    assert page.locator("#classify .label").text_content() == f"label: {top}"

    page.fill("#generate input[name=prompt]", "the ")
    page.fill("#generate input[name=max_length]", "40")
    page.fill("#generate input[name=top_k]", "5")
    page.fill("#generate input[name=seed]", "7")
    run_panel(page, "generate", ".continuation:not(:empty)")
    first = page.locator("#generate .continuation").text_content()
    assert page.locator("#generate .prompt").text_content() == "the " and 0 < len(first) <= 40
    page.fill("#generate input[name=temperature]", "0")  # greedy: another text, the same every time
    run_panel(page, "generate", ".continuation:not(:empty)")
    status, expected = server.post("/v1/models/language_model:predict", {"signature_name": "generate", "inputs": {
        "prompt": ["the "], "max_length": 40, "temperature": 0.0, "top_k": 5, "top_p": 1.0, "seed": 7}})
    assert page.locator("#generate .continuation").text_content() == expected["outputs"]["generated"][0]

    page.select_option("#poetry select[name=form]", "wujue")
    page.fill("#poetry input[name=acrostic]", "春秋")
    page.check("#poetry input[name=no_repeat]")
    run_panel(page, "poetry", ".poem-line")
    lines = [line.rstrip("，。") for line in page.locator("#poetry .poem-line").all_text_contents()]
    assert len(lines) == 4 and all(len(line) == 5 for line in lines)
    assert lines[0][0] == "春" and lines[1][0] == "秋"
    poem = "".join(lines)
    assert len(set(poem)) == len(poem)  # no repeats

    page.fill("#translate input[name=source]", "three one four")
    page.fill("#translate input[name=max_length]", "10")
    run_panel(page, "translate", ".heatmap td.cell")
    sources = page.locator("#translate .heatmap th.source").all_text_contents()
    targets = page.locator("#translate .heatmap th.target").all_text_contents()
    assert sources == ["three", "one", "four"] and len(targets) >= 1
    cells = page.locator("#translate .heatmap td.cell")
    assert cells.count() == len(sources) * len(targets)
    first_row = [float(cells.nth(i).get_attribute("data-weight")) for i in range(len(sources))]
    assert abs(sum(first_row) - 1) < 0.01  # attention over the source sums to 1
    assert page.locator("#translate .translation").text_content().strip()

    target = SCREENSHOT if os.environ.get("RNNAPPS_UPDATE_SCREENSHOT") == "1" else str(tmp_path / "demo.png")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    page.screenshot(path=target, full_page=True)
    with open(target, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"


def test_errors_are_shown_in_the_panel(page):
    page.fill("#generate input[name=max_length]", "5000")  # above this test server's limit (500)
    page.click("#generate form.run button")
    page.wait_for_function("!document.querySelector('#generate .error').hidden", timeout=30000)
    assert "tokens per request" in page.locator("#generate .error").text_content()
    page.fill("#classify input[name=model]", "nope")
    page.dispatch_event("#classify input[name=model]", "change")
    page.wait_for_function("document.querySelector('#classify .model-status').textContent.includes('not available')", timeout=30000)
