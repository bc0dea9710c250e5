"""What every form of the portal shares: Bootstrap's classes on its widgets,
each field's error tied to its input (CONVENTIONS: every error is tied to its field),
and no control character in a one-line answer."""

from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal import pending
from portal.figures import grouped, ungrouped
from portal.text import MARKS_ON_ONE_LETTER_MAX, composed, has_control_characters, has_mark_pile, has_visible_characters


def refuse_control_characters(value: object) -> None:
    """A one-line answer holding a line break, a tab, another control character or a
    bidi override is refused at its field: it would be stored and shown (in lists, mails,
    audit rows) as something other than what the page showed when it was typed."""
    if isinstance(value, str) and has_control_characters(value):
        raise ValidationError(_("Line breaks, tabs and other control characters are not accepted here: type the "
                                "answer on one line."), code="control_characters")


def refuse_mark_piles(value: object) -> None:
    """An answer with more combining marks on one letter than any script writes
    (MARKS_ON_ONE_LETTER_MAX) is refused at its field: each is drawn beyond the one before,
    over the lines above or below it, hiding them."""
    if isinstance(value, str) and has_mark_pile(value):
        raise ValidationError(_("A letter of this answer carries more than %(n)s marks (accents, vowel signs): remove "
                                "the extra marks."), code="mark_pile", params={"n": MARKS_ON_ONE_LETTER_MAX})


def refuse_invisible_only(value: object) -> None:
    """An answer made only of characters drawn as nothing (zero-width spaces and joiners,
    byte order marks, blank letters: has_visible_characters) is no answer: refused at its
    field as a required one left empty is, or it would be stored and shown as a blank."""
    if isinstance(value, str) and value and not has_visible_characters(value):
        raise ValidationError(_("This field is required."), code="required")


def text_field(label, max_length, required=True, help_text="", **attrs):
    """A single-line answer. A required one made only of characters drawn as nothing
    (zero-width spaces...) is no answer: refused as one left empty is, or a name that shows
    nothing would be approved."""
    widget = forms.TextInput(attrs=attrs) if attrs else None
    return forms.CharField(label=label, max_length=max_length, required=required, help_text=help_text, widget=widget,
                           validators=[refuse_invisible_only] if required else [])


CHANGED_MEANWHILE = _(
    "Nothing was saved: what this page showed was changed since it was opened, by someone else or in another tab "
    "or window. What is saved now is said at each answer that differs from yours: check them and save again.")


def _stored_as_shown(field: forms.Field, value: object) -> str:
    """A stored value as its field shows it: a choice by its label, a date as the date input
    writes it, a box ticked or not as "Yes" or "No", nothing as "no answer" (or as the field's
    empty choice, when it has one)."""
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    choices = {str(key): label for key, label in getattr(field, "choices", None) or []}
    key = "" if value is None else str(value.isoformat() if isinstance(value, date) else value)
    if key in choices:
        return str(choices[key])
    return key or str(_("no answer"))


class _KeptInputMetaclass(forms.forms.DeclarativeFieldsMetaclass):
    """Once a form is made, fields added by its own ``__init__`` included, an unbound one
    shows the input kept for its page (``portal.pending``) as its initial values
    (``ShowsKeptInput._show_kept_input``)."""

    def __call__(cls, *args, **kwargs):
        form = super().__call__(*args, **kwargs)
        for name in confirming_keys(form).values():
            # Read by the language switch (static/js/portal.js), which puts back what was typed but these.
            form.fields[name].widget.attrs[CONFIRMS_ATTRIBUTE] = ""
        if not form.is_bound:
            form._show_kept_input()
        return form


# The mark on the input of a box confirming an irreversible action (``confirming_keys``).
CONFIRMS_ATTRIBUTE = "data-portal-confirms"


