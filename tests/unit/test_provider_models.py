"""The billing provider and a clinician's provider record: strict input, each rule refused at its
field in words, values normalised, and no SSN in a repr or a validation error's text."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from therabill.providers.models import (
    MAX_CREDENTIALS,
    Address,
    BillingAddress,
    ClinicianProvider,
    IndividualBillingProvider,
    OrganizationBillingProvider,
    TaxId,
    parse_billing_provider,
)

SSN = "418-27-5093"  # no run of its digits appears elsewhere in these bodies


def organization(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "entity": "organization",
        "organization_name": "Harbor Therapy Group",
        "npi": "1234567893",
        "tax_id": {"kind": "ein", "number": "12-3456789"},
        "taxonomy": "193400000x",
        "accepts_assignment": True,
        "address": {
            "lines": ["12 Harbor Street", "Suite 200"],
            "city": "Portland",
            "state": "me",
            "zip": "041011234",
        },
        "contact": {"name": "Dana Reyes", "phone": "(207) 555-0143", "email": "billing@harbor.example"},
    }
    body.update(changes)
    return body


def person(**changes: Any) -> dict[str, Any]:
    body = organization(taxonomy="225X00000X", tax_id={"kind": "ssn", "number": SSN})
    del body["organization_name"]
    body.update(entity="individual", first_name="Ana", last_name="Okafor")
    body.update(changes)
    return body


def problems(data: Any) -> dict[tuple[Any, ...], str]:
    """Where each problem is (after the entity's tag) → its error type."""
    with pytest.raises(ValidationError) as caught:
        parse_billing_provider(data)
    return {tuple(e["loc"][1:]): e["type"] for e in caught.value.errors()}


# -- a valid billing provider, normalised ----------------------------------------------------------


def test_an_organization_is_read_and_normalised() -> None:
    provider = parse_billing_provider(organization())
    assert isinstance(provider, OrganizationBillingProvider)
    assert provider.tax_id.number == "123456789"
    assert provider.tax_id.masked == "12-3456789"
    assert provider.taxonomy == "193400000X"
    assert provider.address.state == "ME"
    assert provider.address.zip == "04101-1234"
    assert provider.address.lines == ["12 Harbor Street", "Suite 200"]
    assert provider.contact.phone == "2075550143"


def test_a_person_bills_under_their_ssn_shown_by_its_last_four() -> None:
    provider = parse_billing_provider(person())
    assert isinstance(provider, IndividualBillingProvider)
    assert (provider.first_name, provider.last_name, provider.middle_name) == ("Ana", "Okafor", None)
    assert provider.tax_id.number == "418275093"
    assert provider.tax_id.masked == "***-**-5093"
    for text in (repr(provider), str(provider)):
        assert "5093" not in text
        assert "418" not in text


def test_a_person_may_bill_under_an_ein() -> None:
    provider = parse_billing_provider(person(tax_id={"kind": "ein", "number": "587654321"}))
    assert provider.tax_id.masked == "58-7654321"


def test_json_input_is_read_in_strict_mode() -> None:
    body = json.dumps(organization(accepts_assignment=False))
    provider = OrganizationBillingProvider.model_validate_json(body)
    assert provider.accepts_assignment is False


def test_a_billing_provider_cannot_be_changed_in_place() -> None:
    provider = parse_billing_provider(organization())
    with pytest.raises(ValidationError):
        provider.npi = "1000000004"  # type: ignore[misc]


# -- each rule at its field --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "where", "kind"),
    [
        ({"npi": "1234567890"}, ("npi",), "npi_check_digit"),
        ({"npi": 1234567893}, ("npi",), "string_type"),
        ({"tax_id": {"kind": "ssn", "number": SSN}}, ("tax_id",), "organization_ein_only"),
        ({"tax_id": {"kind": "ein", "number": "07-1234567"}}, ("tax_id", "number"), "ein_prefix"),
        ({"tax_id": {"kind": "itin", "number": "912-70-1234"}}, ("tax_id", "kind"), "literal_error"),
        ({"taxonomy": "207Q00000X"}, ("taxonomy",), "taxonomy_unknown"),
        ({"taxonomy": "225X0000"}, ("taxonomy",), "taxonomy_shape"),
        ({"accepts_assignment": "true"}, ("accepts_assignment",), "bool_type"),
        ({"accepts_assignment": 1}, ("accepts_assignment",), "bool_type"),
        ({"organization_name": "  "}, ("organization_name",), "empty"),
        ({"organization_name": "x" * 61}, ("organization_name",), "too_long"),
        ({"organization_name": "Harbor\nTherapy"}, ("organization_name",), "control_character"),
        ({"nickname": "Harbor"}, ("nickname",), "extra_forbidden"),
        ({"first_name": "Ana"}, ("first_name",), "extra_forbidden"),
    ],
)
def test_an_organization_is_refused_at_the_field(
    changes: dict[str, Any], where: tuple[str, ...], kind: str
) -> None:
    assert problems(organization(**changes)) == {where: kind}


