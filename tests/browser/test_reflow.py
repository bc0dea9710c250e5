"""Every page of the portal as people with small screens, low vision and printers see it.

Government users read the portal on cheap phones (360 CSS px) and zoom to 400%: every page, as
the role that uses it sees it, is opened 320 CSS px wide in English, Hindi and Marathi (WCAG
1.4.10: no sideways scrolling of the page, only a data table's own box scrolls), and must
clip no text, show every control's whole focus ring when it takes focus, and give every control
a target of 24 by 24 CSS px or the room around it (2.5.8). In English each page is also seen in
Windows' high-contrast mode (forced colours, in a dark and a light theme: nothing it shows
disappears) and printed on A4 (the navigation, filters and decision forms stay off the paper, and
nothing the page shows is cut off at the paper's edge)."""

import io
from collections import defaultdict

import pytest
from django.test import Client
from django.urls import get_resolver, resolve
from django.utils import timezone
from PIL import Image, ImageChops

from api.services import api_client_create
from monitoring.models import ExpectedOffice
from onboarding.approval import services as approvals
from onboarding.models import Decision, Stage
from portal.accounts.models import EmailSuffixRule
from portal.mail.models import OutboxMessage, UnknownMailbox
from portal.organisations.models import Membership, MembershipRole, PlatformRoleGrant
from portal.privacy.requests import privacy_request_make
from portal.privacy.retention import legal_hold_set
from tests.factories import OrganisationDomainFactory, OrganisationFactory, UserFactory, application_with_state
from tests.onboarding.approval_helpers import (  # noqa: F401 (fixture)
    AUTHORITY_EMAIL,
    latest_link,
    make_state_admin,
    make_superadmin,
    official_email_rules,
    second_factor_given,
    submitted_application,
)
from tests.onboarding.form_helpers import new_application, section_url
from tests.portal.test_routes import is_ours, walk
from tests.verification.helpers import GovernmentProfileFactory, make_admin
from tests.verification.rosters.helpers import csv_bytes, upload
from tests.verification.rosters.helpers import person as roster_row
from verification.models import VerificationMethod, VerificationStatus
from verification.rosters.apply import roster_apply_run
from verification.rosters.models import Invitation
from verification.rosters.services import roster_apply_request

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("official_email_rules"),
]

PHONE = {"width": 320, "height": 640}
# A4 (210 mm, 794 CSS px) less the print dialog's margins of 1 cm each side.
PAPER = {"width": 718, "height": 1047}

# The routes of the project the sweep does not open, each with why: not a page (a file, a fragment
# htmx swaps in, a form's target), or one whose page the sweep opens by another route.
NOT_PAGES = {
    "healthz": "JSON", "readyz": "JSON", "api/v1/openapi.json": "JSON", "api/v1/verifications": "JSON",
    "api/v1/": "JSON", "api/v1": "JSON", "api/v1/<path:rest>": "JSON",
    "api/clients/<int:pk>/token/": "shown once, right after the client is registered",
    "i18n/setlang/": "the language form's target",
    "portal/organisations/<int:pk>/reactivate/": "the suspension page's twin, for a suspended organisation",
    "privacy/my-data/download/": "a ZIP file",
    "portal/roles/report.csv": "a CSV file",
    "onboarding/organisations/search/": "a fragment the hierarchy section swaps in",
    "onboarding/<int:pk>/letter/<int:attachment_id>/": "a PDF file",
    "onboarding/<int:pk>/form.pdf": "a PDF file",
    "onboarding/<int:pk>/resend-link/": "a form's target",
    "onboarding/<int:pk>/approval-letter.pdf": "a PDF file",
    "onboarding/review/done/": "shown once, after the decision",
    "onboarding/review/letter/": "a PDF file",
    "onboarding/review/form.pdf": "a PDF file",
    "onboarding/review/<int:step_id>/letter/": "a PDF file",
    "onboarding/review/<int:step_id>/form.pdf": "a PDF file",
    "verification/queue/decide/": "a form's target",
    "verification/profiles/<int:pk>/accept-name/": "a form's target",
    "verification/rosters/template.csv": "a CSV file",
    "verification/rosters/template.xlsx": "a spreadsheet",
    "verification/rosters/<int:pk>/progress/": "a fragment the roster's page swaps in",
    "verification/rosters/<int:pk>/refused-rows.csv": "a CSV file",
    "verification/rosters/<int:pk>/apply/": "answered by the roster's page",
    "verification/invitations/<int:pk>/resend/": "a form's target",
    "monitoring/organisations.csv": "a CSV file",
    "people/export.csv": "a CSV file",
}


