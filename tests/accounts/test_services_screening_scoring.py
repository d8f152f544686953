"""Scoring of EPDS, PHQ-9 and GAD-7 against their published rules, item by item and band by band.

The expected tables below are written out from the publications, not read from
accounts/screening.py, so a mistake there (a reverse-scored item added the wrong way round, a
band boundary off by one) fails here:

- EPDS (Cox, Holden & Sagovsky 1987): items 1, 2 and 4 score 0, 1, 2, 3 down the printed
  options; items 3 and 5-10 score 3, 2, 1, 0. Total 0-30.
- PHQ-9 (Kroenke, Spitzer & Williams 2001): 0-3 per item; 0-4 minimal, 5-9 mild, 10-14
  moderate, 15-19 moderately severe, 20-27 severe.
- GAD-7 (Spitzer et al. 2006): 0-3 per item; 0-4 minimal, 5-9 mild, 10-14 moderate, 15-21 severe.
"""

import datetime

import pytest
from django.core.exceptions import ValidationError

from accounts.models import ScreeningInstrument
from accounts.screening import EPDS, GAD7, INSTRUMENTS, PHQ9, change_since, perinatal_week, score, week_label

EPDS_FORWARD = {1, 2, 4}
EPDS_REVERSED = {3, 5, 6, 7, 8, 9, 10}
EPDS_OPTIONS = {
    1: ("As much as I always could", "Not quite so much now", "Definitely not so much now", "Not at all"),
    2: ("As much as I ever did", "Rather less than I used to", "Definitely less than I used to", "Hardly at all"),
    3: ("Yes, most of the time", "Yes, some of the time", "Not very often", "No, never"),
    4: ("No, not at all", "Hardly ever", "Yes, sometimes", "Yes, very often"),
    5: ("Yes, quite a lot", "Yes, sometimes", "No, not much", "No, not at all"),
    6: (
        "Yes, most of the time I haven't been able to cope at all",
        "Yes, sometimes I haven't been coping as well as usual",
        "No, most of the time I have coped quite well",
        "No, I have been coping as well as ever",
    ),
    7: ("Yes, most of the time", "Yes, sometimes", "Not very often", "No, not at all"),
    8: ("Yes, most of the time", "Yes, quite often", "Not very often", "No, not at all"),
    9: ("Yes, most of the time", "Yes, quite often", "Only occasionally", "No, never"),
    10: ("Yes, quite often", "Sometimes", "Hardly ever", "Never"),
}
EPDS_BANDS = [(0, 9, "low"), (10, 12, "possible"), (13, 30, "likely")]
PHQ9_BANDS = [
    (0, 4, "minimal"),
    (5, 9, "mild"),
    (10, 14, "moderate"),
    (15, 19, "moderately_severe"),
    (20, 27, "severe"),
]
GAD7_BANDS = [(0, 4, "minimal"), (5, 9, "mild"), (10, 14, "moderate"), (15, 21, "severe")]


def published_epds_points(number: int, position: int) -> int:
    return position if number in EPDS_FORWARD else 3 - position


def published_points(instrument, number: int, position: int) -> int:
    return published_epds_points(number, position) if instrument is EPDS else position


def zero_answers(instrument) -> dict[int, int]:
    """The option that scores 0 on every item, found from the published rules."""
    return {
        item.number: next(p for p in range(4) if published_points(instrument, item.number, p) == 0)
        for item in instrument.items
    }


def answers_totalling(instrument, total: int) -> dict[int, int]:
    """Answers whose published points add up to `total` (the early items carry the points)."""
    answers, left = {}, total
    for item in instrument.items:
        points = min(3, left)
        left -= points
        answers[item.number] = next(p for p in range(4) if published_points(instrument, item.number, p) == points)
    assert left == 0
    return answers


