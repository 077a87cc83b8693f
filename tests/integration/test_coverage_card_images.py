"""Pictures of a client's insurance card: a signed form uploads one straight to the private
documents bucket (S3's POST policy holds the key, the type and the size), the newest of each side
is shown through a short-lived signed link, removal deletes them; other practices, other roles and
bad input are refused; each read and change is audited with ids only."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlparse

import pytest
import requests

from tests.integration import scenario
from tests.integration.conftest import World
from tests.integration.test_audit_trail import records


@pytest.fixture
def coverage(world: World) -> tuple[scenario.Practice, str, str]:
    practice = scenario.create_practice(world, connect=False)
    client = scenario.create_client(world, practice, billing_type="insurance")
    status, added = world.staff(
        "POST", f"/clients/{client['id']}/coverage", dict(scenario.COVERAGE), practice_id=practice.id
    )
    assert status == 201, added
    return practice, str(client["id"]), str(added["id"])


def _path(cid: str, cov: str, tail: str = "") -> str:
    return f"/clients/{cid}/coverage/{cov}/card-images{tail}"


def _upload(form: dict[str, Any], body: bytes, content_type: str) -> requests.Response:
    """What a browser or phone app does with the form: a multipart POST straight to storage."""
    return requests.post(
        form["url"], data=form["fields"], files={"file": ("card", body, content_type)}, timeout=5
    )


def _objects(world: World) -> list[str]:
    s3 = world.session.client("s3")
    out = s3.list_objects_v2(Bucket=world.resources.documents_bucket, Prefix="card-images/")
    return [o["Key"] for o in out.get("Contents", [])]


def _versions(world: World) -> list[str]:
    s3 = world.session.client("s3")
    out = s3.list_object_versions(Bucket=world.resources.documents_bucket, Prefix="card-images/")
    return [v["Key"] for v in [*out.get("Versions", []), *out.get("DeleteMarkers", [])]]


def test_a_picture_is_uploaded_with_the_signed_form_then_shown_and_removed(
    world: World, coverage: tuple[scenario.Practice, str, str]
) -> None:
    practice, cid, cov = coverage
    status, form = world.staff(
        "POST", _path(cid, cov), {"side": "front", "content_type": "image/jpeg"}, practice_id=practice.id
    )
    assert status == 201, form
    key = form["fields"]["key"]
    assert key.startswith(f"card-images/{practice.id}/{cid}/{cov}/front/") and key.endswith(".jpg")
    assert form["fields"]["Content-Type"] == "image/jpeg"
    assert _upload(form, b"\xff\xd8\xff front of the card", "image/jpeg").status_code == 204
    assert _objects(world) == [key]

    status, shown = world.staff("GET", _path(cid, cov), practice_id=practice.id)
    assert status == 200 and [(p["side"], p["content_type"], p["size"]) for p in shown] == [
        ("front", "image/jpeg", 21)
    ]
    link = urlparse(shown[0]["url"])
    assert link.path.endswith(key) and "Signature" in link.query and "Expires" in link.query
    assert requests.get(shown[0]["url"], timeout=5).content == b"\xff\xd8\xff front of the card"

    # The form takes only what it was signed for (S3 enforces its policy; moto does not): this key,
    # this type, 1 byte to 10 MiB, for ten minutes.
    policy = json.loads(base64.b64decode(form["fields"]["policy"]))
    assert {"key": key} in policy["conditions"] and {"Content-Type": "image/jpeg"} in policy["conditions"]
    assert ["content-length-range", 1, 10 * 1024 * 1024] in policy["conditions"]
    assert policy["expiration"].startswith(form["expires_at"][:16])

    # A second picture of the front replaces the first as the one shown; removal deletes both and
    # every version of each (the bucket keeps versions: a plain delete would only hide them).
    status, again = world.staff(
        "POST", _path(cid, cov), {"side": "front", "content_type": "image/png"}, practice_id=practice.id
    )
    assert status == 201 and _upload(again, b"\x89PNG newer", "image/png").status_code == 204
    status, shown = world.staff("GET", _path(cid, cov), practice_id=practice.id)
    assert [(p["side"], p["content_type"], p["size"]) for p in shown] == [("front", "image/png", 10)]
    assert world.staff("DELETE", _path(cid, cov, "/front"), practice_id=practice.id)[0] == 204
    assert _objects(world) == [] and _versions(world) == []
    assert world.staff("GET", _path(cid, cov), practice_id=practice.id) == (200, [])
    actions = [r["action"]["S"] for r in records(world, practice.id)]
    assert actions.count("coverage.card.read") == 2 and actions.count("coverage.card.change") == 3
    assert all(key not in str(r) for r in records(world, practice.id))  # ids, never the object


def test_other_practices_other_roles_and_bad_input_are_refused(
    world: World, coverage: tuple[scenario.Practice, str, str]
) -> None:
    practice, cid, cov = coverage
    other = scenario.create_practice(world, connect=False)
    good = {"side": "back", "content_type": "image/png"}
    assert world.staff("POST", _path(cid, cov), good, practice_id=other.id)[0] == 404
    assert world.staff("GET", _path(cid, cov), practice_id=other.id)[0] == 404
    assert world.staff("POST", _path(cid, cov), good, practice_id=practice.id, role="clinician")[0] == 403
    for bad in (
        {"side": "middle", "content_type": "image/png"},
        {"side": "back", "content_type": "text/html"},
        {"side": "back", "content_type": "image/png", "key": "card-images/x"},
        {"side": "back"},
    ):
        status, refused = world.staff("POST", _path(cid, cov), bad, practice_id=practice.id)
        assert status == 400, (bad, refused)
    assert world.staff("DELETE", _path(cid, cov, "/middle"), practice_id=practice.id)[0] == 400
    assert world.staff("POST", _path(cid, "cov_missing"), good, practice_id=practice.id)[0] == 404
    assert _objects(world) == []


def test_a_removed_coverage_takes_no_picture_and_storage_trouble_is_a_503(
    world: World, coverage: tuple[scenario.Practice, str, str]
) -> None:
    practice, cid, cov = coverage
    good = {"side": "front", "content_type": "image/jpeg"}
    s3 = world.container.card_images._storage._client  # the adapter's own client
    s3.delete_bucket(Bucket=world.resources.documents_bucket)  # storage gone: every call fails
    status, refused = world.staff("GET", _path(cid, cov), practice_id=practice.id)
    assert status == 503 and "pictures" in refused["message"], refused
    assert world.staff("DELETE", f"/clients/{cid}/coverage/{cov}", practice_id=practice.id)[0] == 204
    status, refused = world.staff("POST", _path(cid, cov), good, practice_id=practice.id)
    assert status == 409 and "removed" in refused["message"], refused