def session_of(user):
    """The session cookie of ``user`` signed in (with the second factor given, for a role that needs it)."""
    client = Client()
    client.force_login(user)
    second_factor_given(client, user)
    return client.cookies["sessionid"].value


def every_page():
    """The session cookie of each role, and (role, path) of each page as the role that uses it
    sees it, with the data each page shows built with the factories (and the services where
    a state is theirs to make: a rejection, an appeal, a roster applied)."""
    now = timezone.now()
    department = OrganisationFactory(name="Agriculture Department, Maharashtra", short_code="MH-AGRI",
                                     name_local="कृषी विभाग, महाराष्ट्र शासन")
    OrganisationDomainFactory(organisation=department, domain="mahaagri.gov.in")
    claimed = OrganisationDomainFactory(organisation=department, domain="krishi.maharashtra.gov.in", is_verified=False)
    admin = make_admin(department, email="admin@mahaagri.gov.in", full_name="Department Admin")
    person = GovernmentProfileFactory(
        user=UserFactory(email="sunil.patil@mahaagri.gov.in", full_name="Sunil Patil"), organisation=department,
        official_email="sunil.patil@mahaagri.gov.in", method=VerificationMethod.MANUAL, verified_at=now,
        status=VerificationStatus.VERIFIED, designation="Deputy Director")
    suspended = GovernmentProfileFactory(
        user=UserFactory(email="meena.iyer@mahaagri.gov.in", full_name="Meena Iyer"), organisation=department,
        status=VerificationStatus.SUSPENDED, reason_code="misuse")
    Membership.objects.create(organisation=department, user=person.user, role=MembershipRole.MEMBER)
    waiting = GovernmentProfileFactory(user=UserFactory(email="asha.kulkarni@mahaagri.gov.in", full_name="Asha Kulkarni"),
                                       organisation=department)
    superadmin = make_superadmin(email="anita.rao@nic.in")
    state_admin = make_state_admin("MH", email="ravi@maharashtra.gov.in")
    officer = UserFactory(email="nodal.officer@mahaagri.gov.in", full_name="Nodal Officer")
    draft = new_application(officer)
    with_authority = submitted_application(officer)
    review_path, _token = latest_link(AUTHORITY_EMAIL)
    at_state = application_with_state(nodal_officer=officer)
    rejected = application_with_state(nodal_officer=officer)
    approvals.step_decide(step_id=rejected.steps.get(stage=Stage.STATE, decision="").pk, decision=Decision.REJECT,
                          remarks="The authorisation letter is unsigned.", actor=state_admin)
    appealed = application_with_state(nodal_officer=officer)
    approvals.step_decide(step_id=appealed.steps.get(stage=Stage.STATE, decision="").pk, decision=Decision.REJECT,
                          remarks="Duplicate of another application.", actor=state_admin)
    approvals.application_appeal(application_id=appealed.pk, grounds="It is not a duplicate.", actor=officer)
    roster = upload(department, admin, csv_bytes([roster_row(1, domain="mahaagri.gov.in"),
                                                  roster_row(2, domain="gmail.com"),
                                                  roster_row(3, domain="mahaagri.gov.in", Name="")]))
    applied = upload(department, admin, csv_bytes([roster_row(4, domain="mahaagri.gov.in")]))
    roster_apply_request(roster_id=applied.pk, actor=admin)
    roster_apply_run(roster_id=applied.pk)
    invitation = Invitation.objects.get()
    client, _secret = api_client_create(organisation_id=department.pk, name="Mahadbt farmer portal", actor=admin)
    office = ExpectedOffice.objects.create(
        jurisdiction="MH", name="District Collectorate, Ratnagiri", short_code="MH-RTN",
        official_domain="ratnagiri.maharashtra.gov.in", contact_email="collector@ratnagiri.maharashtra.gov.in",
        target_date=now.date())
    privacy = privacy_request_make(user=person.user, kind="correction", details="My designation is Deputy Director.")
    hold = legal_hold_set(target_type="onboarding.application", target_id=at_state.pk, reason="RTI appeal pending.",
                          actor=superadmin)
    unknown = UnknownMailbox.objects.create(
        mailbox="gone@mahaagri.gov.in", first_refused_at=now, last_refused_at=now,
        reply="550 5.1.1 <gone@mahaagri.gov.in>: Recipient address rejected: User unknown in virtual mailbox table")
    state_grant = PlatformRoleGrant.objects.get(user=state_admin)
    state_step = at_state.steps.get(stage=Stage.STATE, decision="")
    appeal_step = appealed.steps.get(stage=Stage.APPEAL)
    users = {"superadmin": superadmin, "state_admin": state_admin, "admin": admin, "officer": officer,
             "person": person.user, "asker": waiting.user}
    sessions = {name: session_of(user) for name, user in users.items()}
    sessions["anonymous"] = None
    org, secret = department.pk, "A" * 43
    pages = [
        ("anonymous", "/"),
        ("anonymous", "/accounts/login/"),
        ("anonymous", "/accounts/signup/"),
        ("anonymous", "/accounts/password/reset/"),
        ("anonymous", "/onboarding/privacy-notice/"),
        ("anonymous", "/privacy/notice/"),
        ("anonymous", "/people/"),
        ("anonymous", review_path),
        ("anonymous", "/onboarding/review/"),
        ("anonymous", f"/onboarding/review/{secret}/"),
        ("anonymous", f"/verification/confirm/{secret}/"),
        ("anonymous", "/verification/confirm/"),
        ("anonymous", f"/verification/invitations/{secret}/"),
        ("anonymous", "/no-such-page/"),
        ("officer", "/onboarding/"),
        ("officer", "/onboarding/start/"),
        ("officer", f"/onboarding/{draft.pk}/tasks/"),
        *[("officer", section_url(draft, s)) for s in ("organisation", "hierarchy", "nodal_officer",
                                                       "competent_authority", "integration", "declarations")],
        ("officer", f"/onboarding/{draft.pk}/letter/"),
        ("officer", f"/onboarding/{draft.pk}/submit/"),
        ("officer", f"/onboarding/{draft.pk}/withdraw/"),
        ("officer", f"/onboarding/{with_authority.pk}/"),
        ("officer", f"/onboarding/{at_state.pk}/"),
        ("officer", f"/onboarding/{rejected.pk}/"),
        ("officer", f"/onboarding/{rejected.pk}/appeal/"),
        ("officer", f"/onboarding/{appealed.pk}/"),
        ("officer", "/accounts/password/change/"),
        ("state_admin", "/onboarding/queue/"),
        ("state_admin", f"/onboarding/queue/{state_step.pk}/"),
        ("state_admin", "/monitoring/"),
        ("state_admin", "/monitoring/adoption/"),
        ("state_admin", "/monitoring/adoption/new/"),
        ("state_admin", "/monitoring/adoption/upload/"),
        ("state_admin", f"/monitoring/adoption/{office.pk}/edit/"),
        ("state_admin", f"/monitoring/adoption/{office.pk}/delete/"),
        ("state_admin", f"/monitoring/adoption/{office.pk}/remind/"),
        ("state_admin", f"/portal/organisations/{org}/"),
        ("state_admin", f"/portal/organisations/{org}/suspend/"),
        ("state_admin", f"/portal/organisations/{org}/details/"),
        ("state_admin", "/accounts/2fa/"),
        ("superadmin", "/onboarding/timings/"),
        ("superadmin", "/portal/email-rules/"),
        ("superadmin", f"/portal/email-rules/{EmailSuffixRule.objects.get(suffix='gov.in').pk}/"),
        ("superadmin", "/portal/outbox/"),
        ("superadmin", f"/portal/outbox/{OutboxMessage.objects.first().pk}/"),
        ("superadmin", f"/portal/outbox/unknown/{unknown.pk}/lift/"),
        ("superadmin", "/portal/organisations/domain-claims/"),
        ("superadmin", f"/portal/organisations/domain-claims/{claimed.pk}/accept/"),
        ("superadmin", f"/portal/organisations/{org}/domains/{claimed.pk}/remove/"),
        ("superadmin", f"/portal/organisations/{org}/domains/add/"),
        ("superadmin", f"/portal/organisations/{org}/move/"),
        ("superadmin", "/portal/privacy/retention/"),
        ("superadmin", "/portal/privacy/holds/"),
        ("superadmin", f"/portal/privacy/holds/{hold.pk}/release/"),
        ("superadmin", "/portal/privacy/notice/"),
        ("superadmin", "/portal/privacy/requests/"),
        ("superadmin", f"/portal/privacy/requests/{privacy.pk}/"),
        ("superadmin", "/portal/privacy/breach/"),
        ("superadmin", "/portal/roles/"),
        ("superadmin", "/portal/roles/platform/grant/"),
        ("superadmin", f"/portal/roles/platform/grant/?user={person.user.pk}"),
        ("superadmin", f"/portal/roles/platform/{state_grant.pk}/revoke/"),
        ("superadmin", "/portal/roles/report/"),
        ("superadmin", "/onboarding/appeals/"),
        ("superadmin", f"/onboarding/appeals/{appeal_step.pk}/"),
        ("superadmin", f"/onboarding/{at_state.pk}/officer/"),
        ("superadmin", "/monitoring/audit/"),
        ("admin", f"/verification/organisations/{org}/members/"),
        ("admin", f"/verification/organisations/{org}/settings/"),
        ("admin", f"/verification/organisations/{org}/rosters/"),
        ("admin", f"/verification/rosters/{roster.pk}/"),
        ("admin", f"/verification/rosters/{roster.pk}/apply/"),
        ("admin", f"/verification/rosters/{applied.pk}/"),
        ("admin", f"/verification/organisations/{org}/invitations/"),
        ("admin", f"/verification/invitations/{invitation.pk}/cancel/"),
        ("admin", f"/api/organisations/{org}/clients/"),
        ("admin", f"/api/organisations/{org}/clients/new/"),
        ("admin", f"/api/clients/{client.pk}/revoke/"),
        ("admin", f"/people/visibility/organisations/{org}/"),
        ("admin", f"/portal/roles/organisations/{org}/"),
        ("admin", f"/portal/roles/organisations/{org}/grant/?user={person.user.pk}"),
        ("admin", f"/portal/roles/organisations/{org}/revoke/?user={admin.pk}"),
        ("admin", "/verification/queue/"),
        ("admin", f"/verification/profiles/{waiting.pk}/"),
        ("admin", f"/verification/profiles/{person.pk}/"),
        ("admin", f"/verification/profiles/{person.pk}/suspend/"),
        ("admin", f"/verification/profiles/{person.pk}/revoke/"),
        ("admin", f"/verification/profiles/{suspended.pk}/reinstate/"),
        ("admin", "/monitoring/audit/"),
        ("person", "/people/?q=Sunil"),
        ("person", f"/people/{person.pk}/"),
        ("person", "/people/visibility/"),
        ("person", "/privacy/my-data/"),
        ("person", "/privacy/notice/accept/"),
        ("person", "/verification/"),
        ("person", "/verification/organisations/?q=Agri"),
        ("person", "/accounts/email/"),
        ("asker", "/verification/"),
        ("asker", f"/verification/organisations/{org}/join/"),
        ("asker", f"/verification/requests/{waiting.pk}/withdraw/"),
    ]
    return sessions, pages


