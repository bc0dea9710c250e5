"""How a date typed into any field of the portal is read, in every language of its pages:
as ISO writes it (2026-11-30) or day first, as India writes it (30/11/2026, 30-11-2026,
30.11.2026), and in no other way. Django's English reads 05/12/2025 month first (12 May),
so each language's module here (FORMAT_MODULE_PATH, read before Django's own) and the
settings name these formats. A form that says so to the person uses
``portal.forms.DayField`` and ``DayAndTimeField``; a roster's dates are read the same way.

And how Django's own filters group a count's digits when asked to (humanize's ``intcomma``,
``floatformat`` with "g"): the Indian way, as ``portal.figures.grouped`` and the ``figure``
filter do ("1,25,000"), in every language. Django's English would write "125,000", its
Hindi and Marathi "125000". USE_THOUSAND_SEPARATOR stays off: a number nothing asks to
group (an id in a link, a form's value) keeps its plain digits."""

DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"]
DATETIME_INPUT_FORMATS = [
    f"{day} {time}" for day in DATE_INPUT_FORMATS for time in ("%H:%M:%S", "%H:%M:%S.%f", "%H:%M")
]

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = (3, 2, 0)  # the last three digits, then by twos
