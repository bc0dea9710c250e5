"""What the directory of people and the verification pages refuse or keep back, as
people meet it in a real browser (Chromium through Playwright), each page screenshotted
and checked with axe-core in English, Hindi and Marathi: a search too short to run, or
without a word the search can look up, said at its field with what was typed kept; a person's own narrowing kept, and shown as kept,
after their organisation chose narrower; a mobile number the person kept to themselves,
hidden on their administrators' page; an office's admin refused at the form when
suspending the verification of an admin of the department above; and a waiting request
refused once the person's date of superannuation has passed; a person's request refused at
the daily limit, what they typed kept, and her waiting request withdrawn through the page
that asks first (its box left unticked: said at the box, nothing withdrawn); a suspension
past the day's limit for one person, refused with the note kept; reinstating a suspended
verification while a newer request of the person waits in the same office, refused at the
top of the form with a link to that request; the page of a request whose person an
administrator rejected before, saying why the system did not verify it; and the queue's
decision buttons pressed with no request chosen, said where focus lands."""

import re
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.utils import timezone
from playwright.sync_api import expect

from portal.organisations.models import Membership, MembershipRole, OrganisationDomain
from portal.organisations.services import organisation_admin_grant
from tests.browser.support import OTHER_LANGUAGES, error_message, sign_in, sign_out, switch_language
from tests.factories import OrganisationFactory, UserFactory
from tests.onboarding.approval_helpers import official_email_rules  # noqa: F401 (fixture)
from tests.verification.helpers import GovernmentProfileFactory, make_admin
from tests.verification.visibility.conftest import set_policy
from verification.models import EndReason, GovernmentProfile, VerificationStatus
from verification.services import profile_reinstate, profile_suspend
from verification.visibility.models import Audience, PersonalVisibility, ProfileField

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("official_email_rules"),
]

DEPARTMENT = "Agriculture Department, Maharashtra"
MOBILE = "+919822012345"

TOO_SHORT = {
    "en": "Type at least 3 characters to search.",
    "hi": "खोजने के लिए कम से कम 3 अक्षर लिखें।",
    "mr": "शोधण्यासाठी किमान 3 अक्षरे लिहा.",
}
NO_WORD = {
    "en": "Type a word of at least 3 letters or digits to search: a part of a name, a designation, an address or a "
          "number.",
    "hi": "खोजने के लिए कम से कम 3 अक्षरों या अंकों का एक शब्द लिखें: नाम, पदनाम, पते या नंबर का कोई भाग।",
    "mr": "शोधण्यासाठी किमान 3 अक्षरे किंवा अंकांचा एक शब्द लिहा: नाव, पदनाम, पत्ता किंवा क्रमांकाचा काही भाग.",
}
KEPT = {
    "en": "Verified government users (your choice, kept: no effect while your organisation's is the same or narrower)",
    "hi": "सत्यापित सरकारी उपयोगकर्ता (आपकी पसंद, रखी गई: जब तक आपके संगठन की पसंद इतनी ही या इससे सीमित है, इसका कोई प्रभाव नहीं)",
    "mr": "पडताळलेले सरकारी वापरकर्ते (तुमची निवड, कायम ठेवली: तुमच्या संस्थेची निवड इतकीच किंवा यापेक्षा मर्यादित असेपर्यंत "
          "तिचा काही परिणाम नाही)",
}
NOBODY = {"en": "Nobody but the person", "hi": "व्यक्ति के अलावा कोई नहीं", "mr": "त्या व्यक्तीशिवाय कोणीही नाही"}
HIDDEN = {
    "en": "Hidden by the person's or organisation's choice",
    "hi": "व्यक्ति या संगठन की पसंद से छिपाया गया",
    "mr": "व्यक्तीच्या किंवा संस्थेच्या निवडीने लपवलेले",
}
ADMIN_ABOVE = {
    "en": f"Ravi Patil is an admin of {DEPARTMENT}, a role that rests on this verification: ending it would end that "
          f"role too. Only the administrators of {DEPARTMENT} or a superadmin can suspend or revoke it.",
    "hi": f"Ravi Patil {DEPARTMENT} के प्रशासक हैं, और यह भूमिका इसी सत्यापन पर टिकी है: इसे समाप्त करने से वह भूमिका भी "
          f"समाप्त हो जाएगी। केवल {DEPARTMENT} के प्रशासक या कोई सुपरएडमिन ही इसे निलंबित या निरस्त कर सकते हैं।",
    "mr": f"Ravi Patil हे {DEPARTMENT} चे प्रशासक आहेत, आणि ही भूमिका याच पडताळणीवर आधारित आहे: ती संपवल्यास ती भूमिकाही "
          f"संपेल. केवळ {DEPARTMENT} चे प्रशासक किंवा एखादे सुपरॲडमिनच ती निलंबित करू शकतात किंवा निरस्त करू शकतात.",
}
SUPERANNUATED = {
    "en": "This person's date of superannuation has passed: they cannot be verified.",
    "hi": "इस व्यक्ति की सेवानिवृत्ति की तिथि बीत चुकी है: उन्हें सत्यापित नहीं किया जा सकता।",
    "mr": "या व्यक्तीची सेवानिवृत्तीची तारीख उलटून गेली आहे: त्यांची पडताळणी करता येणार नाही.",
}