# Helpers of the checks below, in the page.
JS_HELPERS = """
const hiddenText = el => el.closest('.visually-hidden, .visually-hidden-focusable:not(:focus):not(:focus-within)');
const shown = el => { const r = el.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && el.checkVisibility({visibilityProperty: true}) && !hiddenText(el); };
const name = el => { const text = (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().replace(/\\s+/g, ' ');
  return `<${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${[...el.classList].map(c => '.' + c).join('')}> "${text.slice(0, 40)}"`; };
const TARGETS = 'a[href], button, input:not([type=hidden]), select, textarea, summary';
const FIELDS = 'input, select, textarea';
"""

# 1.4.10: the page no wider than the window (a table scrolls in its own box: only what sticks out
# of the window outside any scrolling box is named). Clipped text: a box that hides what overflows
# it (a field's own text scrolls in it). 2.5.8: a target under 24x24 px is allowed in a line of text,
# or when a circle of 24 px on its centre meets no other target nor another small one's circle.
# A target in smaller type than the text of its line (a section heading's "Change") is not held to
# that line's height, nor part of its sentence: its size is the page's choice, 24x24 px at least.
PHONE_CHECK = """() => {""" + JS_HELPERS + """
  const out = {overflow: [], clipped: [], targets: []};
  const doc = document.scrollingElement, width = doc.clientWidth;
  const scrolls = el => { for (let p = el.parentElement; p; p = p.parentElement) {
    if (['auto', 'scroll'].includes(getComputedStyle(p).overflowX)) return true; } return false; };
  if (doc.scrollWidth > width) {
    const wide = [...document.body.querySelectorAll('*')].filter(el => shown(el) && !scrolls(el)
      && el.getBoundingClientRect().right > width + 0.5 && !(el.parentElement && el.parentElement.getBoundingClientRect().right > width + 0.5));
    out.overflow.push(`the page is ${doc.scrollWidth} px wide: ` + wide.slice(0, 3).map(name).join(', '));
  }
  for (const el of document.body.querySelectorAll('*')) {
    if (el.matches(FIELDS) || !shown(el)) continue;
    const s = getComputedStyle(el);
    if ((['hidden', 'clip'].includes(s.overflowX) && el.scrollWidth > el.clientWidth + 1)
        || (['hidden', 'clip'].includes(s.overflowY) && el.scrollHeight > el.clientHeight + 1))
      out.clipped.push(`${name(el)} shows ${el.clientWidth}x${el.clientHeight} px of ${el.scrollWidth}x${el.scrollHeight}`);
  }
  const targets = [...document.querySelectorAll(TARGETS)].filter(shown);
  const rects = targets.map(el => el.getBoundingClientRect());
  const small = r => r.width < 24 || r.height < 24;
  targets.forEach((el, i) => {
    const r = rects[i];
    if (!small(r)) return;
    let block = el.parentElement;
    while (block && getComputedStyle(block).display.startsWith('inline')) block = block.parentElement;
    if (block && parseFloat(getComputedStyle(el).fontSize) < parseFloat(getComputedStyle(block).fontSize) - 0.1) {
      out.targets.push(`${name(el)} is ${Math.round(r.width)}x${Math.round(r.height)} px, in smaller type than its line`);
      return;
    }
    if (getComputedStyle(el).display === 'inline' && block && block.innerText.trim().length > el.innerText.trim().length) return;
    const cx = (r.left + r.right) / 2, cy = (r.top + r.bottom) / 2;
    const crowded = targets.find((other, j) => {
      if (j === i || other.contains(el) || el.contains(other)) return false;
      const o = rects[j];
      const dx = Math.max(o.left - cx, 0, cx - o.right), dy = Math.max(o.top - cy, 0, cy - o.bottom);
      if (dx * dx + dy * dy < 144 - 0.01) return true;
      return small(o) && ((o.left + o.right) / 2 - cx) ** 2 + ((o.top + o.bottom) / 2 - cy) ** 2 < 576 - 0.01;
    });
    if (crowded) out.targets.push(`${name(el)} is ${Math.round(r.width)}x${Math.round(r.height)} px, too close to ${name(crowded)}`);
  });
  return out;
}"""

