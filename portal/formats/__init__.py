"""How a date typed into any field of the portal is read, in every language of its pages:
as ISO writes it (2026-11-30) or day first, as India writes it (30/11/2026, 30-11-2026,
30.11.2026), and in no other way. Django's English reads 05/12/2025 month first (12 May),
so each language's module here (FORMAT_MODULE_PATH, read before Django's own) and the
settings name these formats. A form that says so to the person uses
``portal.forms.DayField`` and ``DayAndTimeField``; a roster's dates are read the same way."""

DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"]
DATETIME_INPUT_FORMATS = [
    f"{day} {time}" for day in DATE_INPUT_FORMATS for time in ("%H:%M:%S", "%H:%M:%S.%f", "%H:%M")
]
