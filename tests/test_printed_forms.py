"""No form that acts is printed: read from the templates themselves, so that a new page whose
form changes something (any method but GET) fails here, without a browser, until its form sits
off the paper (d-print-none on the form or an element around it) or it is listed in KEPT, where
its fields are printed on purpose and only its buttons stay off the paper. No database needed.

What the print styles (static/css/portal.css) keep off the paper counts as off it too: the
header's navigation and its language form. The Django admin's templates are left out: its pages
carry the admin's own styles, not the portal's.
"""

import re
from pathlib import Path

from django.conf import settings

from tests.html_tree import off_paper, parse

TEMPLATES = Path(settings.BASE_DIR) / "templates"

# Forms whose fields are printed on purpose (their buttons are not): a template, and why.
KEPT = {
    "onboarding/section.html": "the application's answers, as typed",
    "onboarding/submit.html": "the remarks the application was returned with, and the reply typed",
    "onboarding/appeal.html": "the grounds of the appeal, as typed",
    "onboarding/approval_timings.html": "the approval timings as they stand",
    "portal/email_rule_edit.html": "the rule as it stands (its deletion is kept off the paper)",
    "portal/organisations/details.html": "the organisation's details as they stand or are typed",
    "portal/organisations/move.html": "the move being decided: the state and the organisation above it chosen",
    "monitoring/office_form.html": "the expected office as it stands or is typed",
    "privacy/my_data.html": "the person's name and nominee as recorded (the request form is kept off the paper)",
    "privacy/retention.html": "the retention policies as they stand",
    "verification/queue.html": "the requests listed (the boxes choosing them are kept off the paper)",
    "verification/queue_confirm.html": "the requests chosen (the decision is kept off the paper)",
    "verification/settings.html": "the organisation's verification settings as they stand",
    "visibility/mine.html": "the person's choices of who sees what",
    "visibility/organisation.html": "the organisation's choices of who sees what",
}

INCLUDE = re.compile(r"""{%\s*include\s+["']([^"']+)["']""")


def printed_source(node):
    """The template text in the element outside elements kept off the paper."""
    return "".join(printed_source(child) if hasattr(child, "children") else child for child in node.children
                   if not hasattr(child, "children") or not off_paper(child))


def buttons_of(node, seen=()):
    """The buttons in the element, and in the templates it includes (and they include): a
    button of a kept form printed from an include is printed all the same."""
    found = [element for element in node.iter() if element.tag == "button"
             or (element.tag == "input" and element.get("type") in ("submit", "image", "reset"))]
    for name in INCLUDE.findall(printed_source(node)):
        if name not in seen and (TEMPLATES / name).is_file():
            included = parse((TEMPLATES / name).read_text())
            found += [element for element in buttons_of(included, (*seen, name)) if not off_paper(element)]
    return found


def printed_acting_forms():
    """Each printed form that acts, as "template: what of it is printed"."""
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = path.relative_to(TEMPLATES).as_posix()
        if name.startswith("admin/"):
            continue
        for form in parse(path.read_text()).find_all("form"):
            if form.get("method", "get").strip().lower() == "get" or off_paper(form):
                continue
            if name not in KEPT:
                found.append(f"{name}: a form that acts is printed")
                continue
            found += [f"{name}: its button {button.get('name', '')!r} is printed" for button in buttons_of(form)
                      if not off_paper(button)]
    return found


def test_no_form_that_acts_is_printed():
    assert printed_acting_forms() == []


def test_no_copy_of_a_refused_form_is_printed():
    """A form refused (the decision taken meanwhile, or held back) comes back as a disabled
    copy, what was typed readable on screen; it acts on nothing on paper either, where the page
    says why it is refused."""
    found = [path.relative_to(TEMPLATES).as_posix() for path in sorted(TEMPLATES.rglob("*.html"))
             for fieldset in parse(path.read_text()).find_all("fieldset") if "disabled" in fieldset.attrs
             and not off_paper(fieldset)]
    assert found == []


def test_the_forms_kept_on_paper_are_in_templates_that_exist():
    assert [name for name in KEPT if not (TEMPLATES / name).is_file()] == []


def test_a_get_form_kept_on_paper_is_a_reports_query():
    """A form that only asks (GET) is kept off the paper by the print styles unless it is a
    report's query, whose values say what the paper reports; its button is never printed."""
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        for form in parse(path.read_text()).find_all("form", class_="report-query"):
            found += [f"{path.name}: its button is printed" for node in form.iter()
                      if node.tag == "button" and not off_paper(node)]
    assert found == []