AT_LIMIT = {
    "en": "You have asked to be verified 2 times in the last 24 hours (from any account of your mailbox: your address "
          "with or without a “+” tag), the most the portal accepts.",
    "hi": "आपने पिछले 24 घंटों में 2 बार सत्यापन का अनुरोध किया है (आपके मेलबॉक्स के किसी भी खाते से: आपका पता “+” टैग के "
          "साथ या उसके बिना), जितना पोर्टल स्वीकार करता है उतना।",
    "mr": "तुम्ही गेल्या 24 तासांत 2 वेळा पडताळणीची विनंती केली आहे (तुमच्या मेलबॉक्सच्या कोणत्याही खात्यातून: तुमचा पत्ता “+” "
          "टॅगसह किंवा त्याशिवाय), पोर्टल स्वीकारते तितकी.",
}
WITHDRAW = {"en": "Withdraw the request", "hi": "अनुरोध वापस लें", "mr": "विनंती मागे घ्या"}
WITHDRAW_ASKED = {
    "en": "You asked District Agriculture Office, Pune to verify you, with meena.shah@pune.mahaagri.gov.in.",
    "hi": "आपने meena.shah@pune.mahaagri.gov.in के साथ District Agriculture Office, Pune से सत्यापन का अनुरोध किया है।",
    "mr": "तुम्ही meena.shah@pune.mahaagri.gov.in सह District Agriculture Office, Pune कडे पडताळणीची विनंती केली आहे.",
}
TICK_TO_WITHDRAW = {
    "en": "Tick the box to confirm that you want to withdraw this request.",
    "hi": "यह पुष्टि करने के लिए बॉक्स पर निशान लगाएँ कि आप यह अनुरोध वापस लेना चाहते हैं।",
    "mr": "तुम्हाला ही विनंती मागे घ्यायची आहे याची पुष्टी करण्यासाठी चौकटीत खूण करा.",
}
REJECTED_BEFORE = {
    "en": "An administrator of this organisation rejected an earlier request of this person",
    "hi": "इस संगठन के एक प्रशासक ने इस व्यक्ति का पिछला अनुरोध अस्वीकार किया था",
    "mr": "या संस्थेच्या एका प्रशासकाने या व्यक्तीची आधीची विनंती नाकारली होती",
}


def language(page):
    return page.locator("html").get_attribute("lang")


