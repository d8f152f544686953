import io

import pytest

from workshops import demo
from workshops.models import Workshop

pytestmark = pytest.mark.django_db


def test_demo_seed_adds_two_upcoming_workshops_once():
    demo.seed(stdout=io.StringIO())
    demo.seed(stdout=io.StringIO())
    workshops = list(Workshop.objects.filter(slug__startswith="demo-"))
    assert len(workshops) == 2
    assert all(w.is_bookable for w in workshops)
    assert {w.is_free for w in workshops} == {True, False}
