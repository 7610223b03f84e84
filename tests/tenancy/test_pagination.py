"""Pages of long lists (tenancy/pagination.py): Next and Previous by key walk every row exactly once
in order, ties on the sort columns included; counts stop at the cap and say "more than"; a mangled
link shows the first page; the same queries run whether the list is empty or full."""

import base64
import json

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from contracts.models import Participant
from invitations.models import InvitationCode
from tenancy.pagination import Total, capped_count, keyset_page, numbered_page

from ..conftest import owner_connection
from ..factories import CodeFactory, ContractFactory, ParticipantFactory

pytestmark = pytest.mark.django_db

BY_NAME = ("last_name", "first_name", "id")


@pytest.fixture
def contract(tenant):
    return ContractFactory(tenant=tenant)


def people(contract, names):
    return [
        ParticipantFactory(contract=contract, last_name=last, first_name=first, email=f"person{n}@example.com")
        for n, (last, first) in enumerate(names)
    ]


def walk(rows, *, order, per_page, direction="next_query", start=""):
    """Every page from ``start`` on, following ``direction``: a list of pages of ids."""
    pages, query = [], start
    while True:
        page = keyset_page(rows, order=order, per_page=per_page, params=QueryDict(query.lstrip("?")))
        pages.append([row.pk for row in page.rows])
        query = getattr(page, direction)
        if not query:
            return pages, page


def test_next_walks_every_row_once_in_order_even_where_names_repeat(contract):
    # Many people share a surname, and some a whole name: the id breaks the tie.
    names = [(last, first) for last in ("Bakker", "Jansen", "de Vries") for first in ("Anna", "Anna", "Bas", "Eva")]
    made = people(contract, names * 2)
    rows = Participant.objects.filter(contract=contract)
    expected = [p.pk for p in sorted(made, key=lambda p: (p.last_name, p.first_name, p.pk))]

    pages, last = walk(rows, order=BY_NAME, per_page=5)

    assert [pk for page in pages for pk in page] == expected
    assert [len(page) for page in pages] == [5, 5, 5, 5, 4]
    assert not last.next_query and last.previous_query


def test_previous_walks_back_over_the_same_pages(contract):
    people(contract, [(f"Name{n % 4}", f"First{n % 3}") for n in range(23)])
    rows = Participant.objects.filter(contract=contract)
    forward, last = walk(rows, order=BY_NAME, per_page=5)

    backward, first = walk(rows, order=BY_NAME, per_page=5, direction="previous_query", start=last.previous_query)

    assert backward == forward[-2::-1]
    assert not first.previous_query and first.next_query


def test_a_descending_key_pages_newest_first(tenant):
    made = CodeFactory.create_batch(7, price__contract=ContractFactory(tenant=tenant))

    pages, _ = walk(InvitationCode.objects.all(), order=("-id",), per_page=3)

    assert pages == [[c.pk for c in made[::-1][i : i + 3]] for i in (0, 3, 6)]


def test_the_links_keep_the_other_parameters_and_drop_a_page_number(contract):
    people(contract, [("Smith", "A"), ("Smith", "B"), ("Smith", "C")])
    rows = Participant.objects.filter(contract=contract)

    page = keyset_page(rows, order=BY_NAME, per_page=2, params=QueryDict("q=smith&page=4"))

    assert page.next_query.startswith("?q=smith&after=") and "page=" not in page.next_query


@pytest.mark.parametrize(
    "key", ["", "!!", "bm90IGpzb24", "e30", "WzFd", "WyJhIiwiYiJd", "WyJhIiwiYiIsIngiXQ", "WyJhIiwiYiIsbnVsbF0"]
)
def test_a_key_that_is_not_one_of_this_list_shows_the_first_page(contract, key):
    # Not base64 / not JSON / {} / [1] / two values / an id that is no number / a null.
    made = people(contract, [("Adams", "Ann"), ("Brown", "Bob")])

    page = keyset_page(
        Participant.objects.filter(contract=contract), order=BY_NAME, per_page=5, params=QueryDict(f"after={key}")
    )

    assert [p.pk for p in page.rows] == [p.pk for p in made]


def test_an_empty_list_and_a_full_one_take_the_same_queries(contract):
    rows = Participant.objects.filter(contract=contract)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            keyset_page(rows, order=BY_NAME, per_page=5, params=QueryDict())
            capped_count(rows)
        return len(captured)

    empty = queries()
    people(contract, [(f"Name{n}", "X") for n in range(12)])

    assert queries() == empty == 2