# Each control that takes focus inside a box that clips (a table's scrolling box, a list of matches)
# or at the window's edge: focused, its whole focus ring (outline and offset) is in sight (less
# than a pixel of it cut off still reads).
FOCUS_CHECK = """() => {""" + JS_HELPERS + """
  const out = [];
  const width = document.documentElement.clientWidth;
  const clippers = el => { const found = [];
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const s = getComputedStyle(p); if (s.overflowX !== 'visible' || s.overflowY !== 'visible') found.push(p); }
    return found; };
  for (const el of document.querySelectorAll(TARGETS + ', [tabindex="0"]')) {
    if (!shown(el) || el.disabled) continue;
    const boxes = clippers(el), before = el.getBoundingClientRect();
    if (!boxes.length && before.left > 8 && before.right < width - 8) continue;
    el.focus();
    if (document.activeElement !== el) continue;
    const s = getComputedStyle(el);
    const w = s.outlineStyle === 'none' ? 0 : parseFloat(s.outlineWidth) + parseFloat(s.outlineOffset);
    const r = el.getBoundingClientRect();
    const ring = {left: r.left - w, top: r.top - w, right: r.right + w, bottom: r.bottom + w};
    const cut = boxes.filter(box => { const b = box.getBoundingClientRect();
      const left = b.left + box.clientLeft, top = b.top + box.clientTop;
      return ring.left < left - 1 || ring.top < top - 1 || ring.right > left + box.clientWidth + 1
        || ring.bottom > top + box.clientHeight + 1; }).map(name);
    if (ring.left < -1 || ring.right > width + 1) cut.push('the window');
    if (cut.length) out.push(`${name(el)} focused: its focus ring is cut off by ${cut.join(', ')}`);
    el.blur();
  }
  return out;
}"""


