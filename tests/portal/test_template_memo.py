"""``{% memo %}`` and ``{% fresh %}`` (portal_tags): the layout rendered once per process for
each set of roles and language, its CSRF tokens and the page's address at every request.
The layout they write is the one written without them, for every kind of user, in each
language, and each form's token is the requester's own."""

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.middleware.csrf import get_token
from django.template import Context, Template, TemplateSyntaxError, engines
from django.test import Client
from django.utils import timezone, translation

from portal.templatetags import portal_tags
from portal.templatetags.portal_tags import MemoNode
from tests.portal.role_helpers import client_of

MEMO_TAGS = re.compile(r"{%\s*(?:memo\b[^%]*|endmemo|fresh|endfresh)\s*%}")
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
KINDS = ["superadmin", "state_admin_mh", "auditor", "admin_office", "member", "public", "anonymous"]


def render(source: str, **context) -> str:
    return engines["django"].from_string("{% load i18n portal_tags %}" + source).render(context)


def base_template(*, memo: bool):
    source = Path(settings.BASE_DIR, "templates", "base.html").read_text()
    return engines["django"].from_string(source if memo else MEMO_TAGS.sub("", source))


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_the_layout_is_the_one_written_without_memo_for_every_kind_of_user(roles_world, rf, language):
    memo, plain = base_template(memo=True), base_template(memo=False)
    for round_ in range(2):  # the second round from the memo
        for kind in KINDS:
            request = rf.get(f"/onboarding/?round={round_}&who={kind}")
            request.user, request.session = roles_world[kind], SessionStore()
            with translation.override(language):
                written = memo.render(request=request)
                expected = plain.render(request=request)
            tokens = TOKEN.findall(written)
            assert len(tokens) == (2 if kind != "anonymous" else 1)
            assert TOKEN.sub("token", written) == TOKEN.sub("token", expected), (kind, round_)
            assert f'value="/onboarding/?round={round_}&amp;who={kind}"' in written


def test_each_form_carries_the_requesters_own_token(roles_world):
    """Signed in one after the other in one process: each signs out with the token of their page."""
    for kind in ["member", "public", "state_admin_mh"]:
        client = client_of(roles_world, kind)
        client.handler.enforce_csrf_checks = True
        page = client.get("/verification/")
        assert page.status_code == 200, kind
        tokens = TOKEN.findall(page.content.decode())
        assert len(tokens) == 2
        assert client.post("/accounts/logout/", {"csrfmiddlewaretoken": tokens[0]}).status_code == 302
        assert "_auth_user_id" not in client.session, kind


def test_a_stale_token_from_another_session_is_refused(roles_world):
    first, second = client_of(roles_world, "member"), client_of(roles_world, "public")
    for client in (first, second):
        client.handler.enforce_csrf_checks = True
    token = TOKEN.findall(first.get("/verification/").content.decode())[0]
    second.get("/verification/")
    assert second.post("/accounts/logout/", {"csrfmiddlewaretoken": token}).status_code == 403


def test_the_language_switch_returns_to_each_page(roles_world):
    client = client_of(roles_world, "member")
    for path in ["/verification/", "/onboarding/"]:
        assert f'name="next" type="hidden" value="{path}"' in client.get(path).content.decode()


def test_memo_keeps_what_its_keys_decide_and_renders_fresh_parts_each_time():
    template = engines["django"].from_string(
        "{% load portal_tags %}{% memo flag %}{{ flag }}-{{ other }} {% fresh %}{{ other }}{% endfresh %}{% endmemo %}")
    assert template.render({"flag": True, "other": 1}) == "True-1 1"
    assert template.render({"flag": True, "other": 2}) == "True-1 2"  # what the keys do not name is kept
    assert template.render({"flag": False, "other": 3}) == "False-3 3"
    assert template.render({"flag": True, "other": 4}) == "True-1 4"


def test_a_memo_keeps_at_most_its_characters_whatever_its_entries_hold(monkeypatch):
    """What a memo encloses may show what people typed: its entries are bounded in
    characters too, the oldest dropped first, and one larger than the bound is not kept."""
    monkeypatch.setattr(portal_tags, "_MEMO_CHARACTERS_MAX", 100)
    template = engines["django"].from_string("{% load portal_tags %}{% memo key keep=50 %}{{ text }}{% endmemo %}")
    [memo] = [node for node in template.template.nodelist if isinstance(node, portal_tags.MemoNode)]
    for key in range(5):
        assert template.render({"key": key, "text": str(key) * 30}) == str(key) * 30
    assert [found[0][0] for found in memo.kept.values()] == ["2" * 30, "3" * 30, "4" * 30]  # 90 characters
    assert memo.kept_characters == 90
    assert template.render({"key": 9, "text": "x" * 101}) == "x" * 101  # shown, not kept
    assert memo.kept_characters == 90 and len(memo.kept) == 3
    assert template.render({"key": 3, "text": "changed"}) == "3" * 30  # what is kept is still given


def test_memo_is_kept_per_language():
    template = engines["django"].from_string('{% load i18n portal_tags %}{% memo %}{% trans "Sign out" %}{% endmemo %}')
    with translation.override("en"):
        english = template.render({})
    with translation.override("hi"):
        hindi = template.render({})
    with translation.override("en"):
        assert template.render({}) == english == "Sign out"
    assert hindi != english


def test_fresh_outside_a_memo_and_a_memo_inside_another():
    assert render("{% fresh %}{{ a }}{% endfresh %}", a="x") == "x"
    template = engines["django"].from_string(
        "{% load portal_tags %}{% memo %}[{% memo %}{{ a }}{% fresh %}{{ a }}{% endfresh %}{% endmemo %}]{% endmemo %}")
    assert template.render({"a": 1}) == "[11]"
    assert template.render({"a": 2}) == "[12]"


