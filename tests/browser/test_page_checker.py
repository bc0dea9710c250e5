"""The page checker every browser journey runs: what it reports and what it lets pass."""

import pytest

from tests.browser.support import PageChecker

pytestmark = pytest.mark.browser

PAGE = """<!DOCTYPE html><html lang="en"><head><title>Checker</title></head>
<body><main><h1>A page</h1>{body}</main></body></html>"""


def test_a_serious_or_critical_violation_is_reported_and_a_moderate_one_is_not(page):
    checker = PageChecker("page-checker")
    # An image with no text alternative (axe "image-alt", critical), a button with no name
    # ("button-name", critical), text outside every landmark ("region", moderate) and a
    # heading level skipped ("heading-order", moderate).
    page.set_content("<!DOCTYPE html><html lang='en'><head><title>Checker</title></head><body>"
                     "<p>Outside every landmark</p><main><h1>A page</h1><h4>Skipped levels</h4>"
                     "<img src='data:image/gif;base64,R0lGODlhAQABAAAAACw='><button></button></main></body></html>")
    checker(page, "violations")
    reported = "\n".join(checker.problems)
    assert "critical image-alt" in reported
    assert "critical button-name" in reported
    assert "region" not in reported and "heading-order" not in reported
    with pytest.raises(AssertionError, match="image-alt"):
        checker.assert_clean()


def test_a_page_without_blocking_violations_passes(page):
    checker = PageChecker("page-checker-clean")
    page.set_content(PAGE.format(body="<p>Nothing wrong here.</p>"))
    checker(page, "clean")
    checker.assert_clean()
    assert checker.count == 1
