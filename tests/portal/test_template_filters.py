"""The portal's template filters and tags written for long lists and every page's
navigation: each writes what Django's own (``date``, ``url``) writes, in every language
of the portal, across the turn of a day in the portal's time zone, under a mount prefix
and another URL configuration."""

from datetime import UTC, date, datetime

import pytest
import tinycss2
from django.template import engines
from django.utils import translation

DATES = [
    datetime(2026, 12, 1, 18, 29, tzinfo=UTC),  # 23:59 on 1 December in India
    datetime(2026, 12, 1, 18, 31, tzinfo=UTC),  # 00:01 on 2 December in India
    datetime(2027, 5, 9, 6, 0, tzinfo=UTC),
    date(2026, 3, 31),
]


def render(source: str, **context) -> str:
    return engines["django"].from_string("{% load portal_tags %}" + source).render(context)


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
@pytest.mark.parametrize("value", DATES)
def test_day_writes_what_the_date_filter_writes(language, value):
    with translation.override(language):
        expected = render('{{ value|date:"j M Y" }}', value=value)
        assert render("{{ value|day }}", value=value) == expected
        assert render("{{ value|day }}", value=value) == expected  # the second time from the memo


def test_day_of_a_month_name_is_in_the_page_language():
    value = datetime(2026, 12, 1, 18, 31, tzinfo=UTC)
    with translation.override("en"):
        english = render("{{ value|day }}", value=value)
    with translation.override("hi"):
        hindi = render("{{ value|day }}", value=value)
    assert english == "2 Dec 2026"
    assert hindi != english and hindi.startswith("2 ") and hindi.endswith(" 2026")
    assert hindi == "2 दिसं 2026"  # not Django's "दिस्"


def test_march_is_not_shortened_past_recognition_in_hindi():
    """Django's Hindi shortens March to "मा", which could be any month beginning so (a
    dashboard's month axis read "मा 26"): the portal writes "मार्च", as short as it goes."""
    with translation.override("hi"):
        assert render("{{ value|day }}", value=datetime(2026, 3, 2, 6, 0, tzinfo=UTC)) == "2 मार्च 2026"



@pytest.mark.parametrize(("month", "full", "short"), [(9, "सितंबर", "सितं"), (11, "नवंबर", "नवं"), (12, "दिसंबर", "दिसं")])
def test_hindi_spells_september_november_and_december_as_hindi_does(month, full, short):
    """Django's Hindi spells them "सितमबर", "नवमबर" and "दिसमबर" in every full date (a
    verification's, a competent authority's deadline, the approval letter), and shortens
    November to "नव" (the word for "new"): the short forms end as December's does, "दिसं"."""
    value = datetime(2026, month, 5, 6, 0, tzinfo=UTC)
    with translation.override("hi"):
        assert render('{{ value|date:"j F Y" }}', value=value) == f"5 {full} 2026"
        assert render("{{ value|day }}", value=value) == f"5 {short} 2026"

@pytest.mark.parametrize("language", ["en", "hi", "mr"])
@pytest.mark.parametrize("value", DATES[:3])
def test_day_time_writes_what_the_date_filter_writes(language, value):
    with translation.override(language):
        expected = render('{{ value|date:"j M Y, H:i" }}', value=value)
        assert render("{{ value|day_time }}", value=value) == expected
        assert render("{{ value|day_time }}", value=value) == expected  # the second time from the memo


@pytest.mark.parametrize("value", [None, "", "not a date", 17])
def test_day_time_of_something_else_is_what_the_date_filter_writes(value):
    assert render("{{ value|day_time }}", value=value) == render('{{ value|date:"j M Y, H:i" }}', value=value)


@pytest.mark.parametrize("value", [None, "", "not a date", 17])
def test_day_of_something_else_is_empty(value):
    assert render("{{ value|day }}", value=value) == ""
    assert render('{{ value|date:"j M Y" }}', value=value) == ""


@pytest.mark.parametrize("value", DATES[:3])
def test_isoformat_writes_what_date_c_writes(value):
    assert render("{{ value|isoformat }}", value=value) == render("{{ value|date:'c' }}", value=value)


@pytest.mark.parametrize("name", ["onboarding:queue_step", "verification:members", "verification:profile",
                                  "monitoring:office_edit", "api:client_revoke", "onboarding:task_list"])
@pytest.mark.parametrize("pk", [1, 7, 1234567])
def test_url_once_with_a_pk_writes_what_the_url_tag_writes(name, pk):
    expected = render(f"{{% url '{name}' pk %}}", pk=pk)
    assert render(f"{{% url_once '{name}' pk %}}", pk=pk) == expected
    assert render(f"{{% url_once '{name}' pk %}}", pk=pk) == expected  # from the memo


def test_url_once_with_a_pk_follows_the_prefix_the_portal_is_mounted_at():
    from django.urls import get_script_prefix, set_script_prefix

    before = get_script_prefix()
    try:
        set_script_prefix("/portal/")
        assert render("{% url_once 'onboarding:queue_step' 5 %}") == render("{% url 'onboarding:queue_step' 5 %}")
        assert render("{% url_once 'onboarding:queue_step' 5 %}").startswith("/portal/")
    finally:
        set_script_prefix(before)
    assert not render("{% url_once 'onboarding:queue_step' 5 %}").startswith("/portal/")