def test_the_instruments_have_their_published_length_and_range():
    assert [len(EPDS.items), len(PHQ9.items), len(GAD7.items)] == [10, 9, 7]
    assert [EPDS.max_total, PHQ9.max_total, GAD7.max_total] == [30, 27, 21]
    assert set(INSTRUMENTS) == set(ScreeningInstrument.values)


def test_epds_options_are_listed_as_published():
    assert {item.number: item.options for item in EPDS.items} == EPDS_OPTIONS
    assert {item.number for item in EPDS.items if item.reverse_scored} == EPDS_REVERSED


@pytest.mark.parametrize("number", range(1, 11))
@pytest.mark.parametrize("position", range(4))
def test_every_epds_item_and_option_scores_as_published(number, position):
    answers = zero_answers(EPDS)
    answers[number] = position
    result = score(EPDS, answers)
    assert result.total == published_epds_points(number, position)
    assert EPDS.item(number).scores[position] == published_epds_points(number, position)


def test_epds_reverse_scored_items_score_three_for_their_first_option():
    for number in EPDS_REVERSED:
        answers = zero_answers(EPDS)
        answers[number] = 0
        assert score(EPDS, answers).total == 3, number
    for number in EPDS_FORWARD:
        answers = zero_answers(EPDS)
        answers[number] = 0
        assert score(EPDS, answers).total == 0, number


def test_epds_all_first_options_and_all_last_options():
    assert score(EPDS, dict.fromkeys(range(1, 11), 0)).total == 3 * len(EPDS_REVERSED)  # 21
    assert score(EPDS, dict.fromkeys(range(1, 11), 3)).total == 3 * len(EPDS_FORWARD)  # 9


@pytest.mark.parametrize("instrument", [PHQ9, GAD7], ids=["phq9", "gad7"])
def test_every_phq9_and_gad7_item_and_option_scores_its_position(instrument):
    for item in instrument.items:
        assert item.options == ("Not at all", "Several days", "More than half the days", "Nearly every day")
        for position in range(4):
            answers = zero_answers(instrument)
            answers[item.number] = position
            assert score(instrument, answers).total == position


@pytest.mark.parametrize(
    ("instrument", "bands"),
    [(EPDS, EPDS_BANDS), (PHQ9, PHQ9_BANDS), (GAD7, GAD7_BANDS)],
    ids=["epds", "phq9", "gad7"],
)
def test_every_total_falls_in_its_published_band(instrument, bands):
    expected = {total: key for low, high, key in bands for total in range(low, high + 1)}
    assert sorted(expected) == list(range(instrument.max_total + 1))
    for total in range(instrument.max_total + 1):
        result = score(instrument, answers_totalling(instrument, total))
        assert (result.total, result.band.key) == (total, expected[total])
        assert instrument.band_for(total).key == expected[total]
    for band in instrument.bands:
        assert "diagnos" not in band.meaning.lower()  # plain words; the page says it is not a diagnosis


@pytest.mark.parametrize(("position", "urgent"), [(0, True), (1, True), (2, True), (3, False)])
def test_epds_item_10_above_zero_is_urgent(position, urgent):
    answers = zero_answers(EPDS)
    answers[10] = position
    result = score(EPDS, answers)
    assert result.urgent is urgent
    assert result.urgent_reasons == (("item:10",) if urgent else ())


def test_epds_item_10_hardly_ever_scores_one_and_is_urgent():
    position = EPDS.item(10).options.index("Hardly ever")
    answers = zero_answers(EPDS)
    answers[10] = position
    result = score(EPDS, answers)
    assert (result.total, result.band.key, result.urgent) == (1, "low", True)


@pytest.mark.parametrize("position", range(4))
def test_phq9_item_9_above_zero_is_urgent(position):
    answers = zero_answers(PHQ9)
    answers[9] = position
    assert score(PHQ9, answers).urgent is (position > 0)