@pytest.fixture
def office():
    """A district office below a state department, each with its verified domain; in the
    office: Asha, verified, who kept her name to verified government users (her office then
    narrowed it to its members) and her mobile number to herself; Ravi, verified there and
    an admin of the department above; Vasant, whose request waits while his date of
    superannuation passed yesterday; and the office's admin."""
    department = OrganisationFactory(name=DEPARTMENT, short_code="AGRI-MH")
    office = OrganisationFactory(name="District Agriculture Office, Pune", short_code="DAO-PUNE", parent=department)
    for organisation, domain in ((department, "mahaagri.gov.in"), (office, "pune.mahaagri.gov.in")):
        OrganisationDomain.objects.create(organisation=organisation, domain=domain, is_verified=True)
    asha = UserFactory(email="asha.kulkarni@pune.mahaagri.gov.in", full_name="Asha Kulkarni")
    office.asha = GovernmentProfileFactory(user=asha, organisation=office, status=VerificationStatus.VERIFIED,
                                           mobile=MOBILE)
    PersonalVisibility.objects.create(user=asha, name=Audience.VERIFIED, mobile=Audience.NOBODY)
    set_policy(office, {ProfileField.NAME: Audience.ORGANISATION})

    ravi = UserFactory(email="ravi.patil@pune.mahaagri.gov.in", full_name="Ravi Patil")
    office.ravi = GovernmentProfileFactory(user=ravi, organisation=office, status=VerificationStatus.VERIFIED,
                                           mobile="+919822054321")
    Membership.objects.create(organisation=office, user=ravi, role=MembershipRole.MEMBER)
    department_admin = make_admin(department, email="admin@mahaagri.gov.in", full_name="Department Admin")
    organisation_admin_grant(organisation_id=department.pk, user_id=ravi.pk, actor=department_admin)

    vasant = UserFactory(email="vasant.joshi@pune.mahaagri.gov.in", full_name="Vasant Joshi")
    office.vasant = GovernmentProfileFactory(user=vasant, organisation=office,
                                             mobile="+919822067890", superannuation_date=timezone.localdate() - timedelta(days=1))
    office.admin = make_admin(office, email="admin@pune.mahaagri.gov.in", full_name="Office Admin")
    return office



def refused_on_submit(page, ticks, refusal, fills=None):
    """What sends the page's form with ``ticks`` checked and ``fills`` ({selector: text})
    typed, and sees ``refusal`` (by language) in the error summary, what was typed kept:
    again after each change of language."""
    fills = fills or {}

    def submit():
        for selector, text in fills.items():
            page.locator(selector).fill(text)
        for selector in ticks:
            page.locator(selector).check()
        page.locator("main form button[type=submit]").click()
        page.wait_for_load_state("load")
        expect(page.locator("#error-summary")).to_contain_text(refusal[language(page)])
        for selector, text in fills.items():
            expect(page.locator(selector)).to_have_value(text)

    return submit


def test_a_short_search_is_said_at_its_field_and_a_narrowing_is_kept(page, portal, check_page, office):
    sign_in(page, portal, office.asha.user.email)
    page.goto(f"{portal}/people/")
    page.locator("#id_q").fill("ab")
    page.locator("main form[role=search] button[type=submit]").click()
    expect(error_message(page, "id_q_error")).to_have_text(TOO_SHORT["en"])
    # The header's language switch goes back to the search, not to the empty directory.
    expect(page.locator(".language-switch input[name=next]")).to_have_value("/people/?q=ab")

    def too_short():
        expect(error_message(page, "id_q_error")).to_have_text(TOO_SHORT[language(page)])
        expect(page.locator("#id_q")).to_have_value("ab")  # what was typed is kept
        expect(page.locator("#id_q")).to_have_attribute("aria-describedby", re.compile(r"\bid_q_error\b"))
        expect(page.locator("#results")).not_to_contain_text("Nobody you may see matches")

    too_short()
    check_page.in_each_language(page, "directory-too-short", reach=too_short)

    # Punctuation and short words only: nothing the search's indexes could look up.
    page.locator("#id_q").fill("x.y %%")
    page.locator("main form[role=search] button[type=submit]").click()

    def no_word():
        expect(error_message(page, "id_q_error")).to_have_text(NO_WORD[language(page)])
        expect(page.locator("#id_q")).to_have_value("x.y %%")
        expect(page.locator("#id_q")).to_have_attribute("aria-invalid", "true")

    no_word()
    check_page.in_each_language(page, "directory-no-word", reach=no_word)

    page.goto(f"{portal}/people/visibility/")

    def kept():
        code = language(page)
        expect(page.locator("#id_name option:checked")).to_have_text(KEPT[code])
        expect(page.locator("#id_mobile option:checked")).to_have_text(NOBODY[code])

    kept()
    check_page.in_each_language(page, "who-sees-kept-choice", reach=kept)
    check_page.assert_clean()


