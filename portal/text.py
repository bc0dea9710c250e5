"""Text people type, made safe to store and to send: control characters out of
single-line answers, every answer composed (Unicode NFC), and web addresses in names
made inert in plain-text mail.

Composed: a letter with a nukta (ज़ फ़ ड़) is one character (U+095B, what text converted
from legacy fonts and some phone keyboards give) or the letter and the nukta (U+091C
U+093C, what the InScript keyboard gives); the two look the same. NFC writes the second
(the first is excluded from composition), as it writes "é" as one character. Names and
the details people are searched by are stored so (``ComposedCharField``, and
``single_line``/``multi_line`` for the text cleaned before it is stored), and each search
composes what is typed the same way, so that either finds the other.

Zero-width joiners and non-joiners are kept: Devanagari and other Indian scripts
need them. The bidirectional overrides and isolates (U+202A–U+202E,
U+2066–U+2069) go: they can make a name read backwards (a file name ending
"fdp.exe" shown as "exe.pdf").
"""

import re
import unicodedata

from django.db import connections, models
from django.db.models import QuerySet
from django.utils.translation import get_language

# Line breaks, tabs and the other C0/C1 "separators": in a single-line answer each
# run of them becomes one space ("Directorate\r\nof Agriculture" keeps its words apart).
_BREAKS = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\u2028\u2029"
_BREAK_RUN = re.compile(f"[{_BREAKS}]+")
# Every other control character (C0, DEL, C1) and the bidi overrides and isolates.
_CONTROL = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAK = re.compile("\r\n|[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")

# A dot between something and a word of at least two characters: "example.com",
# "www.example", "मंत्रालय.भारत", but not the dots of "U.P." or "e.g." or a
# sentence's full stop. "://" after a scheme.
_LINKABLE_DOT = re.compile(r"(?<=\S)\.(?=[^\W\d_][^\s.,;:!?()\[\]{}<>\"'/\\|])")
_SCHEME = re.compile(r"(?i)(?<=[a-z0-9])://")
_AT = re.compile(r"(?<=\S)@(?=\S)")


def composed(value: str) -> str:
    """``value`` in Unicode's composed form (NFC): the one way each letter is stored and
    searched, however it was typed."""
    return unicodedata.normalize("NFC", value)


def has_control_characters(value: str) -> bool:
    """Whether ``value`` holds a character ``single_line`` would take out or replace: a
    line break, a tab or another control character (NUL among them: PostgreSQL refuses
    it in text), a bidi override."""
    return bool(_CONTROL.search(value) or _BREAK_RUN.search(value))


# Characters drawn as nothing that are not "format" characters (Unicode category Cf,
# which holds the zero-width space, word joiner, byte order mark, joiners): the Hangul
# fillers and the blank Braille pattern.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def has_visible_characters(value: str) -> bool:
    """Whether ``value`` shows anything: a character other than white space, control and
    format characters (zero-width spaces and joiners, word joiners, byte order marks) and
    the few letters drawn blank. A name made only of such characters looks empty; the
    joiners inside a Devanagari name are kept by the other functions here."""
    return any(
        not (char.isspace() or char in _BLANK_LETTERS or unicodedata.category(char) in ("Cc", "Cf", "Zs", "Zl", "Zp"))
        for char in value
    )


def has_undecodable_bytes(value: str) -> bool:
    """Whether ``value`` holds lone surrogates: what Python makes of bytes that are not
    UTF-8 (``surrogateescape``, as in command-line arguments). Such text cannot be
    stored, sent or shown."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def single_line(value: str) -> str:
    """``value`` without control characters: line breaks and tabs become one space,
    the others (and the bidi overrides) are removed; composed (``composed``)."""
    return composed(_CONTROL.sub("", _BREAK_RUN.sub(" ", value)))


def multi_line(value: str) -> str:
    """``value`` with its line breaks as ``\\n`` and no other control character (a
    tab becomes a space); composed (``composed``)."""
    lines = _LINE_BREAK.split(value)
    return composed("\n".join(_CONTROL.sub("", line.replace("\t", " ").replace("\x1f", " ")) for line in lines))


class ComposedCharField(models.CharField):
    """A CharField whose text is stored composed (``composed``), however it is written: a
    form, a service, the Django admin, ``update()`` and ``bulk_update()`` with a value (all
    pass through ``get_prep_value``, which calls ``to_python``), and an exact lookup by a
    value. The instance saved holds what was stored. A substring search (``icontains``)
    gets no such preparation from Django: it composes its words itself."""

    def to_python(self, value):
        value = super().to_python(value)
        return composed(value) if isinstance(value, str) else value

    def pre_save(self, model_instance, add):
        value = self.to_python(super().pre_save(model_instance, add))
        setattr(model_instance, self.attname, value)
        return value


def composed_rows_save(queryset: QuerySet, fields: list[str], *, batch: int = 1000) -> int:
    """Rewrite, composed, the rows of ``queryset`` whose text in ``fields`` is not (the
    names stored before they were composed: the migrations that made them
    ``ComposedCharField``). On PostgreSQL the database finds those rows (``IS NOT NFC
    NORMALIZED``), elsewhere every row is read; only those are kept in memory, and rewritten
    ``batch`` at a time. The number of rows rewritten."""
    model = queryset.model
    columns = [model._meta.get_field(name).column for name in fields]
    connection = connections[queryset.db]
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        queryset = queryset.extra(where=[" OR ".join(f"{quote(column)} IS NOT NFC NORMALIZED" for column in columns)])
    changed = [  # read whole before any is written (SQLite does not isolate a read from writes on its connection)
        model(pk=pk, **{name: composed(value) if value else value for name, value in zip(fields, values, strict=True)})
        for pk, *values in queryset.order_by("pk").values_list("pk", *fields).iterator(chunk_size=batch)
        if not all(value is None or unicodedata.is_normalized("NFC", value) for value in values)
    ]
    rewritten = 0
    for start in range(0, len(changed), batch):
        rewritten += model._base_manager.using(queryset.db).bulk_update(changed[start:start + batch], fields)
    return rewritten


def inert(value: object) -> str:
    """A name as plain-text mail shows it: on one line, and with any web or mail
    address in it broken ("example[.]com", "https[:]//", "name[at]example[.]com") so
    that a mail client does not turn it into a link. Mail that names an organisation
    or a person uses this for every value someone typed."""
    text = single_line("" if value is None else str(value))
    text = _SCHEME.sub("[:]//", text)
    text = _AT.sub("[at]", text)
    return _LINKABLE_DOT.sub("[.]", text)


def inert_lines(value: object) -> str:
    """Text of several lines someone typed (remarks, grounds, reasons) as plain-text mail
    shows it: its lines kept, no control character or bidi override, and every web or
    mail address in it broken as ``inert`` breaks them, so that the portal's own mail
    carries no link the writer chose."""
    return "\n".join(inert(line) for line in multi_line("" if value is None else str(value)).split("\n"))


def before_full_stop(value: object) -> str:
    """A name placed where a sentence ends with its own full stop: without a full stop
    of its own ("... Pune Divn." would end "Divn.."), so the sentence ends with one. In
    Hindi, whose sentences end with a danda ("।"), the name keeps its own."""
    text = str("" if value is None else value).rstrip()
    return text if (get_language() or "").startswith("hi") else text.rstrip(".").rstrip()
