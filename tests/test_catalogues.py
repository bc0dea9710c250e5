"""Every translation catalogue under locale/ is complete and safe to interpolate.

For each language of settings.LANGUAGES other than English, the .po file must have
no empty msgstr, no fuzzy entry (a fuzzy header included: msgfmt would drop it), and
every msgstr must carry the same python-format placeholders as its msgid
(%(name)s by name, %s/%d by count, {name}/{0}/{} by name). No database needed.
"""

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import allauth
import django
import pytest
from django.conf import settings
from django.utils.translation import to_locale

LANGUAGES = [code for code, _name in settings.LANGUAGES if code != "en"]

FIELD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(".*")\s*$')
PERCENT = re.compile(r"%%|%(?:\((\w+)\))?[#0 +-]*(?:\d+|\*)?(?:\.\d+)?[sdifgeExXrac]")
BRACE = re.compile(r"\{\{|\}\}|\{(\w*)(?:[!:][^{}]*)?\}")


def parse_po(path):
    """The entries of a PO file as dicts: msgctxt, msgid, msgid_plural (None when absent),
    msgstr (a list: one item, or one per plural form) and flags. Obsolete (#~) entries are skipped."""
    entries, entry, key = [], None, None
    for number, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        field = FIELD.match(line)
        # A comment, msgctxt or msgid after a msgstr begins the next entry.
        if entry is None or (key or "").startswith("msgstr") and (
            line.startswith("#") or (field and field[1] in ("msgctxt", "msgid"))
        ):
            if entry and entry["fields"]:
                entries.append(entry)
            entry, key = {"flags": set(), "fields": {}}, None
        if not line:
            continue
        if line.startswith("#~"):
            entry, key = None, None  # an obsolete entry, with the comments gathered for it
        elif line.startswith("#,"):
            entry["flags"].update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif field:
            key = field[1]
            entry["fields"][key] = ast.literal_eval(field[2])
        elif line.startswith('"') and key:
            entry["fields"][key] += ast.literal_eval(line)
        else:
            raise AssertionError(f"{path}:{number}: cannot parse {raw!r}")
    if entry and entry["fields"]:
        entries.append(entry)
    parsed = []
    for entry in entries:
        fields = entry["fields"]
        forms = sorted((int(k[len("msgstr["):-1]), v) for k, v in fields.items() if k.startswith("msgstr["))
        parsed.append({
            "msgctxt": fields.get("msgctxt"), "msgid": fields["msgid"], "msgid_plural": fields.get("msgid_plural"),
            "msgstr": [v for _index, v in forms] if forms else [fields.get("msgstr", "")], "flags": entry["flags"],
        })
    return parsed


def placeholders(text):
    """(names, count of unnamed %-placeholders, count of unnamed {} fields) of a string."""
    names, percent, brace = set(), 0, 0
    for match in PERCENT.finditer(text):
        if match[0] == "%%":
            continue
        if match[1]:
            names.add(f"%({match[1]})")
        else:
            percent += 1
    for match in BRACE.finditer(text):
        if match[0] in ("{{", "}}"):
            continue
        if match[1]:
            names.add(f"{{{match[1]}}}")
        else:
            brace += 1
    return names, percent, brace


def problems(entries):
    found = []
    for entry in entries:
        msgid = entry["msgid"]
        if "fuzzy" in entry["flags"]:
            found.append(("fuzzy", msgid or "(header)"))
        if not msgid:  # the header
            continue
        if not all(entry["msgstr"]):
            found.append(("empty msgstr", msgid))
            continue
        if entry["msgid_plural"] is None:
            if placeholders(entry["msgstr"][0]) != placeholders(msgid):
                found.append(("placeholders differ", msgid))
        else:
            # Every plural form is checked against msgid_plural (the form used for most n),
            # except that the first may match the singular msgid instead.
            plural = placeholders(entry["msgid_plural"])
            for index, text in enumerate(entry["msgstr"]):
                if placeholders(text) != plural and not (index == 0 and placeholders(text) == placeholders(msgid)):
                    found.append((f"placeholders differ in msgstr[{index}]", msgid))
    return found


def catalogue(language):
    return Path(settings.LOCALE_PATHS[0]) / to_locale(language) / "LC_MESSAGES" / "django.po"


