import pytest
from django.core.exceptions import ValidationError

from tenants.models import SignOffBody
from tenants.services import (
    sign_off_body_remove_member,
    sign_off_body_set_chair,
    sign_off_body_set_quorum,
)


def test_quorum_above_the_number_of_members_is_refused(story):
    with pytest.raises(ValidationError, match="can never be met"):
        sign_off_body_set_quorum(body=story.lscb, quorum=3)
    assert SignOffBody.objects.get(pk=story.lscb.pk).quorum == 1


def test_quorum_below_one_is_refused(story):
    with pytest.raises(ValidationError, match="at least 1"):
        sign_off_body_set_quorum(body=story.lscb, quorum=0)


def test_removing_a_member_cannot_leave_the_quorum_unreachable(story):
    story.lscb_needs_two()
    with pytest.raises(ValidationError, match="a quorum of 2 can never be met"):
        sign_off_body_remove_member(body=story.lscb, user=story.dave)
    assert story.lscb.members.count() == 3


def test_the_chair_is_a_member_of_the_body(story):
    with pytest.raises(ValidationError, match="must be a member"):
        sign_off_body_set_chair(body=story.lscb, chair=story.alice)


def test_members_join_the_bodys_permission_group(story):
    assert set(story.lscb.group.user_set.all()) == {story.carol, story.dave}
    sign_off_body_remove_member(body=story.lscb, user=story.dave)
    assert set(story.lscb.group.user_set.all()) == {story.carol}


def test_chair_can_be_left_vacant(story):
    sign_off_body_set_chair(body=story.lscb, chair=None)
    assert SignOffBody.objects.get(pk=story.lscb.pk).chair is None