@pytest.mark.parametrize(
    ("address", "where", "kind"),
    [
        ({"lines": ["PO Box 12"]}, ("address", "lines", 0), "street_address"),
        ({"lines": ["12 Harbor Street", "P.O. Box 12"]}, ("address", "lines", 1), "street_address"),
        ({"lines": ["12 Harbor Street", "Lockbox 7"]}, ("address", "lines", 1), "street_address"),
        ({"lines": []}, ("address", "lines"), "too_short"),
        ({"lines": ["1 A St", "Fl 2", "Rm 3"]}, ("address", "lines"), "too_long"),
        ({"lines": "12 Harbor Street"}, ("address", "lines"), "list_type"),
        ({"lines": ["x" * 56]}, ("address", "lines", 0), "too_long"),
        ({"zip": "04101"}, ("address", "zip"), "zip_plus_4"),
        ({"state": "PW"}, ("address", "state"), "state"),
        ({"city": "x" * 31}, ("address", "city"), "too_long"),
        ({"country": "US"}, ("address", "country"), "extra_forbidden"),
    ],
)
def test_the_billing_address_is_refused_at_the_field(
    address: dict[str, Any], where: tuple[Any, ...], kind: str
) -> None:
    body = organization()
    body["address"] = {**body["address"], **address}
    assert problems(body) == {where: kind}


@pytest.mark.parametrize(
    ("contact", "where", "kind"),
    [
        ({"phone": "555-0143"}, ("contact", "phone"), "phone"),
        ({"phone": "(107) 555-0143"}, ("contact", "phone"), "phone"),
        ({"phone": "(207) 155-0143"}, ("contact", "phone"), "phone"),
        ({"phone": "207-555-0143 ext 4"}, ("contact", "phone"), "phone"),
        ({"email": "billing@harbor"}, ("contact", "email"), "email"),
        ({"email": "billing harbor@example.com"}, ("contact", "email"), "email"),
        ({"name": ""}, ("contact", "name"), "empty"),
        ({"fax": "2075550144"}, ("contact", "fax"), "extra_forbidden"),
    ],
)
def test_the_billing_contact_is_refused_at_the_field(
    contact: dict[str, Any], where: tuple[Any, ...], kind: str
) -> None:
    body = organization()
    body["contact"] = {**body["contact"], **contact}
    assert problems(body) == {where: kind}


@pytest.mark.parametrize(
    "phone", ["207-555-0143", "207.555.0143", "+1 207 555 0143", "12075550143", "2075550143"]
)
def test_a_phone_number_in_any_usual_writing_is_its_ten_digits(phone: str) -> None:
    body = organization()
    body["contact"] = {**body["contact"], "phone": phone}
    assert parse_billing_provider(body).contact.phone == "2075550143"


@pytest.mark.parametrize(
    ("changes", "where", "kind"),
    [
        ({"taxonomy": "193200000X"}, ("taxonomy",), "taxonomy_not_individual"),
        ({"taxonomy": "261QM0801X"}, ("taxonomy",), "taxonomy_not_individual"),
        ({"tax_id": {"kind": "ssn", "number": "666-45-6789"}}, ("tax_id", "number"), "ssn_area"),
        ({"tax_id": {"kind": "ssn", "number": "123-00-6789"}}, ("tax_id", "number"), "ssn_group"),
        ({"tax_id": {"kind": "ssn", "number": "12-3456789"}}, ("tax_id", "number"), "ssn_shape"),
        ({"first_name": "x" * 36}, ("first_name",), "too_long"),
        ({"organization_name": "Harbor"}, ("organization_name",), "extra_forbidden"),
    ],
)
def test_a_person_is_refused_at_the_field(changes: dict[str, Any], where: tuple[str, ...], kind: str) -> None:
    assert problems(person(**changes)) == {where: kind}


def test_a_person_needs_a_first_and_last_name() -> None:
    body = person()
    del body["first_name"], body["last_name"]
    assert problems(body) == {("first_name",): "missing", ("last_name",): "missing"}


def test_the_entity_picks_the_shape() -> None:
    body = organization()
    del body["entity"]
    with pytest.raises(ValidationError) as caught:
        parse_billing_provider(body)
    assert [e["type"] for e in caught.value.errors()] == ["union_tag_not_found"]
    with pytest.raises(ValidationError) as caught:
        parse_billing_provider(organization(entity="group"))
    assert [e["type"] for e in caught.value.errors()] == ["union_tag_invalid"]


