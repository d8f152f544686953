"""No message Bloom sends or shows shames a member for time away (issue 13, gentle engagement):
no "you missed", no "don't lose", no streaks. New parents miss weeks; Bloom counts what she did."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "appointments", "billing", "bloom", "content", "courses", "notifications", "workshops")

GUILT = re.compile(
    r"you missed|you've missed|don[’']?t lose|do not lose|lose your|streak|last chance|you're behind"
    r"|you are behind|you forgot|haven[’']?t (?:logged|checked) in|we miss you",
    re.IGNORECASE,
)


def _member_facing_files():
    yield from (ROOT / "templates").rglob("*.html")
    yield from (ROOT / "templates").rglob("*.txt")
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                yield path


def test_the_pattern_catches_the_phrases_it_is_for():
    for phrase in ("You missed 3 days", "Don't lose your progress", "Keep your streak!", "We miss you"):
        assert GUILT.search(phrase), phrase
    assert not GUILT.search("Go at your own pace. There is no falling behind.")


def test_no_template_or_message_shames_a_member_for_time_away():
    files = list(_member_facing_files())
    assert len(files) > 100  # the scan really reads the templates and the apps
    found = {
        str(path.relative_to(ROOT)): [m.group(0) for m in GUILT.finditer(path.read_text(encoding="utf-8"))]
        for path in files
    }
    assert {path: words for path, words in found.items() if words} == {}, "say what she did, not what she missed"
