from plans.models import Action


def test_story_builds_an_action_walked_to_signed_off(story):
    action = story.action_in(Action.State.SIGNED_OFF)
    assert action.state == Action.State.SIGNED_OFF