def confirming_keys(form) -> dict[str, str]:
    """The boxes of ``form`` that confirm an irreversible action, as posted (with the form's
    prefix) and by field name: those its ``confirming_fields`` names, and any named as
    ``pending.NOT_RESTORED`` names ("confirm"). What was typed is never put back with one
    ticked: the person ticks it again by hand."""
    declared = getattr(form, "confirming_fields", ())
    return {form.add_prefix(name): name for name in form.fields
            if name in declared or name in pending.NOT_RESTORED}


class _AsStored:
    """A text answer as the portal stores it, before its field checks it (its length, its
    characters): composed (``portal.text.composed``: "ज़" typed as one character is stored as
    two), so that one longer than its field once composed is refused at the field, never cut
    later by what stores it; a box's answer with each line break as one character ("\n"): a
    browser counts a line break as one against the box's ``maxlength`` and sends it as two
    ("\r\n"), so an answer the box let in was refused as too long."""

    def __init__(self, to_python, *, box: bool):
        self.to_python = to_python
        self.box = box

    def __call__(self, value):
        if isinstance(value, str):
            value = composed(value.replace("\r\n", "\n") if self.box else value)
        return self.to_python(value)


class ShowsKeptInput(metaclass=_KeptInputMetaclass):
    """Mixed into a form (before its form class): unbound, it shows the input kept for its
    page over a sign-in (an ended session, a page older than the sign-in) as its initial
    values. Every AccessibleForm does; a library's form (allauth's) mixes it in."""

    restored = False  # set when the form shows input kept over a sign-in (``_show_kept_input``)
    # Its boxes that confirm an irreversible action under a name of their own (one named
    # "confirm" is one in any form: ``confirming_keys``): never put back ticked.
    confirming_fields: tuple[str, ...] = ()
    # The buttons its page sends it with, each (name, value) as the template writes it (never
    # a field's name): what they send is not typing (``pending.bind``), so a post of nothing
    # else (a confirmation ticked, then "Delete") is said not done, not "changed meanwhile".
    buttons: tuple[tuple[str, str], ...] = ()

    def _show_kept_input(self):
        """What was typed before signing in again (an ended session, an expired page), shown
        as the initial values, without errors said before the person sends it again. A box
        or a group of boxes the input does not name was sent unticked (a browser sends
        nothing for it): shown unticked, not as the form's initial values have it (what is
        stored); a box confirming an irreversible action is never put back ticked."""
        keys = {self.add_prefix(name): name for name, field in self.fields.items() if not field.disabled}
        boxes = {key for key, name in keys.items() if _sent_unticked_as_nothing(self.fields[name].widget, key)}
        restored = pending.bind(keys, boxes, confirming_keys(self),
                                ((self.add_prefix(name), value) for name, value in self.buttons))
        if restored is None:
            return
        self.restored = True  # not blank: a template keeping blank forms per process shows this one afresh
        for key, name in keys.items():
            field = self.fields[name]
            if key in restored:
                self.initial[name] = (restored.getlist(key) if isinstance(field, forms.MultipleChoiceField)
                                      else restored.get(key))
            elif key in boxes:
                self.initial[name] = field.widget.value_from_datadict(restored, {}, key)  # unticked: False, or []


def _sent_unticked_as_nothing(widget: forms.Widget, key: str) -> bool:
    """Whether the browser sends nothing for ``widget`` left empty (a box unticked, a group of
    boxes or a list of several choices with none chosen): its absence from a post is its
    value, not something left out (Django's ``value_omitted_from_data``)."""
    return not isinstance(widget, forms.HiddenInput) and not widget.value_omitted_from_data({}, {}, key)


# The mark of a file size the browser checks before sending (static/js/portal.js), and the
# refusal it shows at the field then: "{size}" in it stands for the file's size in MB.
SIZE_PLACEHOLDER = "{size}"


def limit_file_size(field: forms.FileField, max_bytes: int, too_large: str) -> None:
    """A file larger than ``max_bytes`` is refused by the browser before it is sent, with
    ``too_large``, the message the form's own check gives (which stays): on a slow connection
    a file refused only once it has arrived costs minutes of upload for nothing."""
    field.widget.attrs.update({"data-max-bytes": str(max_bytes), "data-too-large": str(too_large)})


