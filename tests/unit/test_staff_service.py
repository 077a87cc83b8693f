"""The staff rules, against moto's table and the fake directory: one member per email in a
practice, the owner who cannot be the last to go, an idempotent first owner, the per-request
check."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from devstack.resources import table_definition
from moto import mock_aws

from tests.fakes.fake_directory import FakeDirectory, FakeNotices
from therabill.adapters.dynamo import Table
from therabill.core.errors import InvalidRequestError
from therabill.core.ids import new_id
from therabill.staff.errors import (
    EmailUnavailableError,
    LastOwnerError,
    StaffChangedError,
    StaffEmailTakenError,
    StaffRefusedError,
)
from therabill.staff.models import StaffMember
from therabill.staff.service import StaffService
from therabill.staff.store import StaffStore

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def directory() -> FakeDirectory:
    return FakeDirectory()


@pytest.fixture
def notices() -> FakeNotices:
    return FakeNotices()


@pytest.fixture
def staff(dynamodb_client: Any, directory: FakeDirectory, notices: FakeNotices) -> Iterator[StaffService]:
    with mock_aws():
        dynamodb_client.create_table(**table_definition("staff"))
        yield StaffService(
            store=StaffStore(Table(dynamodb_client, "staff")),
            directory=directory,
            notices=notices,
            clock=lambda: NOW,
        )


PRC = new_id("prc")


def _signed_in(staff: StaffService, member: StaffMember) -> StaffMember:
    """The member after their first request (an owner counts from then on)."""
    assert member.sub is not None
    return staff.authenticate(member.practice_id, member.id, member.sub)


def test_an_invitation_makes_an_invited_member_with_its_user(
    staff: StaffService, directory: FakeDirectory
) -> None:
    m = staff.invite(PRC, email=" Biller@Example.TEST ", name="Bea", role="biller")
    assert (m.email, m.role, m.status) == ("biller@example.test", "biller", "invited")
    assert m.sub == directory.users[m.id].sub
    assert staff.get(PRC, m.id) == m
    assert [x.id for x in staff.list_members(PRC)] == [m.id]


def test_one_member_per_email_in_a_practice_but_another_practice_may_have_it(staff: StaffService) -> None:
    staff.invite(PRC, email="a@p.test", name="A", role="biller")
    with pytest.raises(StaffEmailTakenError):
        staff.invite(PRC, email="A@P.test", name="A again", role="clinician")
    other = new_id("prc")
    assert staff.invite(other, email="a@p.test", name="A", role="biller").practice_id == other


def test_an_unknown_role_is_refused_and_nothing_written(staff: StaffService) -> None:
    with pytest.raises(InvalidRequestError):
        staff.invite(PRC, email="a@p.test", name="A", role="admin")
    assert staff.list_members(PRC) == []


def test_an_invitation_the_directory_refuses_leaves_nothing_behind(
    staff: StaffService, directory: FakeDirectory
) -> None:
    directory.invalid_emails.add("taken@p.test")
    with pytest.raises(EmailUnavailableError):
        staff.invite(PRC, email="taken@p.test", name="T", role="owner")
    assert staff.list_members(PRC) == []
    directory.invalid_emails.clear()
    assert staff.invite(PRC, email="taken@p.test", name="T", role="biller").status == "invited"
    # the discarded owner was never counted: this one, once signed in, is the only owner
    owner = _signed_in(staff, staff.invite(PRC, email="o@p.test", name="O", role="owner"))
    with pytest.raises(LastOwnerError):
        staff.change_role(PRC, owner.id, "biller")


def test_the_first_owner_is_made_once_however_often_retried(
    staff: StaffService, directory: FakeDirectory
) -> None:
    directory.fail_next_create = True
    with pytest.raises(TimeoutError):
        staff.create_owner(PRC, "Owner@P.test", "Olive")
    first = staff.create_owner(PRC, "owner@p.test", "Olive")
    again = staff.create_owner(PRC, "owner@p.test", "Olive")
    assert first == again and first.sub is not None
    assert len(directory.users) == 1 and len(staff.list_members(PRC)) == 1
    _signed_in(staff, first)
    with pytest.raises(LastOwnerError):
        staff.remove(PRC, first.id)


def test_the_list_is_oldest_first_with_the_sign_ups_owner_first(dynamodb_client: Any) -> None:
    """The first owner's id is derived (not time-sortable): the list orders by when each was made."""
    ticks = iter(datetime(2026, 12, 1, 10, minute, tzinfo=UTC) for minute in range(10))
    with mock_aws():
        dynamodb_client.create_table(**table_definition("staff"))
        staff = StaffService(
            store=StaffStore(Table(dynamodb_client, "staff")),
            directory=FakeDirectory(),
            notices=FakeNotices(),
            clock=lambda: next(ticks),
        )
        practice = "prc_01m91c1rmb9fd3g9bgqwweyhw7"
        owner = staff.create_owner(practice, "o@p.test", "Olive")
        biller = staff.invite(practice, email="b@p.test", name="Bea", role="biller")
        desk = staff.invite(practice, email="d@p.test", name="Dee", role="front_desk")
        assert owner.id > biller.id  # by id alone the owner would come last
        assert [m.id for m in staff.list_members(practice)] == [owner.id, biller.id, desk.id]


