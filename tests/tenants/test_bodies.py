"""A tenant administrator sets up sign-off bodies and the organisation's nation: the rules each
change keeps, the record of it, and who may make it."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse

from tenants import services
from tenants.models import AuditEntry, SignOffBody, SignOffBodyMember, Tenant

UNREACHABLE = (
    "With 3 members a quorum of 3 can never be met when one of them submitted the evidence: "
    "set it to 2 or add a member."
)


def records_of(body) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(subject_type=AuditEntry.Subject.SIGN_OFF_BODY, subject_id=body.pk)
    )


def changed(entry: AuditEntry) -> dict[str, list[str]]:
    return {c["field"]: [c["before"], c["after"]] for c in entry.changes}


def reloaded(body) -> SignOffBody:
    return SignOffBody.objects.get(pk=body.pk)


def member_names(body) -> set[str]:
    return {m.user.full_name for m in SignOffBodyMember.objects.filter(body=body)}


@pytest.fixture
def lscb_of_three(story):
    services.sign_off_body_add_member(body=story.lscb, user=story.mark, by=story.erin)
    return reloaded(story.lscb)


# -- the quorum --------------------------------------------------------------------------------


def test_a_quorum_as_large_as_the_body_is_refused_with_the_reason_in_words(story, lscb_of_three):
    before = len(records_of(story.lscb))
    with pytest.raises(ValidationError) as refused:
        services.sign_off_body_set_quorum(body=story.lscb, quorum=3, by=story.erin)
    assert refused.value.message_dict == {"quorum": [UNREACHABLE]}
    assert reloaded(story.lscb).quorum == 1
    assert len(records_of(story.lscb)) == before


def test_a_quorum_above_the_number_of_members_is_refused(story):
    with pytest.raises(ValidationError, match="With 2 members a quorum of 5 can never be met"):
        services.sign_off_body_set_quorum(body=story.lscb, quorum=5, by=story.erin)
    assert reloaded(story.lscb).quorum == 1


def test_a_quorum_below_one_is_refused(story):
    with pytest.raises(ValidationError, match="at least 1"):
        services.sign_off_body_set_quorum(body=story.lscb, quorum=0, by=story.erin)


def test_a_quorum_one_below_the_number_of_members_is_set_and_recorded(story, lscb_of_three):
    services.sign_off_body_set_quorum(body=story.lscb, quorum=2, by=story.erin)

    assert reloaded(story.lscb).quorum == 2
    entry = records_of(story.lscb)[-1]
    assert (entry.actor, entry.summary) == (story.erin, "Quorum changed")
    assert changed(entry) == {"quorum": ["1", "2"]}


def test_removing_a_member_that_would_make_the_quorum_unreachable_is_refused(story, lscb_of_three):
    services.sign_off_body_set_quorum(body=story.lscb, quorum=2, by=story.erin)
    before = len(records_of(story.lscb))

    with pytest.raises(ValidationError) as refused:
        services.sign_off_body_remove_member(body=story.lscb, user=story.dave, by=story.erin)

    assert refused.value.messages == [
        "Removing Dave Board would leave 2 members, and a quorum of 2 can never be met when one "
        "of them submitted the evidence: set the quorum to 1 first, or add a member."
    ]
    assert member_names(story.lscb) == {"Carol Board", "Dave Board", "Mark Team"}
    assert set(reloaded(story.lscb).group.user_set.all()) == {story.carol, story.dave, story.mark}
    assert len(records_of(story.lscb)) == before


def test_the_chair_cannot_be_removed_until_another_is_chosen(story, lscb_of_three):
    with pytest.raises(ValidationError, match="choose another chair first"):
        services.sign_off_body_remove_member(body=story.lscb, user=story.carol, by=story.erin)


# -- the chair and the agency ------------------------------------------------------------------


def test_the_chair_must_be_a_member_of_the_body(story):
    with pytest.raises(ValidationError, match="The chair must be a member of LSCB board"):
        services.sign_off_body_set_chair(body=story.lscb, chair=story.alice, by=story.erin)
    with pytest.raises(ValidationError) as refused:
        services.sign_off_body_update(
            body=story.lscb,
            by=story.erin,
            name="LSCB board",
            kind=SignOffBody.Kind.LSCB_BOARD,
            partner=None,
            chair=story.alice,
            quorum=1,
        )
    assert list(refused.value.message_dict) == ["chair"]
    assert reloaded(story.lscb).chair == story.carol


def test_an_agency_committee_needs_its_agency(story):
    with pytest.raises(ValidationError) as refused:
        services.sign_off_body_create(
            tenant=story.tenant,
            by=story.erin,
            name="Police safeguarding committee",
            kind=SignOffBody.Kind.AGENCY_COMMITTEE,
        )
    assert refused.value.message_dict == {"partner": ["Choose the agency whose committee this is."]}
    assert not SignOffBody.objects.filter(name="Police safeguarding committee").exists()


def test_only_an_agency_committee_belongs_to_an_agency(story):
    with pytest.raises(ValidationError, match="Only an agency committee belongs to one agency"):
        services.sign_off_body_update(
            body=story.lscb,
            by=story.erin,
            name="LSCB board",
            kind=SignOffBody.Kind.LSCB_BOARD,
            partner=story.police,
            chair=story.carol,
            quorum=1,
        )
    assert reloaded(story.lscb).partner is None


def test_a_second_body_of_the_same_name_is_refused(story):
    with pytest.raises(ValidationError, match="already a sign-off body called"):
        services.sign_off_body_create(
            tenant=story.tenant, by=story.erin, name="lscb board", kind=SignOffBody.Kind.EXECUTIVE
        )


# -- the record of each change -----------------------------------------------------------------


def test_setting_up_a_body_records_it_with_members_by_name(story):
    body = services.sign_off_body_create(
        tenant=story.tenant,
        by=story.erin,
        name="Police safeguarding committee",
        kind=SignOffBody.Kind.AGENCY_COMMITTEE,
        partner=story.police,
        members=[story.bob, story.alice, story.mark],
        chair=story.bob,
        quorum=2,
    )

    assert (body.partner, body.chair, body.quorum) == (story.police, story.bob, 2)
    assert set(body.group.user_set.all()) == {story.bob, story.alice, story.mark}
    [entry] = records_of(body)
    assert (entry.actor, entry.summary) == (story.erin, "Sign-off body set up")
    assert changed(entry) == {
        "name": ["", "Police safeguarding committee"],
        "kind": ["", "Agency committee"],
        "partner": ["", "Bedfordshire Police"],
        "chair": ["", "Bob Officer"],
        "quorum": ["", "2"],
        "members": ["", "Alice Manager, Bob Officer, Mark Team"],
    }


def test_changing_a_body_records_each_changed_field_before_and_after(story, lscb_of_three):
    services.sign_off_body_update(
        body=story.lscb,
        by=story.erin,
        name="Safeguarding board",
        kind=SignOffBody.Kind.CHILDRENS_TRUST_BOARD,
        partner=None,
        chair=story.dave,
        quorum=2,
    )

    entry = records_of(story.lscb)[-1]
    assert entry.summary == "Sign-off body changed"
    assert changed(entry) == {
        "name": ["LSCB board", "Safeguarding board"],
        "kind": ["LSCB board", "Children's Trust board"],
        "chair": ["Carol Board", "Dave Board"],
        "quorum": ["1", "2"],
    }


def test_members_added_and_removed_are_recorded_by_name(story):
    services.sign_off_body_add_member(body=story.lscb, user=story.mark, by=story.erin)
    services.sign_off_body_remove_member(body=story.lscb, user=story.dave, by=story.erin)

    added, removed = records_of(story.lscb)[-2:]
    assert added.summary == "Member added: Mark Team"
    assert changed(added) == {
        "members": ["Carol Board, Dave Board", "Carol Board, Dave Board, Mark Team"]
    }
    assert removed.summary == "Member removed: Dave Board"
    assert changed(removed) == {
        "members": ["Carol Board, Dave Board, Mark Team", "Carol Board, Mark Team"]
    }
    assert set(reloaded(story.lscb).group.user_set.all()) == {story.carol, story.mark}


def test_the_chair_change_is_recorded(story):
    services.sign_off_body_set_chair(body=story.lscb, chair=story.dave, by=story.erin)
    assert changed(records_of(story.lscb)[-1]) == {"chair": ["Carol Board", "Dave Board"]}


def test_a_change_rolled_back_leaves_no_record(story):
    before = records_of(story.lscb)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.sign_off_body_add_member(body=story.lscb, user=story.mark, by=story.erin)
        raise RuntimeError("the surrounding work failed")

    assert records_of(story.lscb) == before
    assert member_names(story.lscb) == {"Carol Board", "Dave Board"}


def test_a_viewer_cannot_sit_on_a_body(story):
    before = records_of(story.lscb)
    with pytest.raises(ValidationError, match="read-only viewer"):
        services.sign_off_body_add_member(body=story.lscb, user=story.victor, by=story.erin)
    assert records_of(story.lscb) == before


# -- who may change them -----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["alice", "bob", "carol", "victor"])
def test_only_a_tenant_administrator_changes_sign_off_bodies(story, who):
    person = getattr(story, who)
    recorded = AuditEntry.objects.count()
    writes = [
        lambda: services.sign_off_body_create(
            tenant=story.tenant, by=person, name="New body", kind=SignOffBody.Kind.EXECUTIVE
        ),
        lambda: services.sign_off_body_add_member(body=story.lscb, user=story.mark, by=person),
        lambda: services.sign_off_body_remove_member(body=story.lscb, user=story.dave, by=person),
        lambda: services.sign_off_body_set_chair(body=story.lscb, chair=story.dave, by=person),
        lambda: services.sign_off_body_set_quorum(body=story.lscb, quorum=1, by=person),
        lambda: services.tenant_set_nation(
            tenant=story.tenant, by=person, nation=Tenant.Nation.WALES
        ),
    ]
    for write in writes:
        with pytest.raises(PermissionDenied, match="Only a tenant administrator"):
            write()
    assert member_names(story.lscb) == {"Carol Board", "Dave Board"}
    assert not SignOffBody.objects.filter(name="New body").exists()
    assert AuditEntry.objects.count() == recorded


def test_someone_from_another_organisation_cannot_change_a_body(story):
    with pytest.raises(PermissionDenied):
        services.sign_off_body_set_chair(body=story.lscb, chair=story.dave, by=story.charlie)


# -- the organisation --------------------------------------------------------------------------


def test_the_nation_is_changed_and_recorded(story):
    services.tenant_set_nation(tenant=story.tenant, by=story.erin, nation=Tenant.Nation.SCOTLAND)

    assert Tenant.objects.get(pk=story.tenant.pk).nation == Tenant.Nation.SCOTLAND
    [entry] = AuditEntry.objects.filter(subject_type=AuditEntry.Subject.ORGANISATION)
    assert (entry.actor, entry.subject_id) == (story.erin, story.tenant.pk)
    assert changed(entry) == {"nation": ["England", "Scotland"]}


def test_an_unknown_nation_is_refused(story):
    with pytest.raises(ValidationError):
        services.tenant_set_nation(tenant=story.tenant, by=story.erin, nation="atlantis")
    assert Tenant.objects.get(pk=story.tenant.pk).nation == Tenant.Nation.ENGLAND
    assert not AuditEntry.objects.filter(subject_type=AuditEntry.Subject.ORGANISATION).exists()


# -- the pages ---------------------------------------------------------------------------------


def url(story, name: str, **kwargs) -> str:
    return reverse(name, kwargs={"tenant_slug": story.tenant.slug, **kwargs})


def page_urls(story) -> list[str]:
    return [
        url(story, "organisation"),
        url(story, "sign_off_bodies"),
        url(story, "sign_off_body_new"),
        url(story, "sign_off_body", pk=story.lscb.pk),
    ]


def test_a_tenant_administrator_sees_every_settings_page(client, story):
    client.force_login(story.erin)
    for address in page_urls(story):
        assert client.get(address).status_code == 200, address
    content = client.get(url(story, "settings")).content.decode()
    assert url(story, "sign_off_bodies") in content
    assert url(story, "organisation") in content


@pytest.mark.parametrize("who", ["alice", "bob", "carol", "victor"])
def test_everyone_else_is_refused_the_pages_and_their_forms(client, story, who):
    client.force_login(getattr(story, who))
    for address in page_urls(story):
        assert client.get(address).status_code == 403, address
        assert client.post(address, {"name": "x", "nation": "wales"}).status_code == 403, address
    members = url(story, "sign_off_body_members", pk=story.lscb.pk)
    assert client.post(members, {"remove": story.dave.pk}).status_code == 403
    assert member_names(story.lscb) == {"Carol Board", "Dave Board"}
    assert Tenant.objects.get(pk=story.tenant.pk).nation == Tenant.Nation.ENGLAND


def test_another_organisations_body_is_not_found(client, story):
    foreign = story.other_plan.owner_body_id
    client.force_login(story.erin)
    assert client.get(url(story, "sign_off_body", pk=foreign)).status_code == 404
    response = client.post(url(story, "sign_off_body_members", pk=foreign), {"remove": "1"})
    assert response.status_code == 404


def test_the_page_sets_up_a_body_with_members_chair_and_quorum(client, story):
    client.force_login(story.erin)
    response = client.post(
        url(story, "sign_off_body_new"),
        {
            "name": "Health safeguarding committee",
            "kind": SignOffBody.Kind.AGENCY_COMMITTEE,
            "partner": story.health.pk,
            "members": [story.carol.pk, story.dave.pk, story.mark.pk],
            "chair": story.dave.pk,
            "quorum": "2",
        },
    )
    body = SignOffBody.objects.get(name="Health safeguarding committee")
    assert response.status_code == 302
    assert (body.partner, body.chair, body.quorum) == (story.health, story.dave, 2)
    assert member_names(body) == {"Carol Board", "Dave Board", "Mark Team"}


def test_the_page_explains_an_unreachable_quorum_and_changes_nothing(client, story):
    before = records_of(story.lscb)
    client.force_login(story.erin)
    response = client.post(
        url(story, "sign_off_body", pk=story.lscb.pk),
        {
            "name": "Renamed board",
            "kind": SignOffBody.Kind.LSCB_BOARD,
            "chair": story.carol.pk,
            "quorum": "2",
        },
    )
    assert response.status_code == 400
    assert (
        "With 2 members a quorum of 2 can never be met when one of them submitted the evidence: "
        "set it to 1 or add a member." in response.content.decode()
    )
    assert (reloaded(story.lscb).name, reloaded(story.lscb).quorum) == ("LSCB board", 1)
    assert records_of(story.lscb) == before


def test_the_page_adds_and_removes_members(client, story):
    client.force_login(story.erin)
    address = url(story, "sign_off_body_members", pk=story.lscb.pk)
    assert client.post(address, {"member-user": story.mark.pk}).status_code == 302
    assert client.post(address, {"remove": story.dave.pk}).status_code == 302
    assert member_names(story.lscb) == {"Carol Board", "Mark Team"}


def test_the_page_says_why_a_member_cannot_be_removed(client, story):
    client.force_login(story.erin)
    response = client.post(
        url(story, "sign_off_body_members", pk=story.lscb.pk),
        {"remove": story.carol.pk},
        follow=True,
    )
    assert "Carol Board chairs LSCB board; choose another chair first." in (
        response.content.decode()
    )
    assert member_names(story.lscb) == {"Carol Board", "Dave Board"}


def test_the_organisation_page_changes_the_nation(client, story):
    client.force_login(story.erin)
    response = client.get(url(story, "organisation"))
    assert "Central Bedfordshire Council" in response.content.decode()
    assert "bank holidays" in response.content.decode()
    response = client.post(url(story, "organisation"), {"nation": Tenant.Nation.WALES})
    assert response.status_code == 302
    assert Tenant.objects.get(pk=story.tenant.pk).nation == Tenant.Nation.WALES


def test_the_organisation_page_refuses_an_unknown_nation(client, story):
    client.force_login(story.erin)
    response = client.post(url(story, "organisation"), {"nation": "atlantis"})
    assert response.status_code == 400
    assert "Choose England, Wales, Scotland or Northern Ireland." in response.content.decode()
    assert Tenant.objects.get(pk=story.tenant.pk).nation == Tenant.Nation.ENGLAND