class AccessibleForm(ShowsKeptInput, forms.Form):
    """Gives each widget Bootstrap's class unless it has one, and after validation
    marks every field with an error: ``aria-invalid``, ``aria-describedby`` naming
    its hint and its error (the ids ``includes/field.html`` gives them, in the
    order they appear), and ``is-invalid``. Each one-line text field refuses control
    characters (refuse_control_characters), each text field a pile of marks on one letter
    (refuse_mark_piles); each text answer is checked as it is stored,
    composed, a box's line breaks counted as one character each, as the browser counted them
    (_AsStored)."""

    def __init__(self, *args, **kwargs):
        self.warnings = {}  # advice at a field that does not block (``includes/field.html``'s field_warnings)
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(field, forms.CharField) and isinstance(widget, forms.Textarea):
                field.to_python = _AsStored(field.to_python, box=True)  # each form's own copy of the field
                field.validators.append(refuse_mark_piles)
            elif isinstance(field, forms.CharField) and not isinstance(widget, (forms.PasswordInput, forms.HiddenInput)):
                field.to_python = _AsStored(field.to_python, box=False)
                field.validators.extend([refuse_control_characters, refuse_mark_piles])
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, (forms.CheckboxSelectMultiple, forms.RadioSelect)):
                pass  # each option is rendered on its own; a field that wants a class sets it
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")

    def full_clean(self):
        if self.is_bound:
            self._line_breaks_as_typed()
        super().full_clean()
        self._say_stored_lengths()
        for name in self.errors:
            if name not in self.fields:
                continue  # errors of the whole form
            auto_id = self[name].auto_id
            attrs = self.fields[name].widget.attrs
            attrs["aria-invalid"] = "true"
            help_id = f"{auto_id}_helptext " if self.fields[name].help_text else ""
            attrs["aria-describedby"] = f"{help_id}{auto_id}_error"
            css = attrs.get("class", "")
            if "is-invalid" not in css.split():
                attrs["class"] = f"{css} is-invalid".strip()

    def _say_stored_lengths(self):
        """An answer within its box's length as typed but over it once composed (letters
        typed as one character that are stored as two) is told why, rather than a length
        the person never typed."""
        for name, field in self.fields.items():
            if name not in self._errors or not isinstance(field.to_python, _AsStored) or not field.max_length:
                continue
            # As typed: its line breaks counted as one already (_line_breaks_as_typed).
            typed = self[name].data
            if not isinstance(typed, str) or len(typed) > field.max_length:
                continue  # too long as typed: said as the field says it
            if (stored := len(composed(typed))) <= field.max_length:
                continue  # longer only in what the field made of it: said as the field says it
            errors = [ValidationError(_("Letters typed as one character that are stored as two (such as “ज़”) count "
                                        "twice: stored, this answer has %(count)s characters, more than the %(limit)s "
                                        "allowed. Shorten it."),
                                      code="max_length", params={"count": grouped(stored),
                                                                 "limit": grouped(field.max_length)})
                      if error.code == "max_length" else error for error in self._errors[name].as_data()]
            self._errors[name] = self.error_class(renderer=self.renderer)
            self._errors[name].extend(errors)

    def warn(self, field, message):
        self.warnings.setdefault(field, []).append(message)

    def confirm_again(self, message: str, field: str = "confirm") -> None:
        """What the box ``field`` confirmed changed since its page was shown (a count, a list
        of what ends): it is asked for again, unticked, saying ``message`` at it (above the form
        when the form has no such box now)."""
        self.data = self.data.copy()
        self.data.pop(self.add_prefix(field), None)
        self.add_error(field if field in self.fields else None, message)

    def say_changed_meanwhile(self, stored: dict) -> None:
        """After a save this form sent was refused as changed meanwhile
        (portal.shown.ChangedMeanwhile): the refusal above the form, and at each field whose
        answer, as the form cleaned it, differs from what is ``stored`` now (by field name,
        as the form would clean it), what that is, as the field names it."""
        self.add_error(None, ValidationError(CHANGED_MEANWHILE, code="changed_meanwhile"))
        answers = getattr(self, "cleaned_data", {})
        for name, field in self.fields.items():
            if name in stored and answers.get(name) != stored[name]:
                self.warn(name, _("Saved meanwhile: %(value)s") % {"value": _stored_as_shown(field, stored[name])})

    def _line_breaks_as_typed(self):
        """A browser counts a line break in a textarea as one character against its
        ``maxlength`` and sends it as two (CR LF): a text the box took would be refused as
        too long. Each textarea's line breaks are counted (and kept) as one."""
        names = [self.add_prefix(name) for name, field in self.fields.items() if isinstance(field.widget, forms.Textarea)]
        if not any("\r" in str(self.data.get(name) or "") for name in names):
            return
        data = self.data.copy()
        for name in names:
            value = data.get(name)
            if isinstance(value, str) and "\r" in value:
                data[name] = value.replace("\r\n", "\n").replace("\r", "\n")
        self.data = data