def test_an_office_admin_sees_a_hidden_number_and_is_refused_what_is_not_theirs(page, portal, check_page, office):
    sign_in(page, portal, office.admin.email)
    page.goto(f"{portal}/verification/profiles/{office.asha.pk}/")
    mobile = page.locator("main dl dt").filter(has_text="Mobile number").locator("xpath=following-sibling::dd[1]")
    expect(mobile).to_have_text(HIDDEN["en"])
    expect(page.locator("main")).not_to_contain_text("9822012345")

    def hidden():
        expect(page.locator("main dd").filter(has_text=HIDDEN[language(page)])).to_have_count(1)  # the mobile only
        expect(page.locator("main")).not_to_contain_text("9822012345")

    check_page.in_each_language(page, "admin-sees-mobile-hidden", reach=hidden)

    page.goto(f"{portal}/verification/profiles/{office.ravi.pk}/suspend/")

    suspend = refused_on_submit(page, ["input[name=reason_code][value=transfer]", "#id_confirm"], ADMIN_ABOVE)
    suspend()
    check_page.in_each_language(page, "suspend-admin-above-refused", reach=suspend)
    assert GovernmentProfile.objects.get(pk=office.ravi.pk).status == VerificationStatus.VERIFIED

    page.goto(f"{portal}/verification/profiles/{office.vasant.pk}/")

    verify = refused_on_submit(page, ["input[name=decision][value=verify]"], SUPERANNUATED)
    verify()
    check_page.in_each_language(page, "verify-superannuated-refused", reach=verify)
    assert GovernmentProfile.objects.get(pk=office.vasant.pk).status == VerificationStatus.PENDING
    check_page.assert_clean()


