"""Messages of other packages' catalogues that the portal's catalogues correct or
supply (LOCALE_PATHS are read first). Named here so that makemessages keeps them."""

from django.utils.translation import gettext_noop, ngettext_lazy

CORRECTED = [
    gettext_noop("September"),  # Django's Hindi spells it "सितमबर" in every date
    gettext_noop("November"),  # "नवमबर"
    gettext_noop("December"),  # "दिसमबर"
    gettext_noop("sep"),  # and the short forms (the "j M Y" of every list) end as "दिसं": "सित"
    gettext_noop("nov"),  # (it shortens November to "नव", the word for "new")
    gettext_noop("dec"),  # and "दिस्", with a halant
    gettext_noop("mar"),  # Django's Hindi shortens March to "मा", which could begin any of several months
    # The labels of allauth's sign-in and sign-up forms, from Django's catalogues: its
    # Hindi calls an email a postal address ("डाक पता"), its Marathi uses "विपत्र";
    # both call the password "कूटशब्द"/"गुप्तशब्द" where the portal says "पासवर्ड".
    gettext_noop("Email"),
    gettext_noop("Email address"),
    gettext_noop("Password"),
    gettext_noop("Password (again)"),
    ngettext_lazy("%(size)d byte", "%(size)d bytes"),  # filesizeformat: Django's Marathi leaves it in English
    # and its Hindi writes "मेबी " (mebi, a space after it), its Marathi "एमबी", where the
    # portal's own words say "5 MB".
    gettext_noop("%s KB"),
    gettext_noop("%s MB"),
    gettext_noop("%s GB"),
    # Form errors Django's Hindi and Marathi leave in English (a text too long or too
    # short in their plural; Marathi's unknown choice), and Hindi's garbled unknown choice.
    ngettext_lazy("Ensure this value has at most %(limit_value)d character (it has %(show_value)d).",
                  "Ensure this value has at most %(limit_value)d characters (it has %(show_value)d).", "limit_value"),
    ngettext_lazy("Ensure this value has at least %(limit_value)d character (it has %(show_value)d).",
                  "Ensure this value has at least %(limit_value)d characters (it has %(show_value)d).", "limit_value"),
    gettext_noop("Select a valid choice. %(value)s is not one of the available choices."),
    gettext_noop("Null characters are not allowed."),  # Django's Hindi has none
    # A file's name too long (a FileField with max_length), and an address that is neither
    # IPv4 nor IPv6 (the breach report's client address): Django's Hindi and Marathi have none.
    ngettext_lazy("Ensure this filename has at most %(max)d character (it has %(length)d).",
                  "Ensure this filename has at most %(max)d characters (it has %(length)d).", "max"),
    gettext_noop("Enter a valid %(protocol)s address."),
    gettext_noop("IPv4 or IPv6"),
    gettext_noop("This account is inactive."),  # allauth's page for it; Django's Hindi garbles it ("यस खाता सुस्त है")
    # The password validators' help texts and errors (sign-up, changing and resetting the
    # password): Django's Hindi has none, its Marathi lacks the length and says "गुप्तशब्द",
    # and calls a password too like the address "too common".
    # (tests/test_catalogues.py checks that each message here is still Django's or allauth's.)
    gettext_noop("Your password can’t be too similar to your other personal information."),
    ngettext_lazy("Your password must contain at least %(min_length)d character.",
                  "Your password must contain at least %(min_length)d characters.", "min_length"),
    gettext_noop("Your password can’t be a commonly used password."),
    gettext_noop("Your password can’t be entirely numeric."),
    gettext_noop("The password is too similar to the %(verbose_name)s."),
    ngettext_lazy("This password is too short. It must contain at least %d character.",
                  "This password is too short. It must contain at least %d characters."),
    gettext_noop("This password is too common."),
    gettext_noop("This password is entirely numeric."),
]

