"""A small Chrome DevTools Protocol client for the site's browser test: Debian's chromium, headless,
driven over its own loopback debugging socket with the `websockets` package. It loads pages from
disk and collects what a user would see as errors (exceptions, console errors, failed loads) and
every request that leaves the file system."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

CHROMIUM_NAMES = ("chromium", "chromium-browser")
LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:")
# No network: every host resolves to nothing and any proxied request goes to a closed port.
OFFLINE_FLAGS = ("--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--no-default-browser-check", "--disable-extensions")


def find_chromium() -> Optional[str]:
    return next((path for path in map(shutil.which, CHROMIUM_NAMES) if path), None)


@dataclass
class PageLoad:
    errors: List[str] = field(default_factory=list)  # exceptions, console errors, failed loads
    requests: List[str] = field(default_factory=list)  # every URL the page asked for


class Browser:
    """chromium --headless with --remote-debugging-port=0; the port it chose is read from the
    DevToolsActivePort file of its profile folder, so no port is guessed."""

    def __init__(self, executable: str, width: int = 1280, height: int = 900, timeout_s: float = 15.0):
        self.profile = tempfile.TemporaryDirectory(prefix="benchmatrix-chromium-")
        self.timeout_s = timeout_s
        self.process = subprocess.Popen(
            [executable, "--headless", "--disable-gpu", "--no-sandbox", "--remote-debugging-port=0",
             "--user-data-dir=" + self.profile.name, "--window-size={},{}".format(width, height),
             *OFFLINE_FLAGS, "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.connection = contextlib.ExitStack()
        self.socket = self.connection.enter_context(self._connect())
        self.next_id = 0
        self.events: List[Dict[str, Any]] = []

    def _connect(self):
        from websockets.sync.client import connect

        active = Path(self.profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout_s
        while not (active.exists() and len(active.read_text().split()) == 2):
            if self.process.poll() is not None:
                raise RuntimeError("chromium exited ({}): {}".format(
                    self.process.returncode, self.process.stderr.read().decode(errors="replace")[-2000:]))
            if time.monotonic() > deadline:
                raise RuntimeError("chromium wrote no DevToolsActivePort within {} s".format(self.timeout_s))
            time.sleep(0.05)
        port, path = active.read_text().split()
        return connect("ws://127.0.0.1:{}{}".format(port, path), max_size=None, open_timeout=self.timeout_s)

    def send(self, method: str, params: Optional[Dict[str, Any]] = None, session: Optional[str] = None) -> Dict:
        self.next_id += 1
        message: Dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.socket.send(json.dumps(message))
        while True:
            reply = self._receive()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError("{} failed: {}".format(method, reply["error"]))
                return reply.get("result", {})
            self.events.append(reply)

    def _receive(self, timeout: Optional[float] = None) -> Dict[str, Any]:
        return json.loads(self.socket.recv(timeout=timeout if timeout is not None else self.timeout_s))

    def wait_for(self, method: str, session: str) -> None:
        deadline = time.monotonic() + self.timeout_s
        while not any(e.get("method") == method and e.get("sessionId") == session for e in self.events):
            self.events.append(self._receive(max(0.01, deadline - time.monotonic())))

    def open(self, url: str) -> "Tab":
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(domain + ".enable", session=session)
        tab = Tab(self, session)
        tab.navigate(url)
        return tab

    def close(self) -> None:
        try:
            self.connection.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process.stderr.close()
            self.profile.cleanup()


class Tab:
    def __init__(self, browser: Browser, session: str):
        self.browser, self.session = browser, session

    def navigate(self, url: str) -> None:
        self.browser.send("Page.navigate", {"url": url}, self.session)
        self.browser.wait_for("Page.loadEventFired", self.session)

    def evaluate(self, expression: str) -> Any:
        """The expression's value; a promise is awaited."""
        result = self.browser.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                        "returnByValue": True}, self.session)
        if "exceptionDetails" in result:
            raise RuntimeError("{} threw: {}".format(expression, result["exceptionDetails"]))
        return result["result"].get("value")

    def load(self) -> PageLoad:
        """What went wrong on this tab so far, and every URL it requested."""
        seen = PageLoad()
        for event in self.browser.events:
            if event.get("sessionId") != self.session:
                continue
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                seen.errors.append(json.dumps(params["exceptionDetails"])[:500])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                seen.errors.append(" ".join(str(a.get("value", a.get("description"))) for a in params["args"]))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                seen.errors.append(params["entry"].get("text", ""))
            elif method == "Network.loadingFailed":
                seen.errors.append("failed to load: " + params.get("errorText", ""))
            elif method == "Network.requestWillBeSent":
                seen.requests.append(params["request"]["url"])
        return seen

    def screenshot(self, path: Path, max_height: int = 2400) -> None:
        """The page beyond the window, down to max_height pixels."""
        import base64

        size = self.browser.send("Page.getLayoutMetrics", session=self.session)["cssContentSize"]
        shot = self.browser.send("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], max_height), "scale": 1}}, self.session)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))


def is_local(url: str) -> bool:
    return url.startswith(LOCAL_SCHEMES)