def test_the_last_owner_cannot_be_demoted_disabled_or_removed(staff: StaffService) -> None:
    owner = _signed_in(staff, staff.create_owner(PRC, "o@p.test", "O"))
    for act in (
        lambda: staff.change_role(PRC, owner.id, "biller"),
        lambda: staff.disable(PRC, owner.id),
        lambda: staff.remove(PRC, owner.id),
    ):
        with pytest.raises(LastOwnerError):
            act()
    assert staff.get(PRC, owner.id) == owner


def test_with_a_second_owner_one_may_go_and_a_disabled_owner_does_not_count(staff: StaffService) -> None:
    a = _signed_in(staff, staff.create_owner(PRC, "a@p.test", "A"))
    b = _signed_in(staff, staff.invite(PRC, email="b@p.test", name="B", role="owner"))
    assert staff.disable(PRC, b.id).status == "disabled"
    with pytest.raises(LastOwnerError):
        staff.change_role(PRC, a.id, "biller")
    assert staff.enable(PRC, b.id).status == "active"
    assert staff.change_role(PRC, a.id, "biller").role == "biller"
    with pytest.raises(LastOwnerError):
        staff.remove(PRC, b.id)


def test_removal_signs_out_deletes_the_user_and_frees_the_email(
    staff: StaffService, directory: FakeDirectory
) -> None:
    staff.create_owner(PRC, "o@p.test", "O")
    m = staff.invite(PRC, email="x@p.test", name="X", role="front_desk")
    gone = staff.remove(PRC, m.id)
    assert gone.status == "removed" and m.id not in directory.users
    assert staff.list_members(PRC)[0].role == "owner" and len(staff.list_members(PRC)) == 1
    assert staff.remove(PRC, m.id).status == "removed"  # again: nothing more to do
    with pytest.raises(StaffChangedError):
        staff.enable(PRC, m.id)
    assert staff.invite(PRC, email="x@p.test", name="X", role="biller").id != m.id


def test_disabling_signs_the_user_out_everywhere(staff: StaffService, directory: FakeDirectory) -> None:
    staff.create_owner(PRC, "o@p.test", "O")
    m = staff.invite(PRC, email="x@p.test", name="X", role="biller")
    staff.disable(PRC, m.id)
    assert directory.users[m.id].enabled is False and directory.users[m.id].sign_outs == 1
    staff.enable(PRC, m.id)
    assert directory.users[m.id].enabled is True


def test_a_role_change_moves_the_directory_claim(staff: StaffService, directory: FakeDirectory) -> None:
    staff.create_owner(PRC, "o@p.test", "O")
    m = staff.invite(PRC, email="x@p.test", name="X", role="biller")
    assert staff.update(PRC, m.id, role="clinician", name="Xavier").name == "Xavier"
    assert directory.users[m.id].role == "clinician"