# In forced colours: each shape and text of an inline SVG (a chart) stands out from the window's
# background (3:1, WCAG 1.4.11): the system's colours replace the page's, but not an SVG's paint.
SVG_CHECK = """() => {""" + JS_HELPERS + """
  const rgb = value => (value.match(/[\\d.]+/g) || []).slice(0, 3).map(Number);
  const luminance = ([r, g, b]) => [r, g, b].map(c => c / 255).map(c => c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)
    .reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
  const contrast = (a, b) => { const [x, y] = [luminance(rgb(a)), luminance(rgb(b))].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const canvas = getComputedStyle(document.body).backgroundColor;
  const out = [];
  for (const el of document.querySelectorAll('svg text, svg rect, svg path, svg circle, svg line, svg polyline, svg polygon, svg ellipse')) {
    if (!shown(el)) continue;
    const s = getComputedStyle(el), paint = s.fill !== 'none' ? s.fill : s.stroke;
    if (paint.startsWith('rgb') && contrast(paint, canvas) < 3) {
      out.push(`<${el.tagName} "${el.textContent.trim().slice(0, 20)}"> painted ${paint} on ${canvas} (${contrast(paint, canvas).toFixed(1)}:1)`);
    }
  }
  return [...new Set(out)].slice(0, 5);
}"""

