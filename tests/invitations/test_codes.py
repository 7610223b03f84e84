"""invitations.codes: drawing code text, forgiving what people type, showing it, and how guessable it is."""

from collections import Counter

import pytest

from invitations import codes

LOOK_ALIKES = set("ILOU")


# Drawing


@pytest.mark.parametrize("width", [codes.MIN_WIDTH, codes.DEFAULT_WIDTH, codes.MAX_WIDTH])
def test_a_draw_gives_as_many_codes_as_asked_each_of_the_asked_width(width):
    drawn = codes.draw(250, width)

    assert len(drawn) == 250
    assert {len(code) for code in drawn} == {width}


def test_drawn_codes_use_only_the_alphabet_and_never_a_look_alike():
    symbols = set("".join(codes.draw(2_000, 20)))

    assert symbols <= set(codes.ALPHABET)
    assert not symbols & LOOK_ALIKES


def test_the_alphabet_has_32_symbols_none_of_which_look_alike():
    assert len(set(codes.ALPHABET)) == len(codes.ALPHABET) == 32
    assert not set(codes.ALPHABET) & LOOK_ALIKES


def test_every_symbol_turns_up_about_equally_often():
    counts = Counter("".join(codes.draw(4_000, 16)))  # 64,000 symbols: 2,000 of each expected

    assert set(counts) == set(codes.ALPHABET)
    assert all(1_600 < n < 2_400 for n in counts.values()), counts


def test_many_draws_are_unique():
    drawn = codes.draw(100_000, codes.DEFAULT_WIDTH)

    assert len(set(drawn)) == len(drawn)


def test_two_draws_differ():
    assert codes.draw(10, 10) != codes.draw(10, 10)


def test_a_drawn_code_is_well_formed_and_stays_the_same_when_normalised():
    for code in codes.draw(500, 12):
        assert codes.is_well_formed(code)
        assert codes.normalise(code) == code


# What people type


@pytest.mark.parametrize(
    "typed",
    [
        "ACME7KD0QX2M1F",
        "acme7kd0qx2m1f",
        "ACME-7KD0Q-X2M1F",
        " acme 7kd0q  x2m1f ",
        "acme_7kd0q.x2m1f",
        "Acme-7KD0Q-X2M1F\n",
        "acme-7kdoq-x2mif",  # o for 0, i for 1
        "ACME 7KDOQ X2MLF",  # O for 0, L for 1
    ],
    ids=lambda typed: typed.strip().replace(" ", "_") or "blank",
)
def test_normalise_forgives_case_spaces_hyphens_and_look_alikes(typed):
    assert codes.normalise(typed) == "ACME7KD0QX2M1F"


def test_normalise_of_nothing_is_empty():
    assert codes.normalise("") == ""
    assert codes.normalise(None) == ""
    assert codes.normalise(" - - ") == ""


@pytest.mark.parametrize("typed", ["ACME7KD0QX2M1F!", "ACMEU7KD0QX2M", "ÄCME7KD0QX2M", "ACME;DROP"])
def test_text_with_symbols_outside_the_alphabet_is_not_well_formed(typed):
    assert not codes.is_well_formed(codes.normalise(typed))


def test_empty_or_overlong_text_is_not_well_formed():
    assert not codes.is_well_formed("")
    assert codes.is_well_formed("7" * 40)
    assert not codes.is_well_formed("7" * 41)


# Showing


@pytest.mark.parametrize(
    "code, prefix, shown",
    [
        ("ACME7KD9QX2MF4", "ACME", "ACME-7KD9Q-X2MF4"),
        ("ACME7KD9QX", "ACME", "ACME-7KD9Q-X"),
        ("PQ7KD9QX2MF4ABCDEFGH", "PQ", "PQ-7KD9Q-X2MF4-ABCDE-FGH"),
        ("7KD9QX2MF4", "", "7KD9Q-X2MF4"),
        ("ZZZZZZZZZZ", "ACME", "ZZZZZ-ZZZZZ"),  # an edited text without the prefix shows no prefix
    ],
)
def test_display_groups_the_code_by_five_after_the_prefix(code, prefix, shown):
    assert codes.display(code, prefix) == shown


def test_a_displayed_code_typed_back_in_lower_case_is_the_code():
    for body in codes.draw(200, 13):
        code = "ACME" + body
        assert codes.normalise(codes.display(code, "ACME").lower()) == code


# How guessable


def test_guess_odds_count_five_bits_per_symbol():
    odds = codes.guess_odds(width=10, issued=1, attempts_per_hour=20)

    assert odds["bits"] == 50
    assert odds["space"] == 32**10
    assert odds["hours_to_first_hit"] == pytest.approx(32**10 / 20)


def hours(width, issued):
    return codes.guess_odds(width=width, issued=issued, attempts_per_hour=20)["hours_to_first_hit"]


def test_wider_codes_take_longer_to_guess_and_more_live_codes_shorter():
    assert hours(6, 1_000) < hours(8, 1_000) < hours(10, 1_000) < hours(20, 1_000)
    assert hours(10, 100_000) < hours(10, 100) < hours(10, 1)
    assert hours(10, 100) == pytest.approx(32**10 / 100 / 20)


def test_no_codes_issued_counts_as_one_and_more_codes_than_space_is_a_sure_hit():
    assert codes.guess_odds(width=6, issued=0, attempts_per_hour=10) == codes.guess_odds(
        width=6, issued=1, attempts_per_hour=10
    )
    assert codes.guess_odds(width=6, issued=32**6 * 2, attempts_per_hour=10)["hours_to_first_hit"] == pytest.approx(0.1)


@pytest.mark.parametrize(
    "hours, said",
    [
        (0, "less than an hour"),
        (0.5, "less than an hour"),
        (5.4, "about 5 hours"),
        (48, "about 2 days"),
        (24 * 365 * 3, "about 3 years"),
        (24 * 365 * 12_345, "about 12,345 years"),
        (24 * 365 * 2.5e6, "about 2.5e+06 years"),
    ],
)
def test_describe_hours_says_it_in_the_largest_unit(hours, said):
    assert codes.describe_hours(hours) == said


@pytest.mark.parametrize("hours, said", [(1, "about 1 hour"), (30, "about 1 day"), (24 * 365, "about 1 year")])
def test_one_of_a_unit_is_said_in_the_singular(hours, said):
    assert codes.describe_hours(hours) == said


def test_the_default_width_is_ten_and_below_it_is_warned_about():
    assert (codes.MIN_WIDTH, codes.MAX_WIDTH) == (6, 20)
    assert codes.DEFAULT_WIDTH == codes.WARN_BELOW_WIDTH == 10