def test_a_request_over_the_daily_limit_is_refused_and_an_earlier_rejection_is_named(
        page, portal, check_page, office, settings):
    """Meena asked the office today, was rejected, asked again: her second request waits
    for an administrator, whose page says why; a third request, to the department, is
    over the day's two and refused on its page with her answers kept."""
    settings.VERIFICATION_REQUESTS_PER_DAY = 2
    meena = UserFactory(email="meena.shah@pune.mahaagri.gov.in", full_name="Meena Shah")
    GovernmentProfileFactory(user=meena, organisation=office, status=VerificationStatus.REJECTED,
                             decided_by=office.admin, decided_at=timezone.now(), reason="Not on our staff list.")
    waiting = GovernmentProfileFactory(user=meena, organisation=office, mobile="+919822011111")

    sign_in(page, portal, office.admin.email)
    page.goto(f"{portal}/verification/profiles/{waiting.pk}/")

    def named():
        expect(page.locator("main .alert-warning")).to_contain_text(REJECTED_BEFORE[language(page)])

    named()
    check_page.in_each_language(page, "request-rejected-before", reach=named)
    sign_out(page)

    sign_in(page, portal, meena.email)
    page.goto(f"{portal}/verification/organisations/{office.parent_id}/join/")

    refused = refused_on_submit(page, [], AT_LIMIT, fills={"#id_designation": "Under Secretary"})
    refused()
    check_page.in_each_language(page, "request-over-daily-limit", reach=refused)
    assert GovernmentProfile.objects.filter(user=meena).count() == 2

    # She withdraws the request that waits: its link on her verifications opens a page that
    # asks first; sent without the box ticked, it says so at the box and withdraws nothing.
    page.goto(f"{portal}/verification/")
    page.get_by_role("link", name="Withdraw the request District Agriculture Office, Pune").click()
    expect(page).to_have_url(re.compile(rf"/verification/requests/{waiting.pk}/withdraw/$"))

    def asked():
        code = language(page)
        expect(page.get_by_role("heading", level=1)).to_have_text(WITHDRAW[code])
        expect(page.locator("main")).to_contain_text(WITHDRAW_ASKED[code])
        expect(page.locator("#id_confirm")).not_to_be_checked()

    asked()
    check_page.in_each_language(page, "withdraw-confirm", reach=asked)

    def unticked():
        page.locator("main form button[type=submit]").click()
        page.wait_for_load_state("load")
        code = language(page)
        expect(error_message(page, "id_confirm_error")).to_have_text(TICK_TO_WITHDRAW[code])
        expect(page.locator("#id_confirm")).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#id_confirm")).to_have_attribute("aria-describedby", re.compile(r"\bid_confirm_error\b"))
        expect(page.locator("#error-summary")).to_contain_text(TICK_TO_WITHDRAW[code])

    unticked()
    check_page.in_each_language(page, "withdraw-unticked", reach=unticked)
    assert GovernmentProfile.objects.get(pk=waiting.pk).status == VerificationStatus.PENDING

    page.locator("#id_confirm").check()
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/verification/$"))
    expect(page.get_by_role("status")).to_contain_text("Your request to District Agriculture Office, Pune was withdrawn.")
    expect(page.get_by_role("link", name=re.compile("^Withdraw the request"))).to_have_count(0)
    check_page(page, "withdrawn")
    assert GovernmentProfile.objects.get(pk=waiting.pk).status == VerificationStatus.CANCELLED
    check_page.assert_clean()


ENDS_HERE = {
    "en": "Being verified by Directorate of Health Services, Karnataka ends your verification in District Agriculture "
          "Office, Pune, for good",
    "hi": "Directorate of Health Services, Karnataka द्वारा सत्यापित होने पर District Agriculture Office, Pune में आपका "
          "सत्यापन हमेशा के लिए समाप्त हो जाता है",
    "mr": "Directorate of Health Services, Karnataka ने पडताळणी केल्यास District Agriculture Office, Pune मधील तुमची "
          "पडताळणी कायमची संपते",
}
ENDS_ROLE = {
    "en": f"It also ends your admin role in {DEPARTMENT}, which rests on that verification",
    "hi": f"इससे {DEPARTMENT} में आपकी प्रशासक भूमिका भी समाप्त हो जाती है, जो उसी सत्यापन पर टिकी है",
    "mr": f"त्याने {DEPARTMENT} मधील तुमची प्रशासक भूमिकाही संपते, जी त्याच पडताळणीवर आधारित आहे",
}
TICK_TO_MOVE = {
    "en": "Tick the box to confirm that being verified here ends your verification in District Agriculture Office, "
          "Pune.",
    "hi": "यह पुष्टि करने के लिए बॉक्स पर टिक करें कि यहाँ सत्यापित होने पर District Agriculture Office, Pune में आपका "
          "सत्यापन समाप्त हो जाता है।",
    "mr": "इथे पडताळणी झाल्यास District Agriculture Office, Pune मधील तुमची पडताळणी संपते, याची खात्री करण्यासाठी "
          "चौकटीत खूण करा.",
}