# allauth has no Hindi or Marathi catalogue: its messages on the pages of a first use
# (signing up and in, confirming the address or the password, setting up and using
# the authenticator app, changing the account's address) come from ours.
ALLAUTH = [
    # Changing and resetting the password (allauth's forms; the pages are copied under
    # templates/account/ so that their own messages are extracted).
    gettext_noop("Current Password"),
    gettext_noop("New Password"),
    gettext_noop("New Password (again)"),
    gettext_noop("Sign In"),
    gettext_noop("If you have not created an account yet, then please %(link)ssign up%(end_link)s first."),
    gettext_noop("Forgot your password?"),
    gettext_noop("Remember Me"),
    gettext_noop("The email address and/or password you specified are not correct."),
    gettext_noop("Successfully signed in as %(name)s."),
    gettext_noop("You have signed out."),
    gettext_noop("Signup"),
    gettext_noop("Sign Up"),
    gettext_noop("Already have an account? Then please %(link)ssign in%(end_link)s."),
    gettext_noop("You must type the same password each time."),
    gettext_noop("Email Verification"),
    gettext_noop("Enter Email Verification Code"),
    gettext_noop("We've sent a code to %(recipient)s. The code expires shortly, so please enter it soon."),
    gettext_noop("Code"),
    gettext_noop("Confirm"),
    gettext_noop("Request new code"),
    gettext_noop("Use a different email address"),
    gettext_noop("Confirm Access"),
    gettext_noop("Please reauthenticate to safeguard your account."),
    gettext_noop("Enter your password:"),
    # The other ways to confirm it is the person (their authenticator, their password).
    gettext_noop("Enter an authenticator code:"),
    gettext_noop("Alternative options"),
    gettext_noop("Use your password"),
    gettext_noop("Use authenticator app or code"),
    gettext_noop("Activate Authenticator App"),
    gettext_noop("To protect your account with two-factor authentication, scan the QR code below with your "
                 "authenticator app. Then, input the verification code generated by the app below."),
    gettext_noop("Authenticator secret"),
    gettext_noop("You can store this secret and use it to reinstall your authenticator app at a later time."),
    gettext_noop("Authenticator code"),
    gettext_noop("Activate"),
    gettext_noop("Incorrect code."),
    gettext_noop("Authenticator app activated."),
    gettext_noop("A new set of recovery codes has been generated."),
    gettext_noop("Two-Factor Authentication"),
    gettext_noop("Your account is protected by two-factor authentication. Please enter an authenticator code:"),
    gettext_noop("Email Address"),
    gettext_noop("Current email"),
    gettext_noop("Changing to"),
    gettext_noop("Change to"),
    gettext_noop("Change Email"),
    gettext_noop("Your email address is still pending verification."),
    gettext_noop("Re-send Verification"),
    gettext_noop("Cancel Change"),
    gettext_noop("Confirmation email sent to %(email)s."),
    # The error messages of allauth's adapters (DefaultAccountAdapter.error_messages and the
    # MFA adapter's), all of them: a test walks both in each language.
    gettext_noop("This account is currently inactive."),
    gettext_noop("You cannot remove your primary email address."),
    gettext_noop("This email address is already associated with this account."),
    gettext_noop("The phone number and/or password you specified are not correct."),
    gettext_noop("A user is already registered with this email address."),
    gettext_noop("Please type your current password."),
    gettext_noop("Incorrect password."),
    gettext_noop("Invalid or expired key."),
    gettext_noop("Invalid login."),
    gettext_noop("The password reset token was invalid."),
    gettext_noop("You cannot add more than %d email addresses."),
    gettext_noop("A user is already registered with this phone number."),
    gettext_noop("Too many failed login attempts. Try again later."),
    gettext_noop("The email address is not assigned to any user account."),
    gettext_noop("The phone number is not assigned to any user account."),
    gettext_noop("Your primary email address must be verified."),
    gettext_noop("Username can not be used. Please use other username."),
    gettext_noop("The username and/or password you specified are not correct."),
    gettext_noop("Please select only one."),
    gettext_noop("The new value must be different from the current one."),
    gettext_noop("Be patient, you are sending too many requests."),
    gettext_noop("You cannot add an email address to an account protected by two-factor authentication."),
    gettext_noop("You cannot deactivate two-factor authentication."),
    gettext_noop("You cannot generate recovery codes without having two-factor authentication enabled."),
    gettext_noop("You cannot activate two-factor authentication until you have verified your email address."),
]