def test_there_are_catalogues_to_check():
    assert LANGUAGES, "settings.LANGUAGES names no language but English"


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_is_complete_and_keeps_its_placeholders(language):
    path = catalogue(language)
    assert path.exists(), f"no catalogue for {language}: {path}"
    entries = parse_po(path)
    assert any(entry["msgid"] for entry in entries), f"{path} has no messages"
    found = problems(entries)
    assert not found, f"{path}: {len(found)} problem(s):\n" + "\n".join(
        f"  {kind}: {msgid!r}" for kind, msgid in found
    )


def overridden_messages():
    """(msgid, msgid_plural or None) of every message portal/locale_overrides.py names."""
    source = Path(settings.BASE_DIR) / "portal" / "locale_overrides.py"
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("gettext_noop", "ngettext_lazy"):
            texts = [arg.value for arg in node.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]
            yield texts[0], texts[1] if node.func.id == "ngettext_lazy" else None


def installed_messages():
    """(msgid, msgid_plural) of the installed Django's and allauth's English catalogues,
    which their releases extract afresh from their code and templates."""
    found = set()
    for package in (django, allauth):
        for path in Path(package.__file__).parent.rglob("locale/en/LC_MESSAGES/*.po"):
            found.update((entry["msgid"], entry["msgid_plural"]) for entry in parse_po(path))
    return found


def test_every_message_the_portal_translates_for_django_or_allauth_is_still_theirs():
    """A message of locale_overrides.py whose wording Django or allauth changed is shown
    in English again (Django 6.1's "too short" took %d where it had %(min_length)d):
    each one must still be a message of the installed versions, word for word."""
    installed = installed_messages()
    assert ("This field is required.", None) in installed and ("Sign In", None) in installed
    listed = list(overridden_messages())
    assert len(listed) > 100
    assert [message for message in listed if message not in installed] == []


def test_the_parser_and_the_checks(tmp_path):
    """The parser reads multi-line strings, escapes, plurals and flags; the checks catch each fault."""
    po = tmp_path / "django.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: xx\\n"\n"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'
        '#, python-format\nmsgid ""\n"Say \\"%(name)s\\"\\n"\n"twice"\nmsgstr "क \\"%(name)s\\"\\n"\n"ख"\n\n'
        '#, python-format\nmsgid "%(n)s page"\nmsgid_plural "%(n)s pages"\nmsgstr[0] "%(n)s पृष्ठ"\nmsgstr[1] "%(n)s पृष्ठे"\n\n'
        'msgctxt "month"\nmsgid "May"\nmsgstr "मे"\n\n'
        '#, fuzzy\nmsgid "Fuzzy"\nmsgstr "अस्पष्ट"\n\n'
        'msgid "Empty"\nmsgstr ""\n\n'
        '#, python-format\nmsgid "Hello %(name)s, %s"\nmsgstr "नमस्कार %(nam)s"\n\n'
        'msgid "{0} of {total}"\nmsgstr "{total} पैकी {1}"\n\n'
        '#, python-format\nmsgid "%(n)s try"\nmsgid_plural "%(n)s tries"\nmsgstr[0] "%(n)s प्रयत्न"\nmsgstr[1] ""\n\n'
        '#, fuzzy\n#~ msgid "Gone"\n#~ msgstr ""\n\n'
        'msgid "Last"\nmsgstr "शेवटचा"\n',
        encoding="utf-8",
    )
    entries = parse_po(po)
    assert [entry["msgid"] for entry in entries] == [
        "", 'Say "%(name)s"\ntwice', "%(n)s page", "May", "Fuzzy", "Empty", "Hello %(name)s, %s", "{0} of {total}",
        "%(n)s try", "Last",
    ]
    assert entries[1]["msgstr"] == ['क "%(name)s"\nख'] and "python-format" in entries[1]["flags"]
    assert entries[2]["msgid_plural"] == "%(n)s pages" and entries[2]["msgstr"] == ["%(n)s पृष्ठ", "%(n)s पृष्ठे"]
    assert entries[3]["msgctxt"] == "month"
    assert problems(entries) == [
        ("fuzzy", "Fuzzy"),
        ("empty msgstr", "Empty"),
        ("placeholders differ", "Hello %(name)s, %s"),
        ("placeholders differ", "{0} of {total}"),
        ("empty msgstr", "%(n)s try"),
    ]
    assert placeholders("100%% of %(x)s and %s, {a} {{b}}") == ({"%(x)", "{a}"}, 1, 0)