# On paper (print media, A4 less its margins): no control of the header's navigation or language
# form is printed, nor a field or button of a form that filters or searches what the page lists (a
# GET form; a report's query, whose values say what the paper reports, is printed) or of a form
# that decides, nor any button of a form that acts (POST; which forms act is read from the
# templates by tests/test_printed_forms.py), and nothing in the page is cut off at the paper's
# edge or by a box that would scroll on a screen.
PRINT_CHECK = """() => {""" + JS_HELPERS + """
  const out = {navigation: [], controls: [], cut: []};
  for (const el of document.querySelectorAll('header nav *, header .language-switch *')) {
    if (el.matches(TARGETS) && shown(el)) out.navigation.push(`${name(el)} is printed`);
  }
  for (const el of document.querySelectorAll('main form[method=get]:not(.report-query) *, main form:has([name=decision]) *, main form[method=post] button, main form[method=post] [type=submit], main form.report-query button')) {
    if (el.matches('input:not([type=hidden]), select, textarea, button') && shown(el)) out.controls.push(`${name(el)} is printed`);
  }
  const doc = document.scrollingElement;
  if (doc.scrollWidth > doc.clientWidth) out.cut.push(`the page is ${doc.scrollWidth} px wide on paper ${doc.clientWidth} px wide`);
  for (const el of document.querySelectorAll('main *')) {
    if (el.matches(FIELDS) || !shown(el)) continue;
    if (getComputedStyle(el).overflowX !== 'visible' && el.scrollWidth > el.clientWidth + 1) {
      out.cut.push(`${name(el)} prints ${el.clientWidth} px of its ${el.scrollWidth}`);
    }
  }
  return out;
}"""


def checked_state_hidden(page):
    """The first radio and the first checkbox of the page whose checked state draws nothing:
    the inside of the control looks the same checked and not checked."""
    hidden = []
    for kind in ("radio", "checkbox"):
        control = page.locator(f"main input[type={kind}]:visible").first
        if not control.count():
            continue
        control.scroll_into_view_if_needed()
        box = control.bounding_box()
        inside = {"x": box["x"] + box["width"] * 0.2, "y": box["y"] + box["height"] * 0.2,
                  "width": box["width"] * 0.6, "height": box["height"] * 0.6}
        shots = []
        for _ in range(2):
            shots.append(Image.open(io.BytesIO(page.screenshot(clip=inside))).convert("RGB"))
            control.evaluate("input => { input.checked = !input.checked; }")
        difference = ImageChops.difference(*shots).convert("L").point(lambda value: 255 if value > 64 else 0)
        if not difference.getbbox():
            hidden.append(f"<input type={kind} name={control.get_attribute('name')}>: checked or not, it looks the same")
    return hidden


