"""Counts as people in India write them: digits grouped the Indian way, the last three
then by twos ("1,50,000", "1,00,00,000"), which is how the portal shows every count
(``grouped``, the ``figure`` template filter), and how people type them into its forms,
or grouped the international way ("150,000") (``ungrouped``: ``portal.forms.CountField``)."""

from django.utils import numberformat

# What may stand between the groups of digits of a count typed: a comma, or a space
# (a no-break or thin space too, as a word processor or a spreadsheet copies it).
GROUP_SEPARATORS = frozenset(", \u00a0\u2009\u202f")


def grouped(number: int) -> str:
    """``number`` with its digits grouped the Indian way ("1,25,000")."""
    return numberformat.format(number, ".", grouping=(3, 2, 0), thousand_sep=",", force_grouping=True)


def counted(number: float) -> int:
    """The whole number a plural message is chosen by for ``number`` (a limit in seconds
    that may be a fraction): itself when whole, else 2, as a fraction takes the plural
    ("1.5 seconds", "0.5 seconds")."""
    return int(number) if float(number).is_integer() else 2


def _grouped_the_indian_way(groups: list[str]) -> bool:
    *head, last = groups
    return len(last) == 3 and 1 <= len(head[0]) <= 2 and all(len(group) == 2 for group in head[1:])


def _grouped_the_international_way(groups: list[str]) -> bool:
    return 1 <= len(groups[0]) <= 3 and all(len(group) == 3 for group in groups[1:])


def ungrouped(text: str) -> str:
    """``text`` (trimmed) without the separators between its groups of digits, when it is
    a count grouped the Indian way ("1,50,000") or the international way ("150,000") with
    one kind of separator, each group where it belongs: then no other number can have
    been meant. Anything else is returned trimmed, as it is ("1,5,0000", "1,50 000"):
    the field reading it refuses what is not a whole number."""
    value = text.strip()
    separators = {character for character in value if character in GROUP_SEPARATORS}
    if len(separators) != 1:
        return value
    groups = value.split(separators.pop())
    if all(group.isdecimal() for group in groups) and (
            _grouped_the_indian_way(groups) or _grouped_the_international_way(groups)):
        return "".join(groups)
    return value