SOURCE_IGNORED = shutil.ignore_patterns(".git", ".venv", "var", "test-artifacts", "staticfiles", "node_modules",
                                        "__pycache__", "*.mo", ".pytest_cache", ".ruff_cache", "bench")


def test_every_message_marked_in_the_code_is_in_each_catalogue(tmp_path):
    """A message marked for translation but missing from a catalogue is shown in English
    on a Hindi or Marathi page (a model field's label, "verified name", was). Django's
    makemessages, run over a copy of the source, must find every message already
    translated in each language: nothing added empty, nothing matched as fuzzy."""
    source = Path(settings.BASE_DIR)
    copy = tmp_path / "source"
    shutil.copytree(source, copy, ignore=SOURCE_IGNORED)
    arguments = [sys.executable, "manage.py", "makemessages", "--no-obsolete", "--no-location"]
    for language in LANGUAGES:
        arguments += ["-l", to_locale(language)]
    subprocess.run(arguments, cwd=copy, check=True, capture_output=True, timeout=300)
    for language in LANGUAGES:
        path = copy / catalogue(language).relative_to(source)
        found = problems(parse_po(path))
        assert not found, f"{language}: {len(found)} message(s) of the code not translated:\n" + "\n".join(
            f"  {kind}: {msgid!r}" for kind, msgid in found)


# The glossary: one word for one thing in each language. Each check reads every message
# whose English names the thing, and the word its translation uses.

def translations(language):
    """(msgid, msgstr) of every translated form of the language's catalogue (each plural form)."""
    for entry in parse_po(catalogue(language)):
        if entry["msgid"]:
            for text in entry["msgstr"]:
                yield entry["msgid"], text


SANDES = "संदेस"  # as the header of every page writes the platform's name
MESSAGE = "संदेश"  # the common word for "message": the name written so reads "active on message"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_platform_is_named_as_the_header_names_it(language):
    """Every message that names Sandes spells it संदेस (संदेस पर, संदेसवर, संदेसमध्ये ...), and
    says संदेश only where the English says message(s) or messaging."""
    wrong = [
        msgid for msgid, text in translations(language) if "Sandes" in msgid and (
            text.count(SANDES) < msgid.count("Sandes")
            or text.count(MESSAGE) > len(re.findall("messag", msgid, re.IGNORECASE)))
    ]
    assert wrong == [], f"{language}: {len(wrong)} message(s) name Sandes otherwise than {SANDES}:\n" + "\n".join(
        f"  {msgid[:100]!r}" for msgid in wrong)


