"""An organisation's status page (its status now, since when, by whom and why, and the
changes so far) and the pages that suspend and reactivate it, each a confirmation page that
says what the change does and who is told, and asks the reason and a note. For a superadmin
and the administrators of its state (portal.permissions: may_change_organisation_status);
404 for anyone else with such a role, 403 for everyone else. The services
(organisation_suspend, organisation_reactivate) ask it again and refuse what the pages
would not offer."""

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import TextChoices
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from portal.access import rule
from portal.organisations.forms import OrganisationMoveForm, OrganisationStatusForm
from portal.organisations.models import (
    Organisation,
    OrganisationStatus,
    ReactivationReason,
    StatusAsIf,
    SuspensionReason,
    ended,
)
from portal.organisations.selectors import LeftWithoutAdmin
from portal.organisations.services import (
    OrganisationNotActive,
    OrganisationStatusUnchanged,
    organisation_move,
    organisation_reactivate,
    organisation_suspend,
    status_change_refusal,
    status_change_shown,
)
from portal.organisations.states import JURISDICTION_CHOICES
from portal.organisations.status_selectors import (
    DETAILS_HISTORY_LIMIT,
    STATUS_HISTORY_LIMIT,
    current_status,
    details_history,
    domains_no_longer_its,
    domains_of,
    members_count,
    members_off_domains_count,
    move_effect,
    move_leaves_without_admin,
    move_shown,
    offices_below_count,
    organisation_for_status_change,
    status_change_above,
    status_change_told,
    status_history,
)
from portal.permissions import AnyUser, is_superadmin
from portal.shown import ChangedMeanwhile, shown_digest, shown_sent
from portal.text import before_full_stop


@rule("organisation_status")
@require_http_methods(["GET"])
def status(request, pk):
    organisation = organisation_for_status_change(request.user, pk)
    history = status_history(organisation)
    # Its members verified before a domain was removed (from it or from one above it) who keep
    # an address there, for its admins (or a superadmin) to check; only a superadmin, of those
    # who see this page, opens its members list.
    off_domains = domains_no_longer_its(organisation)
    return render(request, "portal/organisations/status.html", {
        "organisation": organisation, "history": history, "current": current_status(organisation, history),
        "jurisdiction": dict(JURISDICTION_CHOICES)[organisation.jurisdiction], "limit": STATUS_HISTORY_LIMIT,
        "details_history": details_history(organisation), "details_limit": DETAILS_HISTORY_LIMIT,
        "domains": domains_of(organisation), "may_remove_domains": is_superadmin(request.user),
        "may_move": is_superadmin(request.user),
        "members_off_domains": members_off_domains_count(organisation, off_domains),
    })


@dataclass(frozen=True)
class _Page:
    to: str
    reasons: type[TextChoices]
    service: object
    title: Promise  # "%(organisation)s" in it
    done: Promise
    changed_meanwhile: Promise


_PAGES = {
    "suspend": _Page(OrganisationStatus.SUSPENDED, SuspensionReason, organisation_suspend,
                     gettext_lazy("Suspend %(organisation)s"),
                     gettext_lazy("%(organisation)s was suspended."),
                     gettext_lazy("Since this page was opened, what suspending it does has changed: nothing was done. "
                                  "Read what it does now, then confirm again.")),
    "reactivate": _Page(OrganisationStatus.ACTIVE, ReactivationReason, organisation_reactivate,
                        gettext_lazy("Reactivate %(organisation)s"),
                        gettext_lazy("%(organisation)s was reactivated."),
                        gettext_lazy("Since this page was opened, what reactivating it does has changed: nothing was "
                                     "done. Read what it does now, then confirm again.")),
}


def _change(request, pk, action):
    organisation = organisation_for_status_change(request.user, pk)
    page = _PAGES[action]
    back = redirect("organisations:status", pk=organisation.pk)
    refusal = status_change_refusal(organisation, page.to)
    if refusal is not None:  # changed meanwhile (another tab, another administrator), or pending
        messages.info(request, refusal.message)
        return back
    form = OrganisationStatusForm(request.POST if request.method == "POST" else None, reasons=page.reasons)
    if form.is_bound and form.is_valid():
        try:
            page.service(organisation_id=organisation.pk, reason_code=form.cleaned_data["reason_code"],
                         reason=form.cleaned_data["reason"], actor=request.user, request=request,
                         shown=shown_sent(request.POST))
        except OrganisationStatusUnchanged as exc:
            messages.info(request, exc.message)
            return back
        except ChangedMeanwhile:
            form.add_error(None, ValidationError(page.changed_meanwhile, code="changed_meanwhile"))
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, page.done % {"organisation": before_full_stop(organisation.name)})
            return back
    # Those the change tells, as they are once it is made (an admin above whose role rests on it acts for it only
    # while it is active).
    as_if = StatusAsIf(organisation.pk, page.to)
    told = [one for one in status_change_told(organisation, as_if=as_if) if one.user.pk != request.user.pk]
    # Departments above it whose only admins rest on verifications in it: left with nobody acting for
    # them (a suspension), or given their admin back (a reactivation); and the admins above it whose
    # role rests on a verification in it, which stops counting, or counts again: said before it is done.
    above = status_change_above(organisation, page.to)
    departments = _acting_but(above.departments, request.user)
    # Each told by mail, but the one who changes it (the page tells them).
    held = [(address, names) for address, names in above.held.items() if address != request.user.email]
    # Sent back with the confirmation: the service refuses it if what the page says has changed by then.
    shown = status_change_shown(above.departments, above.held, [one.user.email for one in told])
    return render(request, "portal/organisations/status_change.html", {
        "organisation": organisation, "form": form, "action": action,
        "title": page.title % {"organisation": organisation.name},
        "told": told, "departments": departments, "held": held,
        "others_told": bool(held) or any(entry.acting for entry in departments),
        "shown_values": shown, "offices_below": offices_below_count(organisation),
        "members": members_count(organisation),
    })