# The messages of allauth's own templates that the portal uses unchanged (password reset and
# change pages, the two-factor, sign-out and inactive account pages, the mails it sends): ours supply their Hindi and Marathi. Listed here, not copied
# as templates, so that an allauth upgrade's templates are the ones rendered.
ALLAUTH_TEMPLATES = [
    gettext_noop('You are receiving this email because you or someone else tried to signup for an\naccount using email address:\n\n%(email)s\n\nHowever, an account using that email address already exists.  In case you have\nforgotten about this, please use the password forgotten procedure to recover\nyour account:\n\n%(password_reset_url)s'),
    gettext_noop('Account Already Exists'),
    gettext_noop("You're receiving this email because user %(user_display)s has given your email address to register an account on %(site_domain)s."),
    gettext_noop('Your email verification code is listed below. Please enter it in your open browser window.'),
    gettext_noop('To confirm this is correct, go to %(activate_url)s'),
    gettext_noop('Please Confirm Your Email Address'),
    gettext_noop("You're receiving this email because you or someone else has requested a password reset for your user account.\nIt can be safely ignored if you did not request a password reset. Click the link below to reset your password."),
    gettext_noop('In case you forgot, your username is %(username)s.'),
    gettext_noop('Password Reset Email'),
    gettext_noop('You are receiving this email because you, or someone else, tried to access an account with email %(email)s. However, we do not have any record of such an account in our database.'),
    gettext_noop('This mail can be safely ignored if you did not initiate this action.'),
    gettext_noop('If it was you, you can sign up for an account using the link below.'),
    gettext_noop('Unknown Account'),
    gettext_noop('Password successfully changed.'),
    gettext_noop('Change Password'),
    gettext_noop('Password Reset'),
    gettext_noop("Forgotten your password? Enter your email address below, and we'll send you an email allowing you to reset it."),
    gettext_noop('Reset My Password'),
    gettext_noop('Please contact us if you have any trouble resetting your password.'),
    gettext_noop('You are already logged in as %(user_display)s.'),  # the reset page, opened signed in
    gettext_noop('We have sent you an email. If you have not received it please check your spam folder. Otherwise contact us if you do not receive it in a few minutes.'),
    gettext_noop('Bad Token'),
    gettext_noop('The password reset link was invalid, possibly because it has already been used.  Please request a <a href="%(passwd_reset_url)s">new password reset</a>.'),
    gettext_noop('Your password is now changed.'),
    # The messages its pages show after an action (account/messages/, mfa/messages/), those
    # of what the portal uses: a test renders each in each language.
    gettext_noop('You cannot remove your primary email address (%(email)s).'),
    gettext_noop('Unable to confirm %(email)s because it is already confirmed by a different account.'),
    gettext_noop('You have confirmed %(email)s.'),
    gettext_noop('Removed email address %(email)s.'),
    gettext_noop('Password successfully set.'),
    gettext_noop('Primary email address set.'),
    gettext_noop('Authenticator app deactivated.'),
    # The two-factor page (mfa/index.html; its panels drawn as the portal's cards by
    # templates/allauth/elements/panel.html), the sign-out page and the inactive account's.
    gettext_noop('Authenticator App'),
    gettext_noop('Authentication using an authenticator app is active.'),
    gettext_noop('An authenticator app is not active.'),
    gettext_noop('Deactivate'),
    gettext_noop('No recovery codes set up.'),
    gettext_noop('View'),
    gettext_noop('Download'),
    gettext_noop('Generate'),
    # The pages its buttons lead to (deactivating the app, a new set of recovery codes).
    gettext_noop('Deactivate Authenticator App'),
    gettext_noop('You are about to deactivate authenticator app based authentication. Are you sure?'),
    gettext_noop('You are about to generate a new set of recovery codes for your account.'),
    gettext_noop('This action will invalidate your existing codes.'),
    gettext_noop('Are you sure?'),  # Django's Marathi has none
    gettext_noop('Sign Out'),
    gettext_noop('Are you sure you want to sign out?'),
    gettext_noop('Account Inactive'),
]
