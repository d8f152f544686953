import pytest

from content import services
from content.models import SegmentKind
from tests.factories.content import SubscriberFactory, SubscriberSegmentFactory

pytestmark = pytest.mark.django_db


def test_rule_segments_refuse_manual_members():
    from bloom.exceptions import ApplicationError

    rule = SubscriberSegmentFactory(kind=SegmentKind.RULE, rule={})
    with pytest.raises(ApplicationError):
        services.segment_members_add(segment=rule, subscribers=[SubscriberFactory()])


def test_segment_rule_validation():
    from django.core.exceptions import ValidationError

    assert services.segment_rule_validate({"min_engagement_score": 40}) == {"min_engagement_score": 40}
    for bad in ({"colour": "red"}, {"min_engagement_score": 200}, {"sources": "footer"}, []):
        with pytest.raises(ValidationError):
            services.segment_rule_validate(bad)