@rule("organisation_status")
@require_http_methods(["GET", "POST"])
def suspend(request, pk):
    return _change(request, pk, "suspend")


@rule("organisation_status")
@require_http_methods(["GET", "POST"])
def reactivate(request, pk):
    return _change(request, pk, "reactivate")


@rule("superadmin")
@require_http_methods(["GET", "POST"])
def move(request, pk):
    """Its state and the organisation above it: the form, then (``step`` "review") the
    confirmation of what the move gives and takes, then ("save", the box ticked) the move."""
    organisation = get_object_or_404(Organisation.objects.select_related("parent"), pk=pk)
    back = redirect("organisations:status", pk=organisation.pk)
    if organisation.status == OrganisationStatus.PENDING:
        messages.info(request, _("%(organisation)s is not active yet: its application, which is still being decided, "
                                 "says where it belongs.") % {"organisation": before_full_stop(organisation.name)})
        return back
    form = OrganisationMoveForm(request.POST if request.method == "POST" else None, organisation=organisation)
    step = request.POST.get("step")
    changed_meanwhile = False
    if form.is_bound and form.is_valid():
        if form.changes_nothing():
            form.add_error(None, ValidationError(
                _("Nothing to move: its state and the organisation above it are as they are already."), code="unchanged"))
        elif step != "edit":
            state, parent = form.cleaned_data["state"], form.parent
            if step == "save" and not form.cleaned_data.get("confirm"):
                form.confirm_refused()
            elif step == "save":
                try:
                    organisation_move(organisation_id=organisation.pk, state=state,
                                      parent_id=parent.pk if parent else None, reason=form.cleaned_data["reason"],
                                      actor=request.user, request=request, shown=shown_sent(request.POST))
                except ChangedMeanwhile:
                    organisation.refresh_from_db()
                    changed_meanwhile = True
                except OrganisationNotActive as refused:
                    messages.info(request, refused.message)
                    return back
                except (PermissionDenied, ValidationError) as refused:  # taken meanwhile (a parent suspended)
                    form.add_error(None, refused if isinstance(refused, ValidationError) else str(refused))
                    return render(request, "portal/organisations/move.html", {"organisation": organisation,
                                                                              "form": form})
                else:
                    messages.success(request, _("%(organisation)s was moved.")
                                     % {"organisation": before_full_stop(organisation.name)})
                    return back
            effect = move_effect(organisation, state=state, parent=parent)
            labels = dict(JURISDICTION_CHOICES)
            # The roles the move ends now (one past its end date is only recorded as expired, and
            # nobody is told of it), whose holders are mailed, and whoever acts for an
            # organisation they leave with no admin; not the one moving it: they know.
            ending = [role for role in effect.admin_roles_ending if not ended(role.ends_at)]
            left = _acting_but(move_leaves_without_admin(ending), request.user)
            return render(request, "portal/organisations/move_confirm.html", {
                "organisation": organisation, "form": form, "effect": effect, "parent": parent,
                "old_jurisdiction": labels[effect.old_jurisdiction], "new_jurisdiction": labels[effect.new_jurisdiction],
                **_move_told_groups([one for one in effect.told if one.user.pk != request.user.pk]),
                "told_roles_ending": [role for role in ending if role.user_id != request.user.pk],
                "left_without_admin": left, "left_told": any(entry.acting for entry in left),
                "shown_values": shown_digest(move_shown(effect)), "changed_meanwhile": changed_meanwhile,
            })
    return render(request, "portal/organisations/move.html", {"organisation": organisation, "form": form})


def _acting_but(left: list[LeftWithoutAdmin], viewer: AnyUser) -> list[LeftWithoutAdmin]:
    """The organisations left without an admin, each with those who act for it instead less
    ``viewer``: the page tells the one making the change, who is not mailed."""
    return [entry._replace(acting=[(user, by) for user, by in entry.acting if user.pk != viewer.pk]) for entry in left]


def _move_told_groups(told: list) -> dict:
    """Those a move tells (move_told, less the one moving it), as its confirmation page names
    them: its own admins; or those who acted for it (``told_losing``) and those who act for it
    from now (``told_gaining``), each with the names of the organisations they act from
    (none: superadmins)."""
    def names(ones: list) -> str:
        return ", ".join(dict.fromkeys(one.above.name for one in ones if one.above is not None))

    losing = [one for one in told if not one.own and not one.gains]
    gaining = [one for one in told if one.gains]
    return {"told": told, "told_own": [one for one in told if one.own], "told_losing": losing,
            "told_gaining": gaining, "losing_above": names(losing), "gaining_above": names(gaining)}