def test_the_per_request_check(staff: StaffService) -> None:
    staff.create_owner(PRC, "o@p.test", "O")
    m = staff.invite(PRC, email="x@p.test", name="X", role="biller")
    assert m.sub is not None
    with pytest.raises(StaffRefusedError):
        staff.authenticate(PRC, m.id, "someone-else")
    with pytest.raises(StaffRefusedError):
        staff.authenticate(new_id("prc"), m.id, m.sub)
    first = staff.authenticate(PRC, m.id, m.sub)
    assert (first.status, first.activated_at) == ("active", NOW)
    staff.disable(PRC, m.id)
    with pytest.raises(StaffRefusedError):
        staff.authenticate(PRC, m.id, m.sub)
    assert staff.enable(PRC, m.id).status == "active"  # had signed in before
    staff.remove(PRC, m.id)
    with pytest.raises(StaffRefusedError):
        staff.authenticate(PRC, m.id, m.sub)


def test_two_owners_demoted_at_once_leave_one_owner(staff: StaffService, dynamodb_client: Any) -> None:
    """Both demotions read two owners; the count written with each change lets only one through."""
    a = _signed_in(staff, staff.create_owner(PRC, "a@p.test", "A"))
    b = _signed_in(staff, staff.invite(PRC, email="b@p.test", name="B", role="owner"))
    store = StaffStore(Table(dynamodb_client, "staff"))
    store.replace(a, a.model_copy(update={"role": "biller"}))
    with pytest.raises(LastOwnerError):
        store.replace(b, b.model_copy(update={"role": "biller"}))
    assert staff.get(PRC, b.id).role == "owner"


def test_an_invitation_whose_request_died_before_recording_the_sub_is_finished_by_the_first_sign_in(
    staff: StaffService, directory: FakeDirectory, dynamodb_client: Any
) -> None:
    """The user was made and mailed, then the request died before the member's sub was written:
    the invitee's first request (their token names this member) records it and acts."""
    m = staff.invite(PRC, email="late@p.test", name="Lee", role="biller")
    store = StaffStore(Table(dynamodb_client, "staff"))
    dynamodb_client.update_item(
        TableName="staff",
        Key={"PK": {"S": f"P#{PRC}"}, "SK": {"S": f"STAFF#{m.id}"}},
        UpdateExpression="REMOVE #sub",
        ExpressionAttributeNames={"#sub": "sub"},
    )
    assert store.get(PRC, m.id).sub is None
    sub = directory.users[m.id].sub
    acting = staff.authenticate(PRC, m.id, sub)
    assert (acting.sub, acting.status) == (sub, "active")
    with pytest.raises(StaffRefusedError):  # from now on only that user is this member
        staff.authenticate(PRC, m.id, "another-user")


# -- members with no sign-in ------------------------------------------------------------------------
def test_a_member_with_no_sign_in_has_no_user_and_never_counts_as_an_owner(
    staff: StaffService, directory: FakeDirectory
) -> None:
    owner = _signed_in(staff, staff.create_owner(PRC, "o@p.test", "Olga"))
    rae = staff.add_without_sign_in(PRC, name=" Dr Rae ")
    assert (rae.name, rae.email, rae.role, rae.status, rae.sub) == (
        "Dr Rae",
        None,
        "clinician",
        "active",
        None,
    )
    assert rae.id not in directory.users and not rae.counts_as_owner
    with pytest.raises(InvalidRequestError):
        staff.add_without_sign_in(PRC, name="O", role="owner")
    with pytest.raises(InvalidRequestError):
        staff.update(PRC, rae.id, role="owner")
    with pytest.raises(LastOwnerError):  # the only owner who can act stays one
        staff.update(PRC, owner.id, role="biller")
    with pytest.raises(StaffRefusedError):  # no token names a member with no user
        staff.authenticate(PRC, rae.id, "")
    # The same derived id twice: the member made first, read back.
    sid = new_id("stf")
    first = staff.add_without_sign_in(PRC, name="Dr Ada", staff_id=sid)
    assert staff.add_without_sign_in(PRC, name="Other", staff_id=sid) == first
    removed = staff.remove(PRC, rae.id)
    assert removed.status == "removed"