def test_a_count_stops_at_the_cap_and_says_more_than(contract):
    people(contract, [(f"Name{n}", "X") for n in range(4)])
    rows = Participant.objects.filter(contract=contract)

    assert capped_count(rows, cap=3) == Total(3, more=True)
    assert capped_count(rows, cap=4) == Total(4)
    assert (str(Total(10_000, more=True)), Total(10_000, more=True).short) == ("more than 10,000", "10,000+")
    assert (str(Total(1234)), Total(1234).short) == ("1,234", "1,234")


@pytest.mark.parametrize(("asked", "shown"), [("1", 1), ("3", 3), ("4", 3), ("0", 1), ("x", 1), ("", 1)])
def test_numbered_pages_stay_within_the_list(contract, asked, shown):
    made = people(contract, [(f"Name{n:02d}", "X") for n in range(7)])
    rows = Participant.objects.filter(contract=contract).order_by("last_name", "id")

    page = numbered_page(rows, count=7, per_page=3, params=QueryDict(f"page={asked}"))

    assert page.number == shown and page.num_pages == 3
    assert [p.pk for p in page.rows] == [p.pk for p in made[(shown - 1) * 3 : shown * 3]]
    assert bool(page.next_query) == (shown < 3) and bool(page.previous_query) == (shown > 1)


def test_several_querysets_page_as_their_union_each_row_once(contract):
    made = people(contract, [(f"Name{n:02d}", "X") for n in range(20)])
    rows = Participant.objects.filter(contract=contract)
    evens, firsts = rows.filter(pk__in=[p.pk for p in made[::2]]), rows.filter(pk__in=[p.pk for p in made[:7]])
    expected = [p.pk for n, p in enumerate(made) if n % 2 == 0 or n < 7]  # 13 people, 4 in both

    # Merged pages sort in Python, so by numbers (the codes list's "-id"), never by text.
    pages, last = walk([evens, firsts], order=("id",), per_page=4)
    back, _ = walk([evens, firsts], order=("id",), per_page=4, direction="previous_query", start=last.previous_query)

    assert [pk for page in pages for pk in page] == expected
    assert back == pages[-2::-1]


@pytest.mark.parametrize(
    "values",
    [
        ["a", "b", float("inf")],  # Infinity: an integer field would overflow
        ["a", "b", 1e400],
        ["a", "b", 1.5],
        ["a", "b", True],
        ["a\x00", "b", 1],  # PostgreSQL refuses NUL in text
    ],
)
def test_a_key_with_values_no_link_carries_shows_the_first_page(contract, values):
    made = people(contract, [("Adams", "Ann"), ("Brown", "Bob")])
    token = base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")

    page = keyset_page(
        Participant.objects.filter(contract=contract), order=BY_NAME, per_page=5, params=QueryDict(f"after={token}")
    )

    assert [p.pk for p in page.rows] == [p.pk for p in made]


@pytest.fixture
def names_sorted_by_locale():
    """Altering a table is the owner's (the suite runs as the app role): done and undone outside the test."""
    column = "ALTER TABLE contracts_participant ALTER COLUMN last_name TYPE varchar(150) COLLATE "
    with owner_connection() as owner:
        owner.execute(column + '"en-US-x-icu"')
        try:
            yield
        finally:
            owner.execute(column + '"default"')


@pytest.mark.django_db(transaction=True)
def test_pages_follow_the_databases_collation_not_pythons(names_sorted_by_locale, contract):
    """Production databases often sort text by locale ("apple" before "Banana"), where Python
    compares code points: the pages must follow the database, every row once."""
    made = people(contract, [(("a" if n % 2 else "B") + f"{n:02d}", "X") for n in range(13)])

    pages, _ = walk(Participant.objects.filter(contract=contract), order=BY_NAME, per_page=4)

    seen = [pk for page in pages for pk in page]
    assert sorted(seen) == sorted(p.pk for p in made)  # each row exactly once
    assert seen == list(Participant.objects.filter(contract=contract).order_by(*BY_NAME).values_list("pk", flat=True))


def test_merged_pages_refuse_text_sort_keys(contract):
    rows = Participant.objects.filter(contract=contract)
    with pytest.raises(ValueError):
        keyset_page([rows, rows], order=BY_NAME, per_page=5, params=QueryDict())
