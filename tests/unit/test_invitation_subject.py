"""The invitation's subject names the practice and always fits Cognito's 140-character limit."""

from __future__ import annotations

from therabill.signup.invitation import SUBJECT_LIMIT, invitation_subject


def test_a_short_practice_name_is_whole() -> None:
    assert (
        invitation_subject("Harbor Speech Therapy") == "You're invited to Harbor Speech Therapy on Therabill"
    )


def test_the_longest_practice_name_is_shortened_to_fit() -> None:
    name = (
        "Harbor Speech, Occupational and Physical Therapy for Children and Families of the Greater Bay "
        + "x" * 40
    )
    assert len(name) == 134
    subject = invitation_subject(name)
    assert len(subject) == SUBJECT_LIMIT
    assert subject.startswith("You're invited to Harbor Speech, Occupational") and subject.endswith(
        "… on Therabill"
    )


def test_a_name_that_just_fits_is_not_shortened() -> None:
    room = SUBJECT_LIMIT - len("You're invited to  on Therabill")
    name = "P" * room
    assert invitation_subject(name) == f"You're invited to {name} on Therabill"