def test_asking_an_automatic_organisation_says_what_it_ends_and_asks_to_confirm_first(page, portal, check_page, office):
    """Ravi, verified in the office and admin of the department above on that ground, asks
    an organisation that verifies automatically: the page names the verification and the
    admin role it would end, and sent without the box ticked says so at the box, what he
    typed kept and nothing sent."""
    from verification.models import VerificationSettings

    karnataka = OrganisationFactory(name="Directorate of Health Services, Karnataka", short_code="DHS-KA", state="KA")
    OrganisationDomain.objects.create(organisation=karnataka, domain="karhealth.gov.in", is_verified=True)
    VerificationSettings.objects.create(organisation=karnataka, auto_verify_official_domain=True)
    sign_in(page, portal, office.ravi.user.email)
    page.goto(f"{portal}/verification/organisations/{karnataka.pk}/join/")

    def warned():
        code = language(page)
        expect(page.locator("#ending-elsewhere")).to_contain_text(ENDS_HERE[code])
        expect(page.locator("#ending-elsewhere")).to_contain_text(ENDS_ROLE[code])
        expect(page.locator("#id_confirm")).not_to_be_checked()

    warned()
    check_page.in_each_language(page, "join-ends-elsewhere", reach=warned)

    def unticked():
        page.locator("#id_designation").fill("Deputy Director")
        page.locator("main form button[type=submit]").click()
        page.wait_for_load_state("load")
        code = language(page)
        expect(error_message(page, "id_confirm_error")).to_have_text(TICK_TO_MOVE[code])
        expect(page.locator("#id_confirm")).to_have_attribute("aria-describedby", re.compile(r"\bid_confirm_error\b"))
        expect(page.locator("#error-summary")).to_contain_text(TICK_TO_MOVE[code])
        expect(page.locator("#id_designation")).to_have_value("Deputy Director")

    unticked()
    check_page.in_each_language(page, "join-ends-elsewhere-unticked", reach=unticked)
    assert not GovernmentProfile.objects.filter(organisation=karnataka).exists()
    page.locator("#id_confirm").check()
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/verification/$"))
    assert GovernmentProfile.objects.filter(organisation=karnataka, user=office.ravi.user).exists()
    check_page.assert_clean()


SUSPENSIONS_AT_LIMIT = {
    "en": "This person's verification was suspended or reinstated 2 times in the last 24 hours, the most the portal "
          "allows",
    "hi": "इस व्यक्ति का सत्यापन पिछले 24 घंटों में 2 बार निलंबित या बहाल किया गया है",
    "mr": "या व्यक्तीची पडताळणी गेल्या 24 तासांत 2 वेळा निलंबित किंवा पुनर्स्थापित केली गेली आहे",
}


def test_a_suspension_past_the_days_limit_and_a_reinstatement_beside_a_waiting_request_are_refused(
        page, portal, check_page, office, settings):
    """Asha was suspended and reinstated today (each time she was mailed, with the note):
    a further suspension is over the day's limit and refused on its form, saying when it
    is possible again, the note typed kept; nothing changes. Kiran's verification was
    suspended when its address left his account, and he asked the office again with a new
    one: reinstating the old verification while that request waits is refused at the top of
    the form, which links to the waiting request, the note typed kept; nothing changes."""
    settings.VERIFICATION_SUSPENSIONS_PER_DAY = 2
    profile_suspend(profile_id=office.asha.pk, reason_code="misuse", reason="Shared the account.", actor=office.admin)
    profile_reinstate(profile_id=office.asha.pk, reason="Explained.", actor=office.admin)
    kiran = UserFactory(email="kiran.more@pune.mahaagri.gov.in", full_name="Kiran More")
    old = GovernmentProfileFactory(user=kiran, organisation=office, status=VerificationStatus.SUSPENDED,
                                   official_email=kiran.email, reason_code=EndReason.ADDRESS_REMOVED)
    EmailAddress.objects.create(user=kiran, email=KIRAN_NEW, verified=True)
    waiting = GovernmentProfileFactory(user=kiran, organisation=office, official_email=KIRAN_NEW)
    sign_in(page, portal, office.admin.email)
    page.goto(f"{portal}/verification/profiles/{office.asha.pk}/suspend/")

    refused = refused_on_submit(page, ["#id_reason_code input[value=misuse]", "#id_confirm"], SUSPENSIONS_AT_LIMIT,
                                fills={"#id_reason": "Shared the account again."})
    refused()
    check_page.in_each_language(page, "suspension-over-daily-limit", reach=refused)
    assert GovernmentProfile.objects.get(pk=office.asha.pk).status == VerificationStatus.VERIFIED

    page.goto(f"{portal}/verification/profiles/{old.pk}/reinstate/")
    beside_waiting = refused_on_submit(page, ["#id_confirm"], REQUEST_WAITING, fills={"#id_reason": "Address back."})

    def refused_with_link():
        beside_waiting()
        link = page.locator(f"main form a[href='/verification/profiles/{waiting.pk}/']")
        expect(link).to_have_text(OPEN_WAITING[language(page)])
        # at the top of the form: after the error summary, before the first field
        assert page.evaluate("""() => {
            const summary = document.querySelector('#error-summary'), link = document.querySelector('main form p a');
            const field = document.querySelector('#id_reason');
            return !!(summary.compareDocumentPosition(link) & Node.DOCUMENT_POSITION_FOLLOWING)
                && !!(link.compareDocumentPosition(field) & Node.DOCUMENT_POSITION_FOLLOWING);
        }""")

    refused_with_link()
    check_page.in_each_language(page, "reinstate-beside-waiting-request-refused", reach=refused_with_link)
    statuses = sorted(GovernmentProfile.objects.filter(user=kiran).values_list("status", flat=True))
    assert statuses == [VerificationStatus.PENDING, VerificationStatus.SUSPENDED]
    refused_with_link()  # the switch back to English showed the form afresh
    page.get_by_role("link", name="Open the waiting request").click()
    expect(page).to_have_url(re.compile(rf"/verification/profiles/{waiting.pk}/$"))
    expect(page.locator("main")).to_contain_text(KIRAN_NEW)
    check_page.assert_clean()