# Revoking (a role, a verification, an API client) is final and done by someone else: it has
# a word of its own, neither Cancel's (which backs out doing nothing) nor Withdraw's (a person
# taking back their own application or request), nor Remove's.
REVOKE = {
    "hi": ("निरस्त", ["रद्द", "वापस ले", "वापस ली", "वापस लि", "हटा"]),
    "mr": ("निरस्त", ["रद्द", "मागे घे", "मागे घ्या", "काढ"]),
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_revoking_is_said_with_one_word_of_its_own(language):
    word, others = REVOKE[language]
    wrong = [
        (msgid, text) for msgid, text in translations(language)
        if re.search("revo[kc]", msgid, re.IGNORECASE) and (word not in text or any(other in text for other in others))
    ]
    assert wrong == [], f"{language}: {len(wrong)} message(s) say revoke otherwise than {word}:\n" + "\n".join(
        f"  {msgid[:70]!r}: {text[:90]!r}" for msgid, text in wrong)


# One word for each of these things in each language: (language, what the English says (a pattern
# on the msgid, or None for every message), the word, the words used for it besides).
GLOSSARY = [
    # The roster is रोस्टर in the menu, its pages and its mails: "संगठन की कर्मचारी सूची" (the staff
    # list) called it something else on a person's verification.
    ("hi", r"\broster", "रोस्टर", ["कर्मचारी सूची"]),
    # The organisation admin is a प्रशासक on the roles pages: the pages about an admin's verification
    # said एडमिन (सुपरएडमिन, the superadmin, is the platform role's own name).
    ("hi", None, "प्रशासक", [re.compile("(?<!सुपर)एडमिन")]),
    ("mr", None, "प्रशासक", [re.compile("(?<!सुपर)ॲडमिन")]),
    # Marathi verifies with पडताळणी / पडताळलेले: सत्यापित and सत्यापन are Hindi.
    ("mr", None, None, ["सत्यापित", "सत्यापन"]),
    # Marathi's invitation is आमंत्रण (the invitations list's), its link लिंक (96 times to दुवा's 6).
    ("mr", r"\binvit", "आमंत्र", ["निमंत्र"]),
    ("mr", None, None, ["दुवा", "दुवे", "दुव्या"]),
    # The platform role is the सुपरएडमिन / सुपरॲडमिन; सुपरयूज़र / सुपरयूजर is Django's superuser only.
    ("hi", r"\bsuperadmin", "सुपरएडमिन", []),
    ("mr", r"\bsuperadmin", "सुपरॲडमिन", []),
    # Hindi's form is फ़ॉर्म (46 messages to प्रपत्र's 9, on the same pages).
    ("hi", None, None, ["प्रपत्र"]),
    # An application is submitted (प्रस्तुत) on its button, its status and its mails: ten later
    # messages said जमा, the word for a deposit.
    ("hi", r"\bsubmi", "प्रस्तुत", ["जमा"]),
]


@pytest.mark.parametrize(("language", "english", "word", "others"), GLOSSARY,
                         ids=[f"{language}-{word or others[0]}" for language, _english, word, others in GLOSSARY])
def test_one_thing_is_said_with_one_word(language, english, word, others):
    """Where the English names the thing, its word is there; none of the others is anywhere."""
    def says_another(text):
        return any(other.search(text) if isinstance(other, re.Pattern) else other in text for other in others)

    wrong = [
        (msgid, text) for msgid, text in translations(language)
        if (english is not None and re.search(english, msgid, re.IGNORECASE) and word not in text) or says_another(text)
    ]
    assert wrong == [], f"{language}: {len(wrong)} message(s) do not say {word or 'it'} as the rest do:\n" + "\n".join(
        f"  {msgid[:70]!r}: {text[:90]!r}" for msgid, text in wrong)


# A count before a unit of time, or before "times", is said by a plural message: the last second
# of a minute, a limit or a keeping time set to 1, read "1 seconds", "1 days", "1 times" otherwise.
COUNTED_UNIT = re.compile(r"%\(\w+\)[sd] (?:seconds|minutes|hours|days|weeks|months|years|times)\b")


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_count_of_seconds_days_or_times_is_said_by_a_plural_message(language):
    wrong = [entry["msgid"] for entry in parse_po(catalogue(language))
             if entry["msgid"] and entry["msgid_plural"] is None and COUNTED_UNIT.search(entry["msgid"])]
    assert wrong == [], f"{language}: {len(wrong)} message(s) name a count with a plural word whatever it is:\n" + "\n".join(
        f"  {msgid[:100]!r}" for msgid in wrong)


# Which plural form a count takes, as CLDR's cardinal rules say for whole numbers: Hindi says
# 0 and 1 with the "one" form (i = 0 or n = 1: "0 घंटा", "1 घंटा", "2 घंटे"), Marathi 1 only.
CLDR_ONE = {"hi": {0, 1}, "mr": {1}}


def plural_formula(path):
    """(nplurals, the plural expression) of a catalogue's Plural-Forms header."""
    [header] = [entry for entry in parse_po(path) if not entry["msgid"]]
    found = re.search(r"^Plural-Forms:\s*nplurals=(\d+);\s*plural=(.+?);?\s*$", header["msgstr"][0], re.MULTILINE)
    assert found, f"{path}: no Plural-Forms header"
    return int(found[1]), found[2]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_plural_forms_header_chooses_the_form_cldr_says(language):
    """A count of 0 in Hindi takes the singular form (CLDR: i = 0 or n = 1); a header copied
    from English ("n != 1") wrote "0 दिनों" where Hindi says "0 दिन"."""
    import gettext

    nplurals, expression = plural_formula(catalogue(language))
    choose = gettext.c2py(expression)
    assert nplurals == 2
    assert [n for n in range(0, 1001) if choose(n) == 0] == sorted(CLDR_ONE[language])
    assert all(choose(n) == 1 for n in range(0, 1001) if n not in CLDR_ONE[language])