def test_no_ssn_in_a_validation_errors_text() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_billing_provider(organization(tax_id={"kind": "ssn", "number": SSN}))
    assert "5093" not in str(caught.value)
    with pytest.raises(ValidationError) as caught:
        TaxId.model_validate({"kind": "ssn", "number": "666-27-5093"})
    assert "27-5093" not in str(caught.value)
    assert "5093" not in str(caught.value)
    assert "5093" not in repr(TaxId(kind="ssn", number=SSN))


def test_any_us_address_takes_a_box_and_a_five_digit_zip() -> None:
    address = Address.model_validate(
        {"lines": ["PO Box 12"], "city": "Portland", "state": "ME", "zip": "04101"}
    )
    assert (address.lines, address.zip) == (["PO Box 12"], "04101")
    with pytest.raises(ValidationError):
        BillingAddress.model_validate(address.model_dump())


# -- a clinician's provider record -------------------------------------------------------------


def clinician(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "clinician_id": "user-ana",
        "rendering_npi": "1245319599",
        "taxonomy": "1041c0700x",
        "credentials": ["LCSW", "Ph.D."],
        "supervisor_id": "user-bo",
    }
    body.update(changes)
    return body


def test_a_clinicians_record_is_read_and_normalised() -> None:
    record = ClinicianProvider.model_validate(clinician())
    assert record.taxonomy == "1041C0700X"
    assert record.credentials == ["LCSW", "Ph.D."]
    bare = ClinicianProvider.model_validate(clinician(credentials=[], supervisor_id=None))
    assert (bare.credentials, bare.supervisor_id) == ([], None)
    minimal = {k: v for k, v in clinician().items() if k not in ("credentials", "supervisor_id")}
    assert ClinicianProvider.model_validate(minimal).credentials == []
    # A self-pay practice keeps a record for supervision alone: no NPI, no taxonomy.
    supervision_only = ClinicianProvider.model_validate(
        {"clinician_id": "user-ana", "supervisor_id": "user-bo"}
    )
    assert (supervision_only.rendering_npi, supervision_only.taxonomy) == (None, None)


@pytest.mark.parametrize(
    ("changes", "where", "kind"),
    [
        ({"rendering_npi": "1245319598"}, ("rendering_npi",), "npi_check_digit"),
        ({"taxonomy": "193400000X"}, ("taxonomy",), "taxonomy_not_individual"),
        ({"taxonomy": "207Q00000X"}, ("taxonomy",), "taxonomy_unknown"),
        ({"credentials": ["LCSW", "lcsw"]}, ("credentials",), "credential_repeated"),
        ({"credentials": ["PhD", "Ph.D."]}, ("credentials",), "credential_repeated"),
        ({"credentials": ["M.S. CCC-SLP"]}, ("credentials", 0), "credential"),
        ({"credentials": ["1LCSW"]}, ("credentials", 0), "credential"),
        ({"credentials": ["x" * 21]}, ("credentials", 0), "credential"),
        ({"credentials": [f"C{n}" for n in range(MAX_CREDENTIALS + 1)]}, ("credentials",), "too_long"),
        ({"supervisor_id": "user-ana"}, ("supervisor_id",), "supervisor_is_clinician"),
        ({"supervisor_id": "user ana"}, ("supervisor_id",), "staff_id"),
        ({"clinician_id": ""}, ("clinician_id",), "staff_id"),
        ({"license": "12345"}, ("license",), "extra_forbidden"),
    ],
)
def test_a_clinicians_record_is_refused_at_the_field(
    changes: dict[str, Any], where: tuple[Any, ...], kind: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        ClinicianProvider.model_validate(clinician(**changes))
    assert {tuple(e["loc"]): e["type"] for e in caught.value.errors()} == {where: kind}


def test_credentials_as_written_after_a_name_are_accepted() -> None:
    credentials = ["OTR/L", "CCC-SLP", "BCBA-D", "LPC-S", "MS", "M.Ed.", "PsyD", "LMFT", "CF-SLP", "R&D"]
    assert ClinicianProvider.model_validate(clinician(credentials=credentials)).credentials == credentials


def test_what_a_store_writes_reads_back_the_same() -> None:
    for body in (organization(), person(middle_name="Ife")):
        provider = parse_billing_provider(body)
        assert parse_billing_provider(provider.model_dump()) == provider
        assert parse_billing_provider(json.loads(provider.model_dump_json())) == provider
    record = ClinicianProvider.model_validate(clinician())
    assert ClinicianProvider.model_validate(record.model_dump()) == record