def test_urgent_totals_and_gad7_never_urgent_by_total():
    epds_19 = {**answers_totalling(EPDS, 19), 10: 3}  # item 10 "Never"; 19 points from items 1-7
    assert score(EPDS, epds_19).total == 19 and not score(EPDS, epds_19).urgent
    epds_20 = {**answers_totalling(EPDS, 20), 10: 3}
    assert score(EPDS, epds_20).urgent_reasons == ("total",)
    phq_19, phq_20 = answers_totalling(PHQ9, 19), answers_totalling(PHQ9, 20)  # item 9 stays 0
    assert phq_19[9] == phq_20[9] == 0
    assert score(PHQ9, phq_19).total == 19 and not score(PHQ9, phq_19).urgent
    assert score(PHQ9, phq_20).urgent_reasons == ("total",)
    assert not score(GAD7, dict.fromkeys(range(1, 8), 3)).urgent


@pytest.mark.parametrize(
    "answers",
    [
        dict.fromkeys(range(1, 10), 0),  # question 10 missing
        {**dict.fromkeys(range(1, 10), 0), 10: 4},  # no fifth option
        {**dict.fromkeys(range(1, 10), 0), 10: -1},
        {**dict.fromkeys(range(1, 10), 0), 10: "often"},
        {**dict.fromkeys(range(1, 12), 0)},  # a question 11 the scale does not have
    ],
    ids=["missing", "too-high", "negative", "not-a-number", "extra-item"],
)
def test_incomplete_or_invalid_answers_are_never_scored(answers):
    with pytest.raises(ValidationError):
        score(EPDS, answers)


def test_answers_may_come_keyed_by_strings_as_a_form_posts_them():
    assert score(GAD7, {str(n): 1 for n in range(1, 8)}).total == 7


def test_perinatal_week_counts_pregnancy_from_the_due_date_and_postpartum_from_the_birth():
    today = datetime.date(2026, 6, 1)
    due = today + datetime.timedelta(days=140)
    assert perinatal_week(stage="pregnant", due_date=due, birth_date=None, on=today) == 20
    assert perinatal_week(stage="pregnant", due_date=today, birth_date=None, on=today) == 40
    assert (
        perinatal_week(stage="pregnant", due_date=today - datetime.timedelta(days=60), birth_date=None, on=today) == 42
    )
    assert (
        perinatal_week(stage="pregnant", due_date=today + datetime.timedelta(days=300), birth_date=None, on=today)
        is None
    )
    assert perinatal_week(stage="pregnant", due_date=None, birth_date=None, on=today) is None
    birth = today - datetime.timedelta(days=43)
    assert perinatal_week(stage="postpartum", due_date=None, birth_date=birth, on=today) == 6
    assert (
        perinatal_week(stage="postpartum", due_date=None, birth_date=today + datetime.timedelta(days=1), on=today)
        is None
    )
    assert perinatal_week(stage="loss", due_date=due, birth_date=birth, on=today) is None
    assert week_label("pregnant", 20) == "Week 20 of pregnancy"
    assert week_label("postpartum", 1) == "1 week after birth"
    assert week_label("postpartum", 6) == "6 weeks after birth"
    assert week_label("other", None) == ""


class _Result:
    def __init__(self, total, band, day):
        self.total, self.band = total, band
        self.taken_at = datetime.datetime(2026, 5, day, 12, tzinfo=datetime.UTC)


def test_what_changed_since_last_time_in_plain_words():
    assert change_since(EPDS, previous=None, current=_Result(8, "low", 9)) == ""
    assert change_since(EPDS, previous=_Result(11, "possible", 2), current=_Result(8, "low", 9)) == (
        "3 points lower than last time (11 on 2 May). "
        "That moves it from \u201cSome signs of depression\u201d to \u201cFew signs of depression\u201d."
    )
    assert change_since(EPDS, previous=_Result(8, "low", 2), current=_Result(9, "low", 9)) == (
        "1 point higher than last time (8 on 2 May)."
    )
    assert change_since(EPDS, previous=_Result(8, "low", 2), current=_Result(8, "low", 9)) == (
        "The same score as last time (2 May)."
    )
