"""Helpers for the real-browser tests: where artifacts go, waiting for mail, and
the page checker (screenshot + axe-core) run on every page of a journey."""

import time
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
BLOCKING_IMPACTS = {"serious", "critical"}


def wait_for_message(server, predicate, timeout=10.0):
    """The first message the SMTP server received for which predicate(message) is true."""
    deadline = time.monotonic() + timeout
    while True:
        for message in list(server.messages):
            if predicate(message):
                return message
        if time.monotonic() > deadline:
            received = [(m["To"], m["Subject"]) for m in server.messages]
            raise AssertionError(f"no matching message within {timeout}s; received: {received}")
        time.sleep(0.1)


class PageChecker:
    """Call it on every page of a journey: it takes a full-page screenshot, checks
    the page has a lang and one <h1>, and runs axe-core, collecting the serious and
    critical violations so that one run reports them all (assert_clean at the end)."""

    def __init__(self, prefix):
        self.axe = Axe()
        self.prefix = prefix
        self.count = 0
        self.problems = []
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for old in SCREENSHOTS.glob(f"{prefix}-*.png"):
            old.unlink()

    def __call__(self, page, name):
        page.wait_for_load_state("load")
        self.count += 1
        page.screenshot(path=SCREENSHOTS / f"{self.prefix}-{self.count:02d}-{name}.png", full_page=True)
        assert page.locator("html").get_attribute("lang"), f"{name}: <html> has no lang"
        assert page.locator("h1").count() == 1, f"{name}: a page has exactly one <h1>"
        results = self.axe.run(page)
        for violation in results.response["violations"]:
            if violation["impact"] in BLOCKING_IMPACTS:
                nodes = "\n".join(
                    f"      {' '.join(map(str, node['target']))}: {node.get('failureSummary', '').strip()}"
                    for node in violation["nodes"]
                )
                self.problems.append(
                    f"[{name} {page.url}] {violation['impact']} {violation['id']}: {violation['help']}\n{nodes}"
                )

    def assert_clean(self):
        assert not self.problems, "axe-core found serious or critical violations:\n" + "\n".join(self.problems)
