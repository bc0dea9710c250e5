"""The 28 states and 8 union territories of India (36), with stable codes.

Codes follow ISO 3166-2:IN (without the "IN-" prefix) and are stored in rows,
so they never change.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class State(models.TextChoices):
    AN = "AN", _("Andaman and Nicobar Islands")
    AP = "AP", _("Andhra Pradesh")
    AR = "AR", _("Arunachal Pradesh")
    AS = "AS", _("Assam")
    BR = "BR", _("Bihar")
    CH = "CH", _("Chandigarh")
    CG = "CG", _("Chhattisgarh")
    DH = "DH", _("Dadra and Nagar Haveli and Daman and Diu")
    DL = "DL", _("Delhi")
    GA = "GA", _("Goa")
    GJ = "GJ", _("Gujarat")
    HR = "HR", _("Haryana")
    HP = "HP", _("Himachal Pradesh")
    JK = "JK", _("Jammu and Kashmir")
    JH = "JH", _("Jharkhand")
    KA = "KA", _("Karnataka")
    KL = "KL", _("Kerala")
    LA = "LA", _("Ladakh")
    LD = "LD", _("Lakshadweep")
    MP = "MP", _("Madhya Pradesh")
    MH = "MH", _("Maharashtra")
    MN = "MN", _("Manipur")
    ML = "ML", _("Meghalaya")
    MZ = "MZ", _("Mizoram")
    NL = "NL", _("Nagaland")
    OD = "OD", _("Odisha")
    PY = "PY", _("Puducherry")
    PB = "PB", _("Punjab")
    RJ = "RJ", _("Rajasthan")
    SK = "SK", _("Sikkim")
    TN = "TN", _("Tamil Nadu")
    TS = "TS", _("Telangana")
    TR = "TR", _("Tripura")
    UP = "UP", _("Uttar Pradesh")
    UK = "UK", _("Uttarakhand")
    WB = "WB", _("West Bengal")


UNION_TERRITORIES = {"AN", "CH", "DH", "DL", "JK", "LA", "LD", "PY"}

# Jurisdiction of a platform role: a state/UT, or the Government of India.
CENTRAL = "CENTRAL"
JURISDICTION_CHOICES = [(CENTRAL, _("Central (Government of India)"))] + list(State.choices)


# The language of a name written in Hindi or the state's language (an organisation's
# name_local), known by the script it is written in: the language of each Indian script's
# Unicode block; for the Bengali script, which several languages share, the state's where it
# has one (Assamese in Assam, Meitei in Manipur). Devanagari is Hindi's, and Marathi's in
# Maharashtra: there a name is taken as Marathi when it has a letter Marathi writes and Hindi
# does not (ळ, ऱ, ॲ), else as Hindi (the office's name in Hindi). A name in no such script
# (Latin letters, digits) says nothing of its language: None.
_SCRIPT_LANGUAGES = (
    (0x0900, 0x097F, "hi"), (0xA8E0, 0xA8FF, "hi"),  # Devanagari and its extension
    (0x0980, 0x09FF, "bn"), (0x0A00, 0x0A7F, "pa"), (0x0A80, 0x0AFF, "gu"), (0x0B00, 0x0B7F, "or"),
    (0x0B80, 0x0BFF, "ta"), (0x0C00, 0x0C7F, "te"), (0x0C80, 0x0CFF, "kn"), (0x0D00, 0x0D7F, "ml"),
    (0x0600, 0x06FF, "ur"), (0x1C50, 0x1C7F, "sat"), (0xABC0, 0xABFF, "mni"),
)
_STATE_LANGUAGES = {("bn", "AS"): "as", ("bn", "MN"): "mni"}
_MARATHI_LETTERS = frozenset("\u0933\u0931\u0972")  # ळ ऱ ॲ


def local_name_language(name: str, state: str) -> str | None:
    """The language (a BCP 47 tag) of ``name``, written in Hindi or the language of
    ``state`` (a State code, blank for none), by its first letter of an Indian script;
    None when it has none."""
    for character in name or "":
        point = ord(character)
        for first, last, language in _SCRIPT_LANGUAGES:
            if first <= point <= last:
                if language == "hi":
                    return "mr" if state == "MH" and not _MARATHI_LETTERS.isdisjoint(name) else "hi"
                return _STATE_LANGUAGES.get((language, state), language)
    return None
