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
