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

import logging
import re
import unicodedata
from functools import cache
from pathlib import Path

from django.db import connections, models
from django.db.models import QuerySet
from django.utils.translation import get_language

logger = logging.getLogger(__name__)

# Line breaks, tabs and the other C0/C1 "separators": in a single-line answer each
# run of them becomes one space ("Directorate\r\nof Agriculture" keeps its words apart).
_BREAKS = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\u2028\u2029"
_BREAK_RUN = re.compile(f"[{_BREAKS}]+")
# Every other control character (C0, DEL, C1) and the bidi overrides and isolates.
_CONTROLS = "\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[{_CONTROLS}]")
# What stored text loses: those, and the direction marks (left-to-right, right-to-left,
# Arabic letter), drawn as nothing: one before a number reorders what is around it ("221
# 115" shown, and printed in a PDF, as "115 221"). A mark is taken out but not refused as a
# control character (``has_control_characters``): the person cannot see one they pasted.
_REMOVED = re.compile(f"[{_CONTROLS}\u061c\u200e\u200f]")
_LINE_BREAK = re.compile("\r\n|[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")

# A run of labels joined by dots, as a host name is written: letters of any script (with
# the vowel signs, viramas and joiners of Indian scripts, which \w leaves out), digits and
# hyphens. "mha.gov.in", "मंत्रालय.भारत", "K.R.Narayanan", "U.P", "1.2".
_LABEL = r"[\w\u0300-\u036f\u0900-\u0dff\u200c\u200d-]+"
_DOTTED_RUN = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")
# Written as a host name is typed: lower-case ASCII labels, the last beginning with a letter
# and two characters or more ("evil.example", "txt.exe"; not "e.g", "1.2").
_LOWER_CASE_HOST = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z][a-z0-9-]+")
_IPV4 = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
# IANA's list of top-level domains, as published (one a line, upper case, IDNs in their
# xn-- form). Refreshed by replacing the file with the newer one from
# https://data.iana.org/TLD/tlds-alpha-by-domain.txt.
_TLD_FILE = Path(__file__).resolve().parent / "data" / "tlds-alpha-by-domain.txt"
_SCHEME = re.compile(r"(?i)(?<=[a-z0-9])://")
_AT = re.compile(r"(?<=\S)@(?=\S)")


def composed(value: str) -> str:
    """``value`` in Unicode's composed form (NFC): the one way each letter is stored and
    searched, however it was typed."""
    return unicodedata.normalize("NFC", value)


# The zero-width non-joiner and joiner: Devanagari and the other Indian scripts write words
# with them (a half form, a conjunct shown apart), so a search keeps them.
_JOINERS = frozenset("\u200c\u200d")


def as_searched(value: str) -> str:
    """``value`` as every search takes what is typed: composed (``composed``), without the
    format characters (Unicode category Cf: the zero-width space, the left-to-right and
    right-to-left marks, the byte order mark, the word joiner, the soft hyphen) that text
    copied from a web page, a document or a chat carries with its words, drawn as nothing,
    which no stored name holds between its letters: with them a search found nobody. The
    joiners (``_JOINERS``) stay."""
    return composed("".join(char for char in value if char in _JOINERS or unicodedata.category(char) != "Cf"))


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


# The most combining marks (accents, vowel signs, viramas, nuktas...) an answer may put on one
# letter: more than any script writes (a Tibetan stack has about six). Each is drawn beyond the
# one before, so that a pile of a hundred, drawn over the lines above or below, hides them (in a
# PDF too). Typed answers are checked for piles (the forms), not every text: a roster's cells
# are not drawn in a document.
MARKS_ON_ONE_LETTER_MAX = 8


@cache
def _mark_pile() -> re.Pattern:
    """More than MARKS_ON_ONE_LETTER_MAX combining marks (categories Mn and Me) in a row."""
    ranges, start = [], None
    for code in [*range(0x20000), *range(0xE0000, 0xE0200)]:  # none in the planes between
        mark = unicodedata.category(chr(code)) in ("Mn", "Me")
        if mark and start is None:
            start = code
        elif not mark and start is not None:
            ranges.append(f"{re.escape(chr(start))}-{re.escape(chr(code - 1))}")
            start = None
    marks = "".join(ranges)
    return re.compile(f"[{marks}]{{{MARKS_ON_ONE_LETTER_MAX + 1},}}")


def has_mark_pile(value: str) -> bool:
    """Whether ``value`` has more than MARKS_ON_ONE_LETTER_MAX combining marks in a row."""
    return _mark_pile().search(value) is not None