def forced_colours_problems(page):
    """What forced colours hide on the page: its inline SVGs' shapes and text, its choices' checked
    state. A page with neither has nothing the system's colours could hide, and is not redrawn."""
    if not page.evaluate("() => !!document.querySelector('svg, main input[type=radio], main input[type=checkbox]')"):
        return []
    problems = []
    for scheme in ("dark", "light"):
        page.emulate_media(forced_colors="active", color_scheme=scheme)
        problems += [f"{scheme} theme: {problem}" for problem in page.evaluate(SVG_CHECK) + checked_state_hidden(page)]
    page.emulate_media(forced_colors="none", color_scheme="light")
    return problems


def paper_problems(page):
    page.set_viewport_size(PAPER)
    page.emulate_media(media="print")
    found = page.evaluate(PRINT_CHECK)
    page.emulate_media(media="screen")
    page.set_viewport_size(PHONE)
    return {"printed navigation": found["navigation"], "printed filter or decision": found["controls"],
            "cut off on paper": found["cut"]}


def phone_problems(page):
    found = page.evaluate(PHONE_CHECK)
    found["focus"] = page.evaluate(FOCUS_CHECK)
    return found


def visit(browser, portal, sessions, pages, language):
    """Yields (role, path, page) for every page, opened in ``language`` at 320 CSS px, one
    browser context per role (its session and language in cookies)."""
    host = portal.split("//")[1].split(":")[0]
    contexts = {}
    try:
        for role, path in pages:
            if role not in contexts:
                context = browser.new_context(viewport=PHONE, locale="en-IN")
                cookies = [{"name": "django_language", "value": language, "domain": host, "path": "/"}]
                if sessions[role]:
                    cookies.append({"name": "sessionid", "value": sessions[role], "domain": host, "path": "/"})
                context.add_cookies(cookies)
                contexts[role] = context.new_page()
            page = contexts[role]
            response = page.goto(portal + path)
            assert response.status in (200, 404), (role, path, response.status)
            assert page.locator("html").get_attribute("lang") == language, (role, path)
            yield role, path, page
    finally:
        for page in contexts.values():
            page.context.close()


def routes_not_opened(pages):
    """The routes of the project that are neither opened by the sweep nor listed in NOT_PAGES."""
    opened = {resolve(path.split("?")[0]).route for _role, path in pages if not path.startswith("/no-such-page")}
    ours = {route for route, pattern, trail in walk(get_resolver().url_patterns) if is_ours(pattern, trail)
            and not pattern.callback.__module__.startswith("django.")}
    return sorted(ours - opened - set(NOT_PAGES))


def test_every_page(browser, portal):
    """Every page at 320 CSS px (a phone, or 1280 px zoomed to 400%) in English, Hindi and
    Marathi: nothing but a table's own box scrolls sideways, no text is clipped, a focused
    control's ring is whole, and every target is big enough or has room around it. In English,
    the same page in forced colours (dark and light) shows its charts and its choices' checked
    state, and printed shows no navigation, no filter nor decision form, and all of itself. The
    pages' data is built once and seen in the three languages (each language a browser context
    of its own per role)."""
    sessions, pages = every_page()
    assert routes_not_opened(pages) == []
    problems = defaultdict(list)
    for language in ("en", "hi", "mr"):
        for role, path, page in visit(browser, portal, sessions, pages, language):
            found = phone_problems(page)
            if language == "en":
                found["forced colours"] = forced_colours_problems(page)
                found.update(paper_problems(page))
            for kind, listed in found.items():
                problems[kind] += [f"{path} ({role}, {language}): {problem}" for problem in listed]
    problems = {kind: listed for kind, listed in problems.items() if listed}
    assert problems == {}, "\n".join(f"[{kind}] {p}" for kind, listed in problems.items() for p in listed)
