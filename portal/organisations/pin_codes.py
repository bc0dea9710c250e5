"""Which PIN codes belong to which state or union territory, by their first digits.

The first digit of a PIN code is its postal region, the first two its postal circle (or a
sorting district within it), as India Post assigns them. A PIN code whose first digits
are not among its state's is almost always a typo in one of the two answers, so the form
questions it; it never refuses it: a few offices sit near a border and are served from
the other side, and India Post renumbers. Where a prefix is shared or unsure, it is listed
for every state that may use it (no question rather than a wrong one).

9 is the Army Postal Service (field post offices): any state may give it, it is never
questioned.
"""

ARMY_POSTAL_SERVICE = "9"

# State / UT code (portal.organisations.states.State) -> the prefixes of its PIN codes.
PIN_PREFIXES: dict[str, tuple[str, ...]] = {
    "DL": ("11",),
    "HR": ("12", "13"),
    "PB": ("14", "15", "16"),
    "CH": ("160",),
    "HP": ("17",),
    "JK": ("18", "19"),
    "LA": ("194",),
    "UP": ("20", "21", "22", "23", "24", "25", "26", "27", "28"),
    "UK": ("24", "25", "26"),
    "RJ": ("30", "31", "32", "33", "34"),
    "GJ": ("36", "37", "38", "39"),
    # Dadra and Nagar Haveli and Daman: 396; Diu: 362 (Gujarat's sorting district).
    "DH": ("396", "362"),
    "MH": ("40", "41", "42", "43", "44"),
    "GA": ("403",),
    "MP": ("45", "46", "47", "48"),
    "CG": ("49",),
    "TS": ("50",),
    # The mandals moved from Telangana to Andhra Pradesh in 2014 kept their 50x codes.
    "AP": ("50", "51", "52", "53"),
    "KA": ("56", "57", "58", "59"),
    "TN": ("60", "61", "62", "63", "64"),
    # Puducherry, Karaikal (609) and Bahour (607) in Tamil Nadu's circle; Yanam in Andhra
    # Pradesh's (533); Mahe in Kerala's (673).
    "PY": ("605", "607", "609", "533", "673"),
    "KL": ("67", "68", "69"),
    "LD": ("682",),
    "WB": ("70", "71", "72", "73", "74"),
    "SK": ("737",),
    "AN": ("744",),
    "OD": ("75", "76", "77"),
    "AS": ("78",),
    "AR": ("790", "791", "792"),
    "ML": ("793", "794"),
    "MN": ("795",),
    "MZ": ("796",),
    "NL": ("797", "798"),
    "TR": ("799",),
    "BR": ("80", "81", "82", "83", "84", "85"),
    "JH": ("81", "82", "83", "85"),
}


def pin_fits_state(pin: str, state: str) -> bool:
    """Whether the PIN code ``pin`` (six digits) may be one of ``state``'s: True when its
    first digits are among the state's, when it is a field post office's (9), and when the
    state is not one the table knows (nothing to question)."""
    prefixes = PIN_PREFIXES.get(state)
    if not prefixes or pin.startswith(ARMY_POSTAL_SERVICE):
        return True
    return pin.startswith(prefixes)