class DayField(forms.DateField):
    """A date, typed or sent by a date picker, as the portal reads every date
    (``portal.formats``: ISO or day first); one typed in another form (12/25/2025, month
    first; 05/12/25, a year of two digits) is refused with the forms it takes."""

    default_error_messages = {"invalid": _("Enter a valid date, as 2026-11-30 or 30/11/2026 (day, month, year).")}


class CountField(forms.IntegerField):
    """A count, typed as the portal writes counts, its digits grouped the Indian way
    ("1,50,000"), or the international way ("150,000"), or not at all (portal.figures:
    ``ungrouped``), in a text box (a browser's number box takes no comma). Refused in the
    portal's words, which write its limits grouped ("50,00,000")."""

    widget = forms.TextInput
    default_error_messages = {
        "invalid": _("Enter a whole number, such as 1,500 or 1,50,000."),
        "min_value": _("Enter a number of %(limit)s or more."),
        "max_value": _("Enter a number of %(limit)s or less."),
    }

    def __init__(self, *, min_value: int | None = None, max_value: int | None = None, **kwargs):
        super().__init__(**kwargs)  # without Django's validators, whose messages write the limit ungrouped
        self.min_value, self.max_value = min_value, max_value
        self.widget.attrs.setdefault("inputmode", "numeric")

    def to_python(self, value):
        return super().to_python(ungrouped(value) if isinstance(value, str) else value)

    def validate(self, value):
        super().validate(value)
        if value in self.empty_values:
            return
        if self.min_value is not None and value < self.min_value:
            raise ValidationError(self.error_messages["min_value"], code="min_value",
                                  params={"limit": grouped(self.min_value)})
        if self.max_value is not None and value > self.max_value:
            raise ValidationError(self.error_messages["max_value"], code="max_value",
                                  params={"limit": grouped(self.max_value)})

    @staticmethod
    def shown(value: object) -> str:
        """A count as stored (the digits, or what was typed and refused) as the portal shows
        it: grouped when it is one, else as it is."""
        text = "" if value is None else str(value)
        try:
            return grouped(int(ungrouped(text)))
        except ValueError:  # not a whole number (refused, and kept in the draft as typed)
            return text


class DayAndTimeField(forms.DateTimeField):
    """A date and a time of day, read as ``DayField`` reads the date (India's time unless
    an offset is typed)."""

    default_error_messages = {
        "invalid": _("Enter a valid date and time, as 2026-11-30 18:00 or 30/11/2026 18:00 (day, month, year)."),
    }


# The days a period of the portal's records may be asked for from and to (the audit log's
# filter, the breach report): from 2000 (the records begin long after it, and the calendar's
# first days cannot even be written in UTC) to the last day of next year (a day a year from
# today does not exist on 29 February).
RECORDS_FIRST_DAY = date(2000, 1, 1)


def records_day_allowed(day: date) -> bool:
    return RECORDS_FIRST_DAY <= day <= date(timezone.localdate().year + 1, 12, 31)
