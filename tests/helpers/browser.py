"""Opening a page in headless Chromium (Debian's `chromium`, driven by Playwright) and reading what a person sees."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse


@dataclass
class Visit:
    errors: list[str] = field(default_factory=list)  # console errors and uncaught exceptions
    requests: list[str] = field(default_factory=list)  # every URL the page asked for, itself included
    found: dict = field(default_factory=dict)  # what the script passed to `visit` returned


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Chromium is missing: apt-get install -y chromium (.ci/run does)"
    return found


def visit(page_file: Path, script: str, screenshot: Path | None = None) -> Visit:
    """Load the page, wait until it is loaded and idle, run `script` (a JS expression) in it."""
    from playwright.sync_api import sync_playwright

    seen = Visit()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: seen.errors.append(str(e)))
        page.on("request", lambda r: seen.requests.append(r.url))
        page.goto(page_file.resolve().as_uri(), wait_until="networkidle")
        seen.found = page.evaluate(script)
        if screenshot:
            page.screenshot(path=str(screenshot), full_page=True)
        browser.close()
    return seen


def local_file(url: str) -> Path:
    parsed = urlparse(url)
    assert parsed.scheme == "file", url
    return Path(unquote(parsed.path))
