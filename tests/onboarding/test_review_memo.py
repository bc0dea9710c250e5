"""The parts of the review pages kept per process (``{% memo %}``): the answers' summary, by
what it shows, and the blank decision form, by its stage. Each is the HTML written without
the memo, for the values and language of the request, and changes as soon as what it shows
does; a form sent back with errors is never the kept one."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template import engines
from django.utils import translation

from onboarding.application.summary import application_summary
from onboarding.approval.forms import DecisionForm
from onboarding.models import Stage
from tests.factories import ApplicationFactory
from tests.html_tree import parse

pytestmark = pytest.mark.django_db

MEMO_TAGS = re.compile(r"{%\s*(?:memo\b[^%]*|endmemo|fresh|endfresh)\s*%}")


def templates(name):
    source = Path(settings.BASE_DIR, "templates", name).read_text()
    engine = engines["django"]
    return engine.from_string(source), engine.from_string(MEMO_TAGS.sub("", source))


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_the_summary_is_the_one_written_without_memo_and_follows_every_answer(language):
    memo, plain = templates("onboarding/includes/summary.html")
    application = ApplicationFactory()
    with translation.override(language):
        for round_ in range(3):
            data = application.data
            if round_ == 2:  # one answer changed: that summary is written afresh
                data = {**data, "organisation": {**data["organisation"], "name": "Directorate of Fisheries"}}
            for editable in (False, True):
                context = {"summary": application_summary(application, data=data), "application": application,
                           "editable": editable}
                written = memo.render(context)
                assert written == plain.render(context)
                assert ("Directorate of Fisheries" in written) == (round_ == 2)
                assert ("/section/" in written) == editable


@pytest.mark.parametrize("language", ["en", "hi"])
@pytest.mark.parametrize("stage", [Stage.AUTHORITY, Stage.STATE, Stage.APPEAL])
def test_the_decision_form_blank_or_sent_back_is_the_one_written_without_memo(language, stage, rf):
    memo, plain = templates("onboarding/includes/decision_form.html")
    request = rf.post("/")
    with translation.override(language):
        for form in (
            DecisionForm(stage=stage),
            DecisionForm({"decision": "", "remarks": "Kept as typed"}, stage=stage),
            DecisionForm(stage=stage),  # from the memo this time
            DecisionForm({"decision": "nonsense"}, stage=stage),
        ):
            context = {"form": form, "csrf_token": "t" * 64, "request": request}
            written = memo.render(context)
            assert written == plain.render(context)
            assert ('id="id_decision_error"' in written) == form.is_bound
            assert ("Kept as typed" in written) == (form.data.get("remarks") == "Kept as typed")


@pytest.mark.parametrize("first", ["en", "hi", "mr"])
def test_the_summarys_numbered_labels_are_in_the_language_of_each_page_whichever_came_first(first):
    """The summary's fields are made once per process (summary.section_fields): a label
    holding a number ("Application 1: name") is translated where it is shown, not in the
    language of the page that made the fields first."""
    from onboarding.application.summary import section_fields

    section_fields.cache_clear()
    application = ApplicationFactory()
    expected = {"en": ("Application 1: name", "Application 1: used for"),
                "hi": ("अनुप्रयोग 1: नाम", "अनुप्रयोग 1: उपयोग का प्रयोजन"),
                "mr": ("ॲप्लिकेशन 1: नाव", "ॲप्लिकेशन 1: वापराचा उद्देश")}
    for language in (first, *(code for code in expected if code != first)):
        with translation.override(language):
            [block] = [block for block in application_summary(application) if block["section"].value == "integration"]
            labels = {row["name"]: str(row["label"]) for row in block["rows"]}
            assert (labels["app_1_name"], labels["app_1_purposes"]) == expected[language], language


@pytest.mark.parametrize("state, name_local, language", [("MH", "कृषी संचालनालय, महामंडळ", "mr"), ("UP", "कृषि निदेशालय", "hi"),
                                                         ("KA", "ಕೃಷಿ ಇಲಾಖೆ", "kn"), ("MH", "Krishi Sanchalanalay", None)])
def test_the_summary_says_the_languages_of_the_organisations_names(state, name_local, language):
    """Its name in English and its name in Hindi or the state's language, each shown marked with
    its language (kept per process with it)."""
    memo, _plain = templates("onboarding/includes/summary.html")
    application = ApplicationFactory()
    data = {**application.data, "organisation": {**application.data["organisation"], "name": "Directorate of Agriculture",
                                                 "name_local": name_local, "state": state}}
    with translation.override("hi"):
        tree = parse(memo.render({"summary": application_summary(application, data=data), "application": application}))
    marked = [(element.text(), element.get("lang")) for element in tree.iter() if element.get("lang")]
    assert marked == [("Directorate of Agriculture", "en")] + ([(name_local, language)] if language else [])
