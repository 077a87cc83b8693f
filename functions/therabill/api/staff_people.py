"""Staff routes for the practice's people: invite by email with a role, list, change role or
name, disable, enable, remove (included by api/staff.py). Owner only. The practice is always the
caller's: no id sent can reach another practice's staff."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from therabill.api import audit_trail
from therabill.api.auth import Caller
from therabill.api.deps import container
from therabill.api.documents import answers, no_content
from therabill.api.params import StaffId
from therabill.api.staff_common import caller, removed
from therabill.api.staff_people_models import StaffInvitation, StaffInvite, StaffOut, StaffUpdate
from therabill.audit.models import Action
from therabill.staff.models import StaffMember

router = APIGatewayRouter()


def _owner() -> Caller:
    who = caller(router)
    who.require("staff:manage")
    return who


def _out(m: StaffMember) -> StaffOut:
    return StaffOut(
        id=m.id,
        email=m.email,
        name=m.name,
        role=m.role,
        status=m.status,
        created_at=m.created_at,
        activated_at=m.activated_at,
        sign_in=m.signs_in,
        version=m.version,
    )


@router.get("/staff", responses=answers({200: "The practice's staff (removed members left out)."}, 403))
def list_staff() -> list[StaffOut]:
    """The practice's staff members, oldest first. Owner only."""
    who = _owner()
    return [_out(m) for m in container().staff.list_members(who.practice_id)]


@router.post(
    "/staff",
    status_code=201,
    responses=answers(
        {201: "The new member: invited (the invitation is on its way), or active with no sign-in."},
        403,
        409,
        429,
    ),
)
def invite_staff(body: Annotated[StaffInvite, Body()]) -> StaffOut:
    """Invite someone by email with a role: they get an email to sign in. With ``sign_in`` false,
    a member who never signs in (no email; a clinician the practice books sessions for; not an
    owner): active at once, invited later with POST /staff/{staff_id}/invitation. Owner only. An
    email a member of this practice has already: 409. An address with a sign-in elsewhere is
    answered like any other (the address alone is told, privately). A practice sends at most 30 invitations a
    day and an address receives at most 3 a day from all practices: past either, 429 with
    Retry-After."""
    who = _owner()
    staff = container().staff
    if body.email is None:
        member = staff.add_without_sign_in(who.practice_id, name=body.name, role=body.role)
    else:
        member = staff.invite(who.practice_id, email=body.email, name=body.name, role=body.role)
    audit_trail.staff_changed(router, Action.STAFF_INVITE, member)
    return _out(member)


@router.post(
    "/staff/<staff_id>/invitation",
    responses=answers({200: "The member, invited (the invitation is on its way)."}, 403, 404, 409, 429),
)
def invite_existing_staff(staff_id: StaffId, body: Annotated[StaffInvitation, Body()]) -> StaffOut:
    """Invite a member who has no sign-in by email: they get the invitation and are ``invited``
    (their role stays). The same request again while they are invited: the same member. A member
    who signs in already, or is disabled or removed: 409; an email a member of this practice has
    already: 409. Owner only."""
    who = _owner()
    member = container().staff.invite_later(who.practice_id, staff_id, body.email)
    audit_trail.staff_changed(router, Action.STAFF_INVITE, member)
    return _out(member)


@router.get("/staff/<staff_id>", responses=answers({200: "The member (a removed one too)."}, 403))
def get_staff(staff_id: StaffId) -> StaffOut:
    """One staff member. Owner only."""
    who = _owner()
    return _out(container().staff.get(who.practice_id, staff_id))


@router.patch(
    "/staff/<staff_id>",
    responses=answers({200: "The member as changed (the role holds from their next request)."}, 403, 409),
)
def update_staff(staff_id: StaffId, body: Annotated[StaffUpdate, Body()]) -> StaffOut:
    """Change a member's role or name. The last owner cannot be demoted (409). Owner only."""
    who = _owner()
    member = container().staff.update(who.practice_id, staff_id, role=body.role, name=body.name)
    audit_trail.staff_changed(router, Action.STAFF_CHANGE, member)
    return _out(member)


@router.post("/staff/<staff_id>/disable", responses=answers({200: "The member, disabled."}, 403, 409))
def disable_staff(staff_id: StaffId) -> StaffOut:
    """The member may not sign in or make requests (from their next request), and is signed out
    everywhere. The last owner cannot be disabled (409). Owner only."""
    who = _owner()
    member = container().staff.disable(who.practice_id, staff_id)
    audit_trail.staff_changed(router, Action.STAFF_DISABLE, member)
    return _out(member)


@router.post("/staff/<staff_id>/enable", responses=answers({200: "The member, enabled again."}, 403, 409))
def enable_staff(staff_id: StaffId) -> StaffOut:
    """A disabled member may sign in again. A removed one cannot come back (409). Owner only."""
    who = _owner()
    member = container().staff.enable(who.practice_id, staff_id)
    audit_trail.staff_changed(router, Action.STAFF_ENABLE, member)
    return _out(member)


@router.delete(
    "/staff/<staff_id>", status_code=204, responses=answers({204: no_content("Removed.")}, 403, 409)
)
def remove_staff(staff_id: StaffId) -> Response[str]:
    """Remove a member for good (their sign-in is deleted, they are signed out everywhere; records
    still name them). The last owner cannot be removed (409). Owner only."""
    who = _owner()
    member = container().staff.remove(who.practice_id, staff_id)
    audit_trail.staff_changed(router, Action.STAFF_REMOVE, member)
    return removed()
