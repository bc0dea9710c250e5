"""Helpers for the real-browser tests: where artifacts go, signing in and out
through allauth's pages, the main navigation and the language selector, waiting for
mail and reading a code from it, and the page checker (screenshot + axe-core) run on
every page of a journey, in each language when asked."""

import base64
import re
import time
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.factories import PASSWORD
from tests.onboarding.approval_helpers import totp_code
from tests.smtp import text_of

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
BLOCKING_IMPACTS = {"serious", "critical"}
OTHER_LANGUAGES = ("hi", "mr")
# axe-core's run with only the rules that can find a blocking violation: a violation's
# impact is its rule's own (axe-core's finalizeRuleResult gives every check the rule's
# impact), so a rule whose impact is moderate or minor (landmarks, "region", heading
# order...) can find nothing assert_clean would report, and is switched off. A rule with
# no impact of its own still runs; everything else is axe's defaults.
AXE_RUN = """blocking => {
    const off = {};
    for (const rule of axe._audit.rules) {
        if (rule.impact && !blocking.includes(rule.impact)) off[rule.id] = {enabled: false};
    }
    return axe.run(document, {resultTypes: ["violations"], rules: off});
}"""


def error_message(page, element_id):
    """The message(s) a field's error element (``element_id``) shows, without the visually
    hidden "Error:" a screen reader reads before each."""
    return page.locator(f"#{element_id} > :not(.visually-hidden)")


def sign_in(page, base, email, totp_secret=None):
    """Sign in with the password (and the current TOTP code, given the secret); returns
    the code given (None without one)."""
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    code = None
    if totp_secret:
        expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/$"))
        code = totp_code(totp_secret)
        page.get_by_label("Code").fill(code)
        page.get_by_role("button", name="Sign In").click()
    page.wait_for_load_state("load")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    return code


def sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state("load")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def nav(page, name):
    """Follow a link of the main navigation, opening its "Administration" disclosure first
    when the link is in it (as a person would)."""
    main = page.get_by_role("navigation", name="Main")
    link = main.get_by_role("link", name=name, exact=True)
    if not link.is_visible() and main.locator("details:not([open]) summary").count():
        main.locator("details:not([open]) summary").click()
    link.click()
    page.wait_for_load_state("load")


def double_click(page, locator):
    """Click twice 20 ms apart, as an impatient person does: the second click lands while
    the first sending is under way (Playwright's own dblclick sends both within one task,
    which Chromium merges into one navigation, and its click waits for the navigation)."""
    box = locator.bounding_box()
    page.mouse.click(box["x"] + 5, box["y"] + 5)
    page.wait_for_timeout(20)
    page.mouse.click(box["x"] + 5, box["y"] + 5)
    page.wait_for_load_state("load")


def switch_language(page, code):
    """Choose a language with the selector in the page's header, as a person would
    (its label is in the page's current language, so it is found by its id); the
    portal sends the browser back to the same address."""
    url = page.url
    page.locator("#language-select").select_option(code)
    page.locator("form.language-switch").get_by_role("button").click()
    page.wait_for_load_state("load")
    expect(page.locator("html")).to_have_attribute("lang", code)
    assert page.url.split("#")[0] == url.split("#")[0], f"the language switch went from {url} to {page.url}"


def verification_code(message):
    """The one sign-in code (allauth's six characters, shown as two groups of three) in a delivered message."""
    body = text_of(message)
    codes = re.findall(r"^\s*([A-Z0-9]{3,}(?:-[A-Z0-9]{3,})+)\s*$", body, flags=re.MULTILINE)
    assert len(codes) == 1, f"expected one verification code in the mail, found {codes}:\n{body}"
    return codes[0]


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


# The words (of at most 15 letters) in the cells of the page's tables, headers included, that are
# drawn broken across two lines.
BROKEN_WORDS = """() => {
  const out = new Set();
  for (const cell of document.querySelectorAll('main th, main td')) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let text = walker.nextNode(); text; text = walker.nextNode()) {
      for (const word of text.data.matchAll(/\\S+/g)) {
        if ([...word[0]].length > 15) continue;
        const range = document.createRange();
        range.setStart(text, word.index);
        range.setEnd(text, word.index + word[0].length);
        if (new Set([...range.getClientRects()].filter(r => r.width).map(r => Math.round(r.top))).size > 1) out.add(word[0]);
      }
    }
  }
  return [...out];
}"""


class PageChecker:
    """Call it on every page of a journey: it takes a full-page screenshot, checks
    the page has a lang and one <h1>, and runs axe-core, collecting the serious and
    critical violations so that one run reports them all (assert_clean at the end)."""

    def __init__(self, prefix):
        self.axe = Axe()
        self.prefix = prefix
        self.count = 0
        self.problems = []
        self.sessions = {}  # page -> its DevTools session (screenshot)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for old in SCREENSHOTS.glob(f"{prefix}-*.png"):
            old.unlink()

    def __call__(self, page, name):
        page.wait_for_load_state("load")
        self.count += 1
        self.screenshot(page, SCREENSHOTS / f"{self.prefix}-{self.count:02d}-{name}.png")
        assert page.locator("html").get_attribute("lang"), f"{name}: <html> has no lang"
        assert page.locator("h1").count() == 1, f"{name}: a page has exactly one <h1>"
        page.evaluate(self.axe.axe_script)
        for violation in page.evaluate(AXE_RUN, sorted(BLOCKING_IMPACTS))["violations"]:
            if violation["impact"] in BLOCKING_IMPACTS:
                nodes = "\n".join(
                    f"      {' '.join(map(str, node['target']))}: {node.get('failureSummary', '').strip()}"
                    for node in violation["nodes"]
                )
                self.problems.append(
                    f"[{name} {page.url}] {violation['impact']} {violation['id']}: {violation['help']}\n{nodes}"
                )

    def screenshot(self, page, path):
        """The whole page as a PNG, as ``page.screenshot(full_page=True)`` takes it (the page's
        fonts loaded, everything past the viewport drawn), encoded by Chromium for speed
        (the DevTools protocol's ``optimizeForSpeed``): the same pixels in a larger file, in
        half the processor time of Playwright's own encoding."""
        session = self.sessions.get(page)
        if session is None:
            session = self.sessions[page] = page.context.new_cdp_session(page)
        page.evaluate("document.fonts.ready.then(() => null)")
        # A page that polls (a roster's progress) may change its height between the measure
        # and the capture, which Chromium then refuses ("Unable to capture screenshot"): the
        # page is measured again and captured again, a few times at most.
        for attempt in range(3):
            size = session.send("Page.getLayoutMetrics")["cssContentSize"]
            try:
                shot = session.send("Page.captureScreenshot", {
                    "format": "png", "captureBeyondViewport": True, "optimizeForSpeed": True,
                    "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
                })
                break
            except PlaywrightError as error:
                if "Unable to capture screenshot" not in str(error) or attempt == 2:
                    raise
        path.write_bytes(base64.b64decode(shot["data"]))

    def in_each_language(self, page, name, reach=None):
        """Check the page in English as it is, then in Hindi and Marathi (switched in
        the page's header), then switch back to English. ``reach()``, when given, brings
        the page back after each switch: what a page says once, after an action (a
        message), is shown again that way."""
        self(page, name)
        for code in OTHER_LANGUAGES:
            switch_language(page, code)
            if reach:
                reach()
                expect(page.locator("html")).to_have_attribute("lang", code)
            self(page, f"{name}-{code}")
        switch_language(page, "en")

    def assert_clean(self):
        assert not self.problems, "axe-core found serious or critical violations:\n" + "\n".join(self.problems)
