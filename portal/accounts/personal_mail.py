"""The personal mail services (consumer mail) the portal knows by name: the one list of them.
The rules (official_email.PERSONAL_MAIL_SERVICES) read it, and so do the migrations that seed
their consumer-mail rules for the rules page (accounts 0002 the first of them, 0004 those added
since). Nothing here imports a model: a migration may import it. A service added here is
consumer mail at once; its rule for the rules page comes with a new data migration that seeds
the added ones (get_or_create, as 0004 does), never by changing the lists a migration already
seeded."""

# Seeded by migration accounts 0002.
SEEDED_FIRST = (
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.in", "yahoo.in", "ymail.com", "rocketmail.com",
    "outlook.com", "outlook.in", "hotmail.com", "hotmail.co.in", "live.com", "live.in", "msn.com",
    "rediffmail.com", "rediff.com", "icloud.com", "me.com", "mac.com", "aol.com", "protonmail.com", "proton.me",
    "zoho.com", "zohomail.in", "gmx.com", "mail.com", "yandex.com", "tutanota.com",
)

# Seeded by migration accounts 0004: common in India besides (Indiatimes, Sify and VSNL mail), and elsewhere.
ADDED_SINCE = (
    "indiatimes.com", "sify.com", "vsnl.net", "vsnl.com", "zohomail.com", "protonmail.ch", "pm.me", "tuta.io",
    "tuta.com", "tutanota.de", "tutamail.com", "gmx.net", "mail.ru", "fastmail.com", "hey.com", "aim.com",
)

PERSONAL_MAIL_SERVICES = frozenset((*SEEDED_FIRST, *ADDED_SINCE))
