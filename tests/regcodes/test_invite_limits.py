"""How many learners one "Email invitations" action takes: 500 typed into the box, 10,000 from an
uploaded CSV (the bulk path is set-based, docs/benchmarks.md); more is refused with a clear message."""

from django.core.files.uploadedfile import SimpleUploadedFile

from regcodes.forms_portal import (
    MAX_ADDRESSES,
    MAX_CSV_ADDRESSES,
    TOO_MANY_ADDRESSES,
    InviteLearnersForm,
)


def csv_of(count: int) -> SimpleUploadedFile:
    rows = "\n".join(f"learner{n}@example.com" for n in range(count))
    return SimpleUploadedFile("learners.csv", f"email\n{rows}\n".encode(), content_type="text/csv")


def form(*, typed: str = "", upload=None) -> InviteLearnersForm:
    return InviteLearnersForm({"addresses": typed, "message": ""}, {"csv_file": upload} if upload else {})


def test_a_csv_may_hold_more_addresses_than_the_box_takes():
    invite = form(upload=csv_of(MAX_ADDRESSES + 100))

    assert invite.is_valid(), invite.errors
    assert len(invite.cleaned_data["addresses"]) == MAX_ADDRESSES + 100


def test_a_csv_of_ten_thousand_addresses_is_taken_whole():
    invite = form(upload=csv_of(MAX_CSV_ADDRESSES))

    assert invite.is_valid(), invite.errors
    assert invite.cleaned_data["addresses"][-1] == f"learner{MAX_CSV_ADDRESSES - 1}@example.com"


def test_a_csv_with_more_rows_than_allowed_is_refused_with_the_limit_named():
    invite = form(upload=csv_of(MAX_CSV_ADDRESSES + 1))

    assert not invite.is_valid()
    assert f"more than {MAX_CSV_ADDRESSES:,} rows" in " ".join(invite.errors["csv_file"])


def test_typing_more_than_the_box_takes_points_to_the_csv():
    invite = form(typed="\n".join(f"p{n}@example.com" for n in range(MAX_ADDRESSES + 1)))

    assert not invite.is_valid()
    assert invite.errors["addresses"] == [TOO_MANY_ADDRESSES] and "CSV" in TOO_MANY_ADDRESSES


def test_an_address_typed_and_also_in_the_csv_is_named_once_as_twice():
    invite = form(typed="learner3@example.com", upload=csv_of(5))

    assert not invite.is_valid()
    assert "learner3@example.com" in " ".join(invite.errors["addresses"])