KIRAN_NEW = "kiran.m@pune.mahaagri.gov.in"
REQUEST_WAITING = {
    "en": f"This person asked District Agriculture Office, Pune again, with {KIRAN_NEW}, and that request waits: "
          "decide on it first",
    "hi": f"इस व्यक्ति ने District Agriculture Office, Pune से {KIRAN_NEW} के साथ फिर से अनुरोध किया है, और वह अनुरोध "
          "प्रतीक्षा में है",
    "mr": f"या व्यक्तीने District Agriculture Office, Pune कडे {KIRAN_NEW} सह पुन्हा विनंती केली आहे, आणि ती विनंती "
          "प्रलंबित आहे",
}
OPEN_WAITING = {"en": "Open the waiting request", "hi": "प्रतीक्षारत अनुरोध खोलें", "mr": "प्रलंबित विनंती उघडा"}


LAST_ADMIN = {
    "en": "District Agriculture Office, Pune would have no admin left whose role does not end",
    "hi": "District Agriculture Office, Pune का ऐसा कोई प्रशासक नहीं बचेगा जिसकी भूमिका समाप्त न हो",
    "mr": "District Agriculture Office, Pune कडे ज्याची भूमिका संपत नाही असा एकही प्रशासक उरणार नाही",
}


def test_the_verification_of_an_offices_last_admin_is_not_offered_for_suspension(page, portal, check_page, office):
    """The department's admin opens the suspension of the office's only admin's verification:
    the admin role rests on it and nobody else holds it there, so the page says it cannot be
    suspended until the role is handed over, and offers no button that would be refused (a
    page opened earlier that sends it anyway is refused at the form: test_pages.py)."""
    profile = GovernmentProfileFactory(user=office.admin, organisation=office, status=VerificationStatus.VERIFIED,
                                       official_email=office.admin.email)
    sign_in(page, portal, "admin@mahaagri.gov.in")
    page.goto(f"{portal}/verification/profiles/{profile.pk}/suspend/")

    def held_back():
        expect(page.locator("#admin-roles-end")).to_contain_text(LAST_ADMIN[language(page)])
        expect(page.locator("main button")).to_have_count(0)

    held_back()
    check_page.in_each_language(page, "suspend-last-admin-held-back", reach=held_back)
    assert GovernmentProfile.objects.get(pk=profile.pk).status == VerificationStatus.VERIFIED
    check_page.assert_clean()


