"""Open a page in headless Debian Chromium and report what a person would see go wrong.

Talks the DevTools protocol over ``--remote-debugging-pipe`` (file descriptors 3 and 4, messages
separated by NUL bytes), so it needs nothing beyond the standard library and the browser.
:func:`open_page` loads one file; :func:`browse` opens a tab that visits the pages of a web app
one after another, waiting on each until the app has drawn what the test is about.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
)
CHECK_IMAGES = """JSON.stringify(Array.from(document.images).map(image => ({
    src: (image.getAttribute("src") || "").slice(0, 40),
    complete: image.complete,
    width: image.naturalWidth,
    height: image.naturalHeight,
})))"""


def chromium() -> str | None:
    """The browser's path, or ``None`` when it is not installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageReport:
    images: list[dict[str, Any]]
    errors: list[str] = field(default_factory=list)  # console errors, exceptions, failed loads
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    screenshot: bytes = b""
    title: str = ""
    text: str = ""  # what the page says (document.body.innerText)


class Browser:
    def __init__(self, executable: str, profile: Path, width: int = 1100) -> None:
        to_browser_read, self._write = os.pipe()
        self._read, from_browser_write = os.pipe()

        def wire() -> None:  # in the child: fd 3 reads commands, fd 4 writes replies
            commands, replies = os.dup(to_browser_read), os.dup(from_browser_write)
            os.dup2(commands, 3)
            os.dup2(replies, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        self.process = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},900"],
            preexec_fn=wire,
            close_fds=False,  # closing would run after wire() and close fds 3 and 4
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> Any:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive(timeout=30)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30) -> dict[str, Any]:
        for index, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(index)
        deadline = time.monotonic() + timeout
        while True:
            event = self._receive(timeout=deadline - time.monotonic())
            if event.get("method") == method:
                return event
            self.events.append(event)

    def _receive(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._read], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)  # type: ignore[no-any-return]

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.send("Browser.close")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._write)
        os.close(self._read)


def open_page(path: Path, executable: str) -> PageReport:
    """Load ``path`` in a fresh headless browser; collect errors, requests, images, a screenshot."""
    with tempfile.TemporaryDirectory(prefix="sparkify-chromium-") as profile:
        browser = Browser(executable, Path(profile))
        try:
            target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
                "sessionId"
            ]
            for domain in ("Page", "Runtime", "Log", "Network"):
                browser.send(f"{domain}.enable", session=session)
            browser.send("Page.navigate", {"url": path.resolve().as_uri()}, session=session)
            browser.wait_for("Page.loadEventFired")
            evaluated = browser.send(
                "Runtime.evaluate",
                {"expression": CHECK_IMAGES, "returnByValue": True},
                session=session,
            )
            title = browser.send(
                "Runtime.evaluate",
                {"expression": "document.title", "returnByValue": True},
                session=session,
            )
            metrics = browser.send("Page.getLayoutMetrics", session=session)["cssContentSize"]
            shot = browser.send(
                "Page.captureScreenshot",
                {
                    "format": "png",
                    "captureBeyondViewport": True,
                    "clip": {
                        "x": 0,
                        "y": 0,
                        "width": metrics["width"],
                        "height": metrics["height"],
                        "scale": 1,
                    },
                },
                session=session,
            )
        finally:
            browser.close()
    report = PageReport(
        images=json.loads(evaluated["result"]["value"]),
        screenshot=base64.b64decode(shot["data"]),
        title=title["result"]["value"],
    )
    collect(browser.events, report)
    return report


def collect(events: list[dict[str, Any]], report: PageReport) -> None:
    """Add the errors and requests among DevTools ``events`` to ``report``. A request the page
    itself cancelled (leaving for another page does) is not a failure; an HTTP error is."""
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            report.errors.append(f"exception: {params['exceptionDetails'].get('text')}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            report.errors.append(f"console: {params.get('args')}")
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            report.errors.append(f"log: {params['entry'].get('text')}")
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            report.errors.append(f"failed to load: {params.get('errorText')}")
        elif method == "Network.responseReceived" and params["response"]["status"] >= 400:
            response = params["response"]
            report.errors.append(f"HTTP {response['status']}: {response['url'][:120]}")
        elif method == "Network.requestWillBeSent":
            report.requests.append(params["request"]["url"][:60])


class Tab:
    """One tab of a running browser, for a single-page web app: it visits a URL, waits until a
    JavaScript condition holds (the app has fetched and drawn its data), then reads the page."""

    def __init__(self, browser: Browser, width: int, height: int) -> None:
        self.browser = browser
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.send(f"{domain}.enable", session=self.session)
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
        browser.send("Emulation.setDeviceMetricsOverride", metrics, session=self.session)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        reply = self.browser.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True},
            session=self.session,
        )
        return reply["result"].get("value")

    def wait_until(self, condition: str, timeout: float = 30) -> None:
        """Poll the JavaScript ``condition`` until it is true; fail with the page's text if not."""
        deadline = time.monotonic() + timeout
        while not self.evaluate(condition):
            if time.monotonic() > deadline:
                text = self.evaluate("document.body ? document.body.innerText : ''") or ""
                raise TimeoutError(f"{condition} still false after {timeout} s; page:\n{text}")
            time.sleep(0.25)

    def visit(self, url: str, ready: str = "true", timeout: float = 30) -> PageReport:
        """Open ``url``, wait until ``ready`` holds, and report the page as it then is."""
        self.browser.events.clear()
        self.browser.send("Page.navigate", {"url": url}, session=self.session)
        self.browser.wait_for("Page.loadEventFired", timeout=timeout)
        self.wait_until(ready, timeout)
        time.sleep(0.5)  # charts and icons settle
        return self.read()

    def scroll_to(self, text: str) -> None:
        """Scroll the innermost element that says exactly ``text`` (a heading) to the top."""
        found = self.evaluate(
            "(() => { const all = Array.from(document.querySelectorAll('body *')).filter(e =>"
            f" e.childElementCount === 0 && e.textContent.trim() === {json.dumps(text)});"
            " if (all.length) all[0].scrollIntoView({block: 'start'}); return all.length > 0; })()"
        )
        assert found, f"nothing on the page says {text!r}"
        time.sleep(0.3)

    def read(self) -> PageReport:
        """The page as it is now: text, images, screenshot, and what went wrong since the visit."""
        shot = self.browser.send("Page.captureScreenshot", {"format": "png"}, session=self.session)
        report = PageReport(
            images=json.loads(self.evaluate(CHECK_IMAGES)),
            screenshot=base64.b64decode(shot["data"]),
            title=self.evaluate("document.title"),
            text=self.evaluate("document.body.innerText"),
        )
        collect(self.browser.events, report)
        return report


@contextlib.contextmanager
def browse(executable: str, width: int = 1400, height: int = 1600) -> Iterator[Tab]:
    """A fresh headless browser with one tab of ``width`` x ``height`` CSS pixels."""
    with tempfile.TemporaryDirectory(prefix="sparkify-chromium-") as profile:
        browser = Browser(executable, Path(profile), width=width)
        try:
            yield Tab(browser, width, height)
        finally:
            browser.close()
