"""Validated screening questionnaires and their published scoring rules.

Three instruments, written out here from their published forms and scored exactly as their
authors score them:

- EPDS, the Edinburgh Postnatal Depression Scale: Cox JL, Holden JM, Sagovsky R. Detection of
  postnatal depression. Development of the 10-item Edinburgh Postnatal Depression Scale.
  British Journal of Psychiatry 1987; 150: 782-786. Ten items about the past 7 days, each
  scored 0-3; items 1, 2 and 4 score 0 for their first answer, items 3 and 5-10 are
  reverse-scored (their first answer scores 3). Total 0-30.
- PHQ-9, the Patient Health Questionnaire depression module: Kroenke K, Spitzer RL, Williams JBW.
  The PHQ-9: validity of a brief depression severity measure. Journal of General Internal
  Medicine 2001; 16(9): 606-613. Nine items about the past 2 weeks, 0-3 each, total 0-27.
- GAD-7: Spitzer RL, Kroenke K, Williams JBW, Lowe B. A brief measure for assessing generalized
  anxiety disorder: the GAD-7. Archives of Internal Medicine 2006; 166(10): 1092-1097. Seven items
  about the past 2 weeks, 0-3 each, total 0-21.

A member's answer is stored as the position of the option she chose (0 = the first option
shown); `score` turns positions into points with each item's own scores, so a reverse-scored
item can never be added up the wrong way round.

A result is a screening, never a diagnosis: band wording below says what a score usually
means and what to do next, in plain words.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone


@dataclass(frozen=True)
class Item:
    number: int
    text: str
    options: tuple[str, ...]
    # Points for each option, in the order the options are shown.
    scores: tuple[int, ...]

    @property
    def reverse_scored(self) -> bool:
        return self.scores[0] > self.scores[-1]

    def choices(self) -> list[tuple[str, str]]:
        return [(str(position), label) for position, label in enumerate(self.options)]


@dataclass(frozen=True)
class Band:
    key: str
    low: int
    high: int
    label: str
    # What the band means, for the member, in plain and non-diagnostic words.
    meaning: str

    def contains(self, total: int) -> bool:
        return self.low <= total <= self.high


@dataclass(frozen=True)
class Instrument:
    key: str
    name: str
    short_name: str
    question: str
    items: tuple[Item, ...]
    bands: tuple[Band, ...]
    citation: str
    # Items where any answer scoring above zero is urgent (thoughts of self-harm).
    urgent_items: tuple[int, ...] = ()
    # A total at or above this is urgent too (None: the total alone never is).
    urgent_total: int | None = None
    minutes: int = 3

    @property
    def max_total(self) -> int:
        return sum(max(item.scores) for item in self.items)

    def item(self, number: int) -> Item:
        return self.items[number - 1]

    def band_for(self, total: int) -> Band:
        for band in self.bands:
            if band.contains(total):
                return band
        raise ValueError(f"{total} is outside {self.short_name}'s range 0-{self.max_total}")

    def band(self, key: str) -> Band:
        return next(band for band in self.bands if band.key == key)


@dataclass(frozen=True)
class Score:
    instrument: Instrument
    total: int
    band: Band
    # Why the result is urgent ("item:10", "total"); empty when it is not.
    urgent_reasons: tuple[str, ...]
    # The validated answers: {item number: position of the option chosen}.
    answers: dict[int, int]

    @property
    def urgent(self) -> bool:
        return bool(self.urgent_reasons)


def _forward(*options: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    return options, (0, 1, 2, 3)


def _reverse(*options: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    return options, (3, 2, 1, 0)


def _item(number: int, text: str, answers: tuple[tuple[str, ...], tuple[int, ...]]) -> Item:
    options, scores = answers
    return Item(number=number, text=text, options=options, scores=scores)


EPDS = Instrument(
    key="epds",
    name="Edinburgh Postnatal Depression Scale",
    short_name="EPDS",
    question="As you are pregnant or have recently had a baby, we would like to know how you are feeling. "
    "Please choose the answer that comes closest to how you have felt in the past 7 days, not just how you "
    "feel today.",
    items=(
        _item(
            1,
            "I have been able to laugh and see the funny side of things",
            _forward("As much as I always could", "Not quite so much now", "Definitely not so much now", "Not at all"),
        ),
        _item(
            2,
            "I have looked forward with enjoyment to things",
            _forward(
                "As much as I ever did", "Rather less than I used to", "Definitely less than I used to", "Hardly at all"
            ),
        ),
        _item(
            3,
            "I have blamed myself unnecessarily when things went wrong",
            _reverse("Yes, most of the time", "Yes, some of the time", "Not very often", "No, never"),
        ),
        _item(
            4,
            "I have been anxious or worried for no good reason",
            _forward("No, not at all", "Hardly ever", "Yes, sometimes", "Yes, very often"),
        ),
        _item(
            5,
            "I have felt scared or panicky for no very good reason",
            _reverse("Yes, quite a lot", "Yes, sometimes", "No, not much", "No, not at all"),
        ),
        _item(
            6,
            "Things have been getting on top of me",
            _reverse(
                "Yes, most of the time I haven't been able to cope at all",
                "Yes, sometimes I haven't been coping as well as usual",
                "No, most of the time I have coped quite well",
                "No, I have been coping as well as ever",
            ),
        ),
        _item(
            7,
            "I have been so unhappy that I have had difficulty sleeping",
            _reverse("Yes, most of the time", "Yes, sometimes", "Not very often", "No, not at all"),
        ),
        _item(
            8,
            "I have felt sad or miserable",
            _reverse("Yes, most of the time", "Yes, quite often", "Not very often", "No, not at all"),
        ),
        _item(
            9,
            "I have been so unhappy that I have been crying",
            _reverse("Yes, most of the time", "Yes, quite often", "Only occasionally", "No, never"),
        ),
        _item(
            10,
            "The thought of harming myself has occurred to me",
            _reverse("Yes, quite often", "Sometimes", "Hardly ever", "Never"),
        ),
    ),
    bands=(
        Band(
            "low",
            0,
            9,
            "Few signs of depression",
            "Your answers don't point to depression at the moment. If something still feels off, it is always "
            "worth talking about.",
        ),
        Band(
            "possible",
            10,
            12,
            "Some signs of depression",
            "Your answers show some of the feelings that can come with depression. Many parents feel this way at "
            "times; it is worth mentioning to your clinician, and taking this again in a couple of weeks.",
        ),
        Band(
            "likely",
            13,
            30,
            "Many signs of depression",
            "Your answers suggest you may be living with depression. This is common in pregnancy and after birth, "
            "and it is treatable. Please talk to your clinician soon about how you are feeling.",
        ),
    ),
    citation="Cox JL, Holden JM, Sagovsky R. Detection of postnatal depression: development of the 10-item "
    "Edinburgh Postnatal Depression Scale. British Journal of Psychiatry 1987; 150: 782-786. "
    "Reproduced for clinical use with credit to the authors.",
    urgent_items=(10,),
    # Cox et al. publish no "urgent" total; 20 is Bloom's clinical policy (docs/adr/0100): a score
    # that high is routed to a clinician at once even when question 10 is answered "Never".
    urgent_total=20,
)

_FREQUENCY = ("Not at all", "Several days", "More than half the days", "Nearly every day")

PHQ9 = Instrument(
    key="phq9",
    name="Patient Health Questionnaire (PHQ-9)",
    short_name="PHQ-9",
    question="Over the last 2 weeks, how often have you been bothered by any of the following problems?",
    items=tuple(
        _item(number, text, _forward(*_FREQUENCY))
        for number, text in enumerate(
            (
                "Little interest or pleasure in doing things",
                "Feeling down, depressed, or hopeless",
                "Trouble falling or staying asleep, or sleeping too much",
                "Feeling tired or having little energy",
                "Poor appetite or overeating",
                "Feeling bad about yourself, or that you are a failure or have let yourself or your family down",
                "Trouble concentrating on things, such as reading the newspaper or watching television",
                "Moving or speaking so slowly that other people could have noticed; or the opposite, being so "
                "fidgety or restless that you have been moving around a lot more than usual",
                "Thoughts that you would be better off dead, or of hurting yourself in some way",
            ),
            start=1,
        )
    ),
    bands=(
        Band("minimal", 0, 4, "Minimal", "Your answers show few of the problems this questionnaire asks about."),
        Band(
            "mild",
            5,
            9,
            "Mild",
            "Your answers show some low mood. Keep an eye on it, look after the basics you can, and mention it to "
            "your clinician if it stays.",
        ),
        Band(
            "moderate",
            10,
            14,
            "Moderate",
            "Your answers show a fair amount of low mood, enough that talking it through with your clinician is a "
            "good idea.",
        ),
        Band(
            "moderately_severe",
            15,
            19,
            "Moderately severe",
            "Your answers show a lot of low mood. Please talk to your clinician soon; support really does help.",
        ),
        Band(
            "severe",
            20,
            27,
            "Severe",
            "Your answers show a great deal of low mood. Please reach out to your clinician today.",
        ),
    ),
    citation="Kroenke K, Spitzer RL, Williams JBW. The PHQ-9: validity of a brief depression severity measure. "
    "Journal of General Internal Medicine 2001; 16(9): 606-613. Developed by Drs. Robert L. Spitzer, "
    "Janet B.W. Williams, Kurt Kroenke and colleagues; no permission required to reproduce.",
    urgent_items=(9,),
    # The floor of the published "severe" band.
    urgent_total=20,
)

GAD7 = Instrument(
    key="gad7",
    name="Generalized Anxiety Disorder scale (GAD-7)",
    short_name="GAD-7",
    question="Over the last 2 weeks, how often have you been bothered by the following problems?",
    items=tuple(
        _item(number, text, _forward(*_FREQUENCY))
        for number, text in enumerate(
            (
                "Feeling nervous, anxious, or on edge",
                "Not being able to stop or control worrying",
                "Worrying too much about different things",
                "Trouble relaxing",
                "Being so restless that it is hard to sit still",
                "Becoming easily annoyed or irritable",
                "Feeling afraid, as if something awful might happen",
            ),
            start=1,
        )
    ),
    bands=(
        Band("minimal", 0, 4, "Minimal", "Your answers show little anxiety right now."),
        Band(
            "mild",
            5,
            9,
            "Mild",
            "Your answers show some worry and tension. That is common with a baby on the way or at home; mention it "
            "to your clinician if it stays.",
        ),
        Band(
            "moderate",
            10,
            14,
            "Moderate",
            "Your answers show a fair amount of anxiety, enough that talking it through with your clinician is a "
            "good idea.",
        ),
        Band(
            "severe",
            15,
            21,
            "Severe",
            "Your answers show a lot of anxiety. Please talk to your clinician soon; anxiety is very treatable.",
        ),
    ),
    citation="Spitzer RL, Kroenke K, Williams JBW, Lowe B. A brief measure for assessing generalized anxiety "
    "disorder: the GAD-7. Archives of Internal Medicine 2006; 166(10): 1092-1097. No permission required to "
    "reproduce.",
    minutes=2,
)

INSTRUMENTS: dict[str, Instrument] = {instrument.key: instrument for instrument in (EPDS, PHQ9, GAD7)}
INSTRUMENT_CHOICES = [(instrument.key, instrument.short_name) for instrument in INSTRUMENTS.values()]


def instrument_get(key: str) -> Instrument:
    try:
        return INSTRUMENTS[key]
    except KeyError:
        raise ValidationError("That questionnaire does not exist.", code="unknown_instrument") from None


def answers_clean(instrument: Instrument, answers: dict) -> dict[int, int]:
    """The answers as {item number: option position}; every item answered once with a real option."""
    cleaned: dict[int, int] = {}
    for item in instrument.items:
        raw = answers.get(item.number, answers.get(str(item.number)))
        try:
            position = int(raw)
        except (TypeError, ValueError):
            raise ValidationError(f"Please answer question {item.number}.", code="unanswered") from None
        if not 0 <= position < len(item.options):
            raise ValidationError(f"Question {item.number} has no answer {raw!r}.", code="invalid_answer")
        cleaned[item.number] = position
    extra = {str(key) for key in answers} - {str(item.number) for item in instrument.items}
    if extra:
        raise ValidationError(f"{instrument.short_name} has no question {sorted(extra)[0]}.", code="unknown_item")
    return cleaned


def score(instrument: Instrument, answers: dict) -> Score:
    """Score a complete set of answers (option positions) by the instrument's published rules.

    Raises ValidationError for a missing, unknown or out-of-range answer: a partial
    questionnaire is never scored.
    """
    cleaned = answers_clean(instrument, answers)
    points = {number: instrument.item(number).scores[position] for number, position in cleaned.items()}
    total = sum(points.values())
    reasons = [f"item:{number}" for number in instrument.urgent_items if points[number] > 0]
    if instrument.urgent_total is not None and total >= instrument.urgent_total:
        reasons.append("total")
    return Score(
        instrument=instrument,
        total=total,
        band=instrument.band_for(total),
        urgent_reasons=tuple(reasons),
        answers=cleaned,
    )


def urgent_reason_text(instrument: Instrument, reason: str) -> str:
    """Staff-facing words for an urgent reason; names the question, never the answer."""
    if reason.startswith("item:"):
        number = int(reason.split(":", 1)[1])
        return f"{instrument.short_name} question {number} (thoughts of harming oneself) answered above zero"
    return f"{instrument.short_name} total at or above {instrument.urgent_total}"


# --- The perinatal timeline ------------------------------------------------------------------

# A due date is 40 weeks (280 days) after the last menstrual period, the start of week 0.
PREGNANCY_DAYS = 280
# Pregnancy weeks past 42 are not meaningful on the timeline; a due date left unchanged after
# the birth would otherwise count on for ever.
PREGNANCY_WEEKS_MAX = 42


def perinatal_week(
    *,
    stage: str,
    due_date: datetime.date | None,
    birth_date: datetime.date | None,
    on: datetime.date,
) -> int | None:
    """Where `on` falls on her timeline: the completed week of pregnancy (0-42) while pregnant
    with a due date, full weeks since the birth when postpartum with a birth date, else None."""
    if stage == "pregnant" and due_date is not None:
        days_pregnant = PREGNANCY_DAYS - (due_date - on).days
        if days_pregnant < 0:
            return None
        return min(days_pregnant // 7, PREGNANCY_WEEKS_MAX)
    if stage == "postpartum" and birth_date is not None:
        days = (on - birth_date).days
        return days // 7 if days >= 0 else None
    return None


def timeline_anchor(*, stage: str, due_date: datetime.date | None, birth_date: datetime.date | None):
    """The date her current timeline counts from (due date or birth date), or None."""
    if stage == "pregnant":
        return due_date
    if stage == "postpartum":
        return birth_date
    return None


def week_label(stage: str, week: int | None) -> str:
    """ "Week 24 of pregnancy", "6 weeks after birth", or "" off the timeline."""
    if week is None:
        return ""
    if stage == "pregnant":
        return f"Week {week} of pregnancy"
    if stage == "postpartum":
        if week == 0:
            return "First week after birth"
        return f"{week} week{'s' if week != 1 else ''} after birth"
    return ""


def change_since(instrument: Instrument, *, previous, current) -> str:
    """What changed since her previous response to the same questionnaire, in plain words
    ("" for a first one). `previous` and `current` have `total`, `band` and `taken_at`."""
    if previous is None:
        return ""
    day = timezone.localtime(previous.taken_at).strftime("%-d %B")
    difference = current.total - previous.total
    if difference == 0:
        text = f"The same score as last time ({day})."
    else:
        points = f"{abs(difference)} point{'s' if abs(difference) != 1 else ''}"
        direction = "higher" if difference > 0 else "lower"
        text = f"{points} {direction} than last time ({previous.total} on {day})."
    if previous.band != current.band:
        before, after = instrument.band(previous.band).label, instrument.band(current.band).label
        text += f" That moves it from “{before}” to “{after}”."
    return text