def test_fresh_parts_are_escaped_as_elsewhere():
    template = engines["django"].from_string("{% load portal_tags %}{% memo %}{% fresh %}{{ a }}{% endfresh %}{% endmemo %}")
    assert template.render({"a": "<b>"}) == "&lt;b&gt;"


@pytest.mark.parametrize("source", [
    "{% memo %}{% block title %}{% endblock %}{% endmemo %}",
    "{% memo %}{% if a %}{% csrf_token %}{% endif %}{% endmemo %}",
    "{% memo %}{% fresh a %}{% endfresh %}{% endmemo %}",
])
def test_what_a_memo_cannot_hold_is_refused_when_the_template_is_read(source):
    with pytest.raises(TemplateSyntaxError):
        render(source)


def test_a_token_written_through_an_include_outside_fresh_is_refused(rf):
    inner = Template("{% csrf_token %}")
    outer = Template("{% load portal_tags %}{% memo %}{% include inner %}{% endmemo %}")
    request = rf.get("/")
    with pytest.raises(TemplateSyntaxError):
        outer.render(Context({"inner": inner, "csrf_token": get_token(request)}))


def test_a_signed_out_page_and_a_signed_in_one_in_turn(roles_world):
    """The anonymous layout never shows the signed-in navigation, nor the reverse."""
    anonymous, member = Client(), client_of(roles_world, "member")
    for _ in range(2):
        page = anonymous.get("/accounts/login/").content.decode()
        assert "Sign in" in page and "Sign out" not in page
        page = member.get("/verification/").content.decode()
        assert "Sign out" in page and "Create an account" not in page


ROW = "<{{ row.name }}|{{ row.when|day }}>"


@pytest.mark.parametrize("source", [
    "{% for row in rows %}{% memo row.key keep=3 %}" + ROW + "{% endmemo %}{% endfor %}",
    "{% memo_each row in rows by row.key keep=3 %}" + ROW + "{% endmemo_each %}",
])
def test_a_memo_of_rows_keeps_the_last_n_and_renders_each_row_as_written_without_it(source):
    memo = engines["django"].from_string("{% load portal_tags %}" + source)
    plain = engines["django"].from_string("{% load portal_tags %}{% for row in rows %}" + ROW + "{% endfor %}")
    [node] = memo.template.nodelist.get_nodes_by_type(MemoNode)  # a MemoEachNode is one
    rows = [{"key": (i, f"<b>{i}"), "name": f"<b>{i}", "when": date(2026, 12, i)} for i in range(1, 6)]
    for _ in range(2):
        for start in range(4):
            context = {"rows": rows[start:start + 2]}
            assert memo.render(context) == plain.render(context)
    assert len(node.kept) == 3  # the last three rows' keys, the oldest dropped
    assert "&lt;b&gt;5" in memo.render({"rows": rows})
    english = memo.render({"rows": rows})
    with translation.override("hi"):
        assert memo.render({"rows": rows}) == plain.render({"rows": rows}) != english


def test_a_memo_is_kept_per_time_zone():
    template = engines["django"].from_string("{% load portal_tags %}{% memo %}{{ moment|day_time }}{% endmemo %}")
    moment = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
    with timezone.override("Asia/Kolkata"):
        assert template.render({"moment": moment}) == "2 Dec 2026, 01:30"
    with timezone.override("UTC"):
        assert template.render({"moment": moment}) == "1 Dec 2026, 20:00"


@pytest.mark.parametrize("keep", ["keep=0", "keep=10001", "keep=many"])
def test_a_memo_keeps_from_1_to_10000_rows(keep):
    with pytest.raises(TemplateSyntaxError):
        render("{% memo a " + keep + " %}{% endmemo %}")


def test_memo_each_inside_a_memo_and_with_fresh_parts_and_time_zones():
    template = engines["django"].from_string(
        "{% load portal_tags %}{% memo %}[{% memo_each r in rows by r keep=5 %}{{ r }}{% fresh %}{{ a }}{% endfresh %}"
        "{{ moment|day_time }};{% endmemo_each %}]{% endmemo %}")
    moment = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
    with timezone.override("UTC"):
        assert template.render({"rows": [1, 2], "a": "x", "moment": moment}) == "[1x1 Dec 2026, 20:00;2x1 Dec 2026, 20:00;]"
        assert template.render({"rows": [3], "a": "y", "moment": moment}) == "[1y1 Dec 2026, 20:00;2y1 Dec 2026, 20:00;]"
    each = engines["django"].from_string(
        "{% load portal_tags %}{% memo_each r in rows by r keep=5 %}{{ moment|day_time }}{% fresh %}{{ a }}{% endfresh %}"
        "{% endmemo_each %}")
    for zone, written in [("Asia/Kolkata", "2 Dec 2026, 01:30"), ("UTC", "1 Dec 2026, 20:00")] * 2:
        with timezone.override(zone):
            assert each.render({"rows": [1, 2], "a": "!", "moment": moment}) == f"{written}!{written}!"
    assert each.render({"rows": None}) == each.render({}) == ""


@pytest.mark.parametrize("source", [
    "{% memo_each r in rows by r %}{% endmemo_each %}",
    "{% memo_each r in rows keep=5 %}{% endmemo_each %}",
    "{% memo_each r of rows by r keep=5 %}{% endmemo_each %}",
    "{% memo_each r in rows by r keep=5 %}{% block b %}{% endblock %}{% endmemo_each %}",
    "{% memo_each r in rows by r keep=5 %}{% csrf_token %}{% endmemo_each %}",
])
def test_what_memo_each_cannot_be_given_is_refused_when_the_template_is_read(source):
    with pytest.raises(TemplateSyntaxError):
        render(source)