def without_mark_piles(value: str) -> str:
    """``value`` with at most MARKS_ON_ONE_LETTER_MAX combining marks in a row (on one letter)."""
    return _mark_pile().sub(lambda pile: pile.group()[:MARKS_ON_ONE_LETTER_MAX], value)


def single_line(value: str) -> str:
    """``value`` without control characters: line breaks and tabs become one space,
    the others (and the bidi overrides and direction marks) are removed; composed (``composed``)."""
    return composed(_REMOVED.sub("", _BREAK_RUN.sub(" ", value)))


def multi_line(value: str) -> str:
    """``value`` with its line breaks as ``\\n`` and no other control character (a
    tab becomes a space); composed (``composed``)."""
    lines = _LINE_BREAK.split(value)
    return composed("\n".join(_REMOVED.sub("", line.replace("\t", " ").replace("\x1f", " ")) for line in lines))


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
    ``batch`` at a time. The number of rows rewritten.

    Composing does not keep a text's length (a letter with a nukta written as one character,
    U+0958-U+095F, becomes two): a row whose composed text no longer fits its field's
    ``max_length`` is left as it is, never cut (on PostgreSQL ``bulk_update`` casts each value
    to the column's type, which would cut it silently), and logged (which rows, which field)."""
    model = queryset.model
    columns = [model._meta.get_field(name).column for name in fields]
    limits = {name: model._meta.get_field(name).max_length for name in fields}
    connection = connections[queryset.db]
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        queryset = queryset.extra(where=[" OR ".join(f"{quote(column)} IS NOT NFC NORMALIZED" for column in columns)])
    changed, left = [], []
    # Read whole before any is written (SQLite does not isolate a read from writes on its connection).
    for pk, *values in queryset.order_by("pk").values_list("pk", *fields).iterator(chunk_size=batch):
        if all(value is None or unicodedata.is_normalized("NFC", value) for value in values):
            continue
        texts = {name: composed(value) if value else value for name, value in zip(fields, values, strict=True)}
        too_long = [f"{name} {len(text)} > {limits[name]}" for name, text in texts.items()
                    if text and limits[name] is not None and len(text) > limits[name]]
        if too_long:
            left.append(f"{pk} ({', '.join(too_long)})")
        else:
            changed.append(model(pk=pk, **texts))
    if left:
        logger.warning("%s: %s row(s) left as stored, composed longer than the field allows: %s",
                       model._meta.label, len(left), "; ".join(left))
    rewritten = 0
    for start in range(0, len(changed), batch):
        rewritten += model._base_manager.using(queryset.db).bulk_update(changed[start:start + batch], fields)
    return rewritten


@cache
def _top_level_domains() -> frozenset[str]:
    lines = _TLD_FILE.read_text(encoding="ascii").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def _is_top_level_domain(label: str) -> bool:
    try:
        ascii_label = label.lower() if label.isascii() else label.encode("idna").decode("ascii").lower()
    except UnicodeError:  # not a label IDNA can write ("-x", too long, a character it refuses)
        return False
    return ascii_label in _top_level_domains()


def _linkable(text: str, run: re.Match) -> bool:
    """Whether a mail client could make a link of the dotted ``run`` in ``text``: it follows a
    scheme's "://" or is part of a mail address, it begins "www.", it is an IPv4 address, it
    is written in lower case as host names are, or its last label is a top-level domain
    ("nic.in", "NIC.IN", "मंत्रालय.भारत"). Not "K.R.Narayanan", "Dr.Rao" or "के.आर.नारायणन"."""
    name = run[0]
    return (
        text.endswith(("://", "@"), 0, run.start()) or text.startswith("@", run.end())
        or name.lower().startswith("www.")
        or bool(_IPV4.fullmatch(name) or _LOWER_CASE_HOST.fullmatch(name))
        or _is_top_level_domain(name.rsplit(".", 1)[1])
    )


def _break_linkable_dots(text: str) -> str:
    return _DOTTED_RUN.sub(lambda run: run[0].replace(".", "[.]") if _linkable(text, run) else run[0], text)


def inert(value: object) -> str:
    """A name as plain-text mail shows it: on one line, and with any web or mail
    address in it broken ("example[.]com", "https[:]//", "name[at]example[.]com") so
    that a mail client does not turn it into a link, while dots no client makes a link
    of are kept ("K.R.Narayanan", "Dr.Rao", "U.P."). Mail that names an organisation
    or a person uses this for every value someone typed."""
    text = _break_linkable_dots(single_line("" if value is None else str(value)))
    text = _SCHEME.sub("[:]//", text)
    return _AT.sub("[at]", text)


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