def test_an_invitation_later_refused_by_the_directory_leaves_the_member_as_it_was(
    staff: StaffService, directory: FakeDirectory
) -> None:
    rae = staff.add_without_sign_in(PRC, name="Dr Rae")
    directory.invalid_emails.add("taken@p.test")
    with pytest.raises(EmailUnavailableError):
        staff.invite_later(PRC, rae.id, "taken@p.test")
    back = staff.get(PRC, rae.id)
    assert (back.email, back.status, back.sub) == (None, "active", None)
    assert staff.by_email(PRC, "taken@p.test") is None
    # The directory not answering: undone alike, and the retry invites them.
    directory.fail_next_create = True
    with pytest.raises(TimeoutError):
        staff.invite_later(PRC, rae.id, "rae@p.test")
    assert staff.get(PRC, rae.id).email is None
    invited = staff.invite_later(PRC, rae.id, " Rae@P.test ")
    assert (invited.email, invited.status) == ("rae@p.test", "invited")
    assert invited.sub == directory.users[rae.id].sub
    assert staff.by_email(PRC, "rae@p.test") == invited
    assert staff.invite_later(PRC, rae.id, "rae@p.test") == invited  # the request retried: the same
    with pytest.raises(StaffChangedError):  # signs in already: no second invitation
        staff.invite_later(PRC, rae.id, "other@p.test")


def test_an_owner_who_never_signed_in_does_not_keep_the_practice_owned(staff: StaffService) -> None:
    """Only an owner who has signed in counts: the last one who has cannot leave the practice to
    an invitation nobody may accept; once the invitee signs in, either may go."""
    a = _signed_in(staff, staff.create_owner(PRC, "a@p.test", "A"))
    b = staff.invite(PRC, email="b@p.test", name="B", role="owner")
    with pytest.raises(LastOwnerError):
        staff.disable(PRC, a.id)
    _signed_in(staff, b)
    assert staff.disable(PRC, a.id).status == "disabled"


def test_an_address_that_signs_in_elsewhere_is_told_privately_and_the_inviter_sees_an_invitation(
    staff: StaffService, directory: FakeDirectory, notices: FakeNotices
) -> None:
    directory.refused_emails.add("taken@p.test")
    kept = staff.invite(PRC, email="Taken@p.test", name="T", role="biller")
    fresh = staff.invite(PRC, email="new@p.test", name="N", role="biller")
    # The inviter's answer has the same shape as any other invitation's: an invited member.
    assert (kept.status, fresh.status) == ("invited", "invited")
    assert notices.registered == [(PRC, "taken@p.test")]
    assert kept.sub is None and "taken@p.test" not in {u.email for u in directory.users.values()}
    assert staff.by_email(PRC, "taken@p.test") == kept  # the email guard holds it: no duplicate
    # No user was made, so no token can name the member; the owner may remove them as anyone.
    assert staff.remove(PRC, kept.id).status == "removed"
    assert staff.by_email(PRC, "taken@p.test") is None


def test_a_member_invited_later_at_an_address_that_signs_in_elsewhere_is_kept_invited(
    staff: StaffService, directory: FakeDirectory, notices: FakeNotices
) -> None:
    rae = staff.add_without_sign_in(PRC, name="Dr Rae")
    directory.refused_emails.add("taken@p.test")
    invited = staff.invite_later(PRC, rae.id, "taken@p.test")
    assert (invited.email, invited.status, invited.sub) == ("taken@p.test", "invited", None)
    # The same request again: the same member, the address told again (the notice is sent once a
    # day by its own key), and once the address is free the retry makes the user.
    directory.refused_emails.clear()
    assert staff.invite_later(PRC, rae.id, "taken@p.test").sub is not None
    assert notices.registered == [(PRC, "taken@p.test")]