def test_url_once_with_a_pk_of_something_else_than_a_number_reverses_it_as_the_url_tag_would():
    from django.urls import NoReverseMatch

    with pytest.raises(NoReverseMatch):
        render("{% url_once 'onboarding:queue_step' 'x' %}")
    with pytest.raises(NoReverseMatch):
        render("{% url 'onboarding:queue_step' 'x' %}")


def test_url_once_with_a_pk_of_a_negative_number_is_refused_as_the_url_tag_refuses_it():
    from django.urls import NoReverseMatch

    with pytest.raises(NoReverseMatch):
        render("{% url_once 'onboarding:queue_step' -3 %}")


def test_url_once_with_a_pk_follows_another_url_configuration(settings):
    assert render("{% url_once 'onboarding:queue_step' 5 %}") == "/onboarding/queue/5/"
    settings.ROOT_URLCONF = "tests.portal.moved_urls"
    assert render("{% url_once 'onboarding:queue_step' 5 %}") == render("{% url 'onboarding:queue_step' 5 %}")
    assert render("{% url_once 'onboarding:queue_step' 5 %}").startswith("/moved/")


@pytest.mark.parametrize("name", ["home", "onboarding:my_applications", "set_language", "account_logout",
                                  "privacy_rights:my_data", "monitoring:dashboard"])
def test_url_once_without_arguments_writes_what_the_url_tag_writes(name):
    expected = render(f"{{% url '{name}' %}}")
    assert render(f"{{% url_once '{name}' %}}") == expected
    assert render(f"{{% url_once '{name}' %}}") == expected  # from the memo


def test_url_once_without_arguments_follows_the_mount_prefix_and_the_url_configuration(settings):
    from django.urls import get_script_prefix, set_script_prefix

    before = get_script_prefix()
    try:
        set_script_prefix("/portal/")
        assert render("{% url_once 'onboarding:my_applications' %}") == "/portal/onboarding/"
    finally:
        set_script_prefix(before)
    assert render("{% url_once 'onboarding:my_applications' %}") == "/onboarding/"
    settings.ROOT_URLCONF = "tests.portal.moved_urls"
    assert render("{% url_once 'onboarding:my_applications' %}") == "/moved/onboarding/"


@pytest.mark.parametrize(("value", "expected"), [
    ("ONB-2026-000001", "ONB-2026-000001"),
    ("मसौदा", "मसौदा"),
    ('a "quoted" \\ draft', "a \\22 quoted\\22  \\5c  draft"),
    ("</style><script>", "\\3c /style\\3e \\3c script\\3e "),
    ("l'ébauche; }\n{", "l\\27 ébauche\\3b  \\7d \\a \\7b "),
])
def test_css_string_keeps_a_value_inside_its_css_string(value, expected):
    """The draft's page footer of the form PDF: a translation with a quote or a brace
    cannot end the string, the rule or the <style> element it is written in."""
    assert render('"{{ value|css_string }}"', value=value) == f'"{expected}"'
    assert css_unescaped(expected) == value


def css_unescaped(text):
    """A CSS string's text as a CSS parser reads it (tinycss2, WeasyPrint's parser)."""
    [token] = [t for t in tinycss2.parse_component_value_list(f'"{text}"') if t.type == "string"]
    return token.value


@pytest.mark.parametrize("value, shown", [
    (0, "0"), (7, "7"), (999, "999"), (1000, "1,000"), (99999, "99,999"), (125000, "1,25,000"),
    (1000000, "10,00,000"), (10000000, "1,00,00,000"), (123456789, "12,34,56,789"), (-125000, "-1,25,000"),
    (None, "None"), ("125000", "125000"), (2.5, "2.5"), (True, "True"),
])
@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_a_figure_is_grouped_the_indian_way_in_every_language(language, value, shown):
    """1,25,000 (a lakh and a quarter), not 125000 nor 125,000: whole numbers only."""
    with translation.override(language):
        assert render("{{ value|figure }}", value=value) == shown


@pytest.mark.parametrize("value", [1000, 99999, 125000, 10000000, 123456789])
@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_djangos_own_grouping_of_a_count_is_the_figures_in_every_language(language, value):
    """A count grouped by Django's filters (humanize's intcomma, floatformat's "g"), as a
    page or a message may, reads as the figure filter writes it: not 125,000 in English
    and 125000 in Hindi and Marathi, whose formats group nothing."""
    from django.contrib.humanize.templatetags.humanize import intcomma

    with translation.override(language):
        shown = render("{{ value|figure }}", value=value)
        assert intcomma(value) == shown
        assert render('{{ value|floatformat:"g" }}', value=value) == shown
        assert render("{{ value }}", value=value) == str(value)  # ids in links and form values stay plain


def test_the_pager_groups_its_page_numbers_as_the_figures_are():
    """"Page 1 of 5001" under a dashboard whose figures read 1,25,000: grouped the same way."""
    from django.core.paginator import Paginator
    from django.template.loader import render_to_string

    html = render_to_string("includes/pagination.html", {"page": Paginator(range(500_100), 100).page(1234)})
    assert "Page 1,234 of 5,001" in html