NOTHING_CHOSEN = {
    "en": "Choose at least one waiting request.",
    "hi": "कम से कम एक प्रतीक्षारत अनुरोध चुनें।",
    "mr": "किमान एक प्रलंबित विनंती निवडा.",
}
FOCUSED = "(() => { const e = document.activeElement; return e ? (e.id || e.tagName) : null })()"


def test_deciding_in_the_queue_with_no_request_chosen_is_said_where_focus_lands(page, portal, check_page, office):
    """The office's admin, from the keyboard, presses "Verify the chosen requests" in the
    queue of the office alone without ticking a request: the queue comes back, still of the
    office alone, with the error summed up and focused (as on the portal's other forms: a
    screen reader reads it), its link going to the first request's box; nothing is decided.
    The header's language switch on that page goes back to the queue it came from."""
    sign_in(page, portal, office.admin.email)
    queue = f"{portal}/verification/queue/?status=pending&organisation={office.pk}"
    for code in ("en", *OTHER_LANGUAGES):
        page.goto(queue)
        if language(page) != code:
            switch_language(page, code)
        page.locator("button[name=decision][value=verify]").focus()
        page.keyboard.press("Enter")
        page.wait_for_load_state("load")
        summary = page.locator("#error-summary")
        expect(summary).to_contain_text(NOTHING_CHOSEN[code])
        assert page.evaluate(FOCUSED) == "error-summary"
        expect(error_message(page, "id_profile_error")).to_have_text(NOTHING_CHOSEN[code])
        box = page.locator(f"#choose-{office.vasant.pk}")
        expect(box).to_have_attribute("aria-invalid", "true")
        expect(box).to_have_attribute("aria-describedby", "id_profile_error")
        # Still the office's queue alone: the link to every organisation's is shown only then.
        expect(page.locator("main a[href='/verification/queue/?status=pending']")).to_have_count(1)
        check_page(page, f"queue-nothing-chosen-{code}")
        summary.locator("a").click()
        assert page.evaluate(FOCUSED) == f"choose-{office.vasant.pk}"
    assert GovernmentProfile.objects.get(pk=office.vasant.pk).status == VerificationStatus.PENDING

    page.locator("#language-select").select_option("en")
    page.locator("form.language-switch").get_by_role("button").click()
    page.wait_for_load_state("load")
    expect(page).to_have_url(queue)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#error-summary")).to_have_count(0)

    # The language changed on the confirmation of a decision: the same confirmation comes back,
    # the request chosen, the decision and the reason typed kept (and said so); nothing is
    # decided until it is confirmed.
    page.locator(f"#choose-{office.vasant.pk}").check()
    page.locator("button[name=decision][value=reject]").click()
    page.wait_for_load_state("load")
    page.locator("#id_decision_1").check()
    page.locator("#id_reason").fill(REJECTED_BECAUSE)
    page.locator("#language-select").select_option("mr")
    page.locator("form.language-switch").get_by_role("button").click()
    page.wait_for_load_state("load")
    expect(page.locator("html")).to_have_attribute("lang", "mr")
    expect(page.locator("#typed-kept")).to_be_visible()
    expect(page.locator("main")).to_contain_text("vasant.joshi@pune.mahaagri.gov.in")
    expect(page.locator("#id_decision_1")).to_be_checked()
    expect(page.locator("#id_reason")).to_have_value(REJECTED_BECAUSE)
    assert GovernmentProfile.objects.get(pk=office.vasant.pk).status == VerificationStatus.PENDING
    page.locator("#id_confirm").check()
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state("load")
    vasant = GovernmentProfile.objects.get(pk=office.vasant.pk)
    assert (vasant.status, vasant.reason) == (VerificationStatus.REJECTED, REJECTED_BECAUSE)
    check_page.assert_clean()


REJECTED_BECAUSE = "Not on the office's staff list of 1 December."
