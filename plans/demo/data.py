"""What the demo holds: two tenants modelled on two councils' public 2009 Laming papers.

The organisations are real and their papers public; every person, e-mail address, action,
progress note and item of evidence here is fictional.
"""

from dataclasses import dataclass

from plans.models import Action, ActionPlan, Rag
from tenants.models import Membership, Partner, SignOffBody, Tenant

DEMO_PASSWORD = "laming-2009-demo"
# The authenticator app key of every demo person who must have a second factor (board members,
# tenant administrators, the operator): add it to any authenticator app to sign in as them.
DEMO_TOTP_SECRET = "LAMINGDEMOLAMINGDEMOLAMINGDEMO23"
OPERATOR_EMAIL = "operator@example.org"

S = Action.State
R = Membership.Role
P = Partner.Kind
B = SignOffBody.Kind


# --- What the demo holds -------------------------------------------------------------------


@dataclass(frozen=True)
class PersonSpec:
    key: str
    email: str
    full_name: str
    role: str
    partner: str | None = None


@dataclass(frozen=True)
class PartnerSpec:
    key: str
    name: str
    kind: str
    contact: str | None = None  # a person key


@dataclass(frozen=True)
class BodySpec:
    key: str
    name: str
    kind: str
    members: tuple[str, ...]
    chair: str
    quorum: int = 1
    partner: str | None = None  # the agency whose own committee this is


@dataclass(frozen=True)
class ActionSpec:
    reference: str
    title: str
    recommendations: tuple[int, ...]
    lead: str
    partner: str
    body: str
    due_in_days: int
    state: str
    supporting: tuple[str, ...] = ()
    delegate: str | None = None  # delivers the action for the lead officer
    progress: tuple[tuple[str, str], ...] = ()  # (RAG, text), oldest first
    evidence: tuple[tuple[str, str], ...] = ()  # (description, link)
    completion: str = ""
    approvals: tuple[str, ...] = ()  # sign-off body members who approve, in order
    returned_because: str = ""  # evidence sent back once by the body's chair
    withdrawn_because: str = ""
    # Set on an agency's action that the partnership plan adopted: its reference there.
    adopted_as: str = ""


@dataclass(frozen=True)
class PlanSpec:
    title: str
    owner_body: str
    owner: str
    sign_off_bodies: tuple[str, ...]
    state: str
    monitoring_body: str | None = None  # watches delivery; chased about long-overdue actions
    endorsers: tuple[str, ...] = ()


@dataclass(frozen=True)
class AgencyPlanSpec:
    """A partner agency's own plan, managed by a manager who works for the agency. Its actions
    marked ``adopted_as`` are adopted into the partnership plan while this plan is a draft,
    before it is submitted to its committee."""

    partner: str
    manager: str
    plan: PlanSpec
    actions: tuple[ActionSpec, ...]


@dataclass(frozen=True)
class TenantSpec:
    name: str
    slug: str
    kind: str
    manager: str  # creates, agrees and withdraws actions; adopts agencies' actions
    partners: tuple[PartnerSpec, ...]
    people: tuple[PersonSpec, ...]
    bodies: tuple[BodySpec, ...]
    plan: PlanSpec
    actions: tuple[ActionSpec, ...]
    agency_plans: tuple[AgencyPlanSpec, ...] = ()


def _evidence(slug: str, description: str, file_name: str) -> tuple[str, str]:
    return description, f"https://example.org/{slug}/{file_name}"


CB = "central-bedfordshire"

CENTRAL_BEDFORDSHIRE = TenantSpec(
    name="Central Bedfordshire Council",
    slug=CB,
    kind=Tenant.Kind.LOCAL_AUTHORITY,
    manager="manager",
    partners=(
        PartnerSpec(
            "la", "Central Bedfordshire Council children's services", P.LOCAL_AUTHORITY, "manager"
        ),
        PartnerSpec("police", "Bedfordshire Police", P.POLICE, "police"),
        PartnerSpec("health", "NHS Bedfordshire", P.HEALTH, "health"),
        PartnerSpec(
            "schools", "Central Bedfordshire schools and early years settings", P.EDUCATION
        ),
        PartnerSpec("probation", "Bedfordshire Probation Area", P.PROBATION),
        PartnerSpec("voluntary", "Voluntary and community sector", P.VOLUNTARY),
        PartnerSpec("lscb", "Central Bedfordshire LSCB", P.LSCB, "lscb"),
    ),
    people=(
        PersonSpec("officer", "officer.cb@example.org", "Hannah Okafor", R.OFFICER, "la"),
        PersonSpec("manager", "manager.cb@example.org", "Daniel Reeve", R.MANAGER, "la"),
        PersonSpec("director", "director.cb@example.org", "Sarah Lindqvist", R.MANAGER, "la"),
        PersonSpec("board", "board.cb@example.org", "Margaret Ellison", R.BOARD_MEMBER, "lscb"),
        PersonSpec("consultant", "consultant@example.org", "Ruth Adeyemi", R.BOARD_MEMBER),
        PersonSpec("executive", "executive.cb@example.org", "Cllr Peter Hammond", R.BOARD_MEMBER),
        PersonSpec("admin", "admin.cb@example.org", "Tom Gallagher", R.TENANT_ADMIN, "la"),
        PersonSpec("viewer", "viewer.cb@example.org", "Cllr Janet Moore", R.VIEWER),
        PersonSpec("police", "police.cb@example.org", "DI Mark Osei", R.OFFICER, "police"),
        PersonSpec("health", "health.cb@example.org", "Claire Whitcombe", R.OFFICER, "health"),
        PersonSpec("lscb", "lscb.cb@example.org", "Imran Qureshi", R.OFFICER, "lscb"),
    ),
    bodies=(
        BodySpec(
            "team",
            "Children, Families and Learning management team",
            B.MANAGEMENT_TEAM,
            members=("director", "manager"),
            chair="director",
        ),
        BodySpec(
            "lscb",
            "Central Bedfordshire LSCB board",
            B.LSCB_BOARD,
            # Three members: a quorum of two must still be reachable when one of them delivered.
            members=("board", "consultant", "executive"),
            chair="board",
            quorum=2,
        ),
        BodySpec("executive", "Executive", B.EXECUTIVE, members=("executive",), chair="executive"),
    ),
    # The Executive endorses the partnership plan, the LSCB board monitors its delivery and
    # signs off partnership actions, and the management team signs off the council's own.
    plan=PlanSpec(
        title="Response to Lord Laming's recommendations",
        owner_body="executive",
        owner="director",
        sign_off_bodies=("lscb", "team"),
        state=ActionPlan.State.SUBMITTED,
        monitoring_body="lscb",
    ),
    actions=(
        ActionSpec(
            "1.1",
            "LSCB annual report on safeguarding presented to the Children's Trust",
            (9, 10),
            lead="lscb",
            partner="lscb",
            body="lscb",
            due_in_days=-45,
            state=S.SIGNED_OFF,
            progress=((Rag.GREEN, "Draft report circulated to board members for comment."),),
            evidence=(
                _evidence(CB, "LSCB annual report 2008/09", "lscb-annual-report.pdf"),
                _evidence(CB, "Children's Trust Board minutes", "trust-board-minutes.pdf"),
            ),
            completion=(
                "The annual report was presented to the Children's Trust Board, which agreed "
                "to receive it every year and to reflect it in the Children and Young People's "
                "Plan."
            ),
            approvals=("board", "consultant"),
        ),
        ActionSpec(
            "1.2",
            "Quarterly safeguarding scorecard for the management team and the Executive",
            (3, 5),
            lead="officer",
            partner="la",
            body="team",
            due_in_days=20,
            state=S.IN_PROGRESS,
            supporting=("police", "health"),
            progress=(
                (Rag.GREEN, "Scorecard layout agreed with the performance team."),
                (Rag.AMBER, "Police and health indicators still to be added to the scorecard."),
            ),
        ),
        ActionSpec(
            "2.1",
            "Every contact and referral screened by a qualified social worker",
            (12, 13),
            lead="officer",
            partner="la",
            body="team",
            due_in_days=7,
            state=S.EVIDENCED,
            progress=((Rag.GREEN, "Duty rota changed; a qualified social worker on every shift."),),
            evidence=(
                _evidence(CB, "Revised duty and assessment procedure", "duty-procedure.pdf"),
                _evidence(CB, "Audit of one month's referrals", "referral-audit.xlsx"),
            ),
            completion=(
                "Since the new duty rota started, the referral audit found every contact "
                "screened by a qualified social worker."
            ),
        ),
        ActionSpec(
            "2.2",
            "Multi-agency threshold document agreed and published",
            (15,),
            lead="lscb",
            partner="lscb",
            body="lscb",
            due_in_days=5,
            state=S.EVIDENCED,
            supporting=("police", "health", "schools"),
            progress=((Rag.GREEN, "Final draft agreed by the LSCB policy sub-group."),),
            evidence=(_evidence(CB, "Threshold document, final version", "thresholds.pdf"),),
            completion="The threshold document is published on the LSCB website for all agencies.",
            approvals=("board",),
        ),
        ActionSpec(
            "2.3",
            "Written feedback to referring agencies on the outcome of every referral",
            (19,),
            lead="officer",
            partner="la",
            body="team",
            due_in_days=-12,
            state=S.IN_PROGRESS,
            progress=(
                (Rag.AMBER, "Feedback letter template agreed with partner agencies."),
                (Rag.RED, "Feedback sent on about 60% of referrals; duty team capacity is short."),
            ),
        ),
        ActionSpec(
            "2.4",
            "Safeguarding practice audit in the disabled children's team",
            (18,),
            lead="officer",
            partner="la",
            body="team",
            due_in_days=120,
            state=S.PROPOSED,
        ),
        ActionSpec(
            "3.1",
            "Multi-agency training on thresholds and referral pathways",
            (30, 15),
            lead="lscb",
            partner="lscb",
            body="lscb",
            due_in_days=14,
            state=S.IN_PROGRESS,
            supporting=("la", "police", "health", "schools", "voluntary"),
            delegate="officer",
            progress=(
                (Rag.GREEN, "Six sessions booked; places offered to every partner agency."),
                (Rag.AMBER, "Schools' take-up is low; head teachers reminded through the forum."),
            ),
        ),
        ActionSpec(
            "3.2",
            "Adult mental health and substance misuse services record dependent children",
            (24, 31),
            lead="health",
            partner="health",
            body="lscb",
            due_in_days=-21,
            state=S.IN_PROGRESS,
            supporting=("la",),
            progress=(
                (Rag.AMBER, "Assessment forms revised to ask about children in the household."),
                (Rag.RED, "Case record system change delayed by the supplier."),
            ),
        ),
        ActionSpec(
            "3.3",
            "Relaunch of the Common Assessment Framework with schools",
            (25,),
            lead="officer",
            partner="schools",
            body="lscb",
            due_in_days=90,
            state=S.AGREED,
            supporting=("la", "health"),
        ),
        ActionSpec(
            "3.4",
            "Separate information sharing briefings for each partner agency",
            (26,),
            lead="lscb",
            partner="lscb",
            body="lscb",
            due_in_days=30,
            state=S.WITHDRAWN,
            withdrawn_because=(
                "Superseded by 3.1: information sharing is now part of the multi-agency "
                "threshold training."
            ),
        ),
        ActionSpec(
            "4.1",
            "Social work caseload review and a weighted caseload model",
            (33, 39),
            lead="officer",
            partner="la",
            body="team",
            due_in_days=10,
            state=S.IN_PROGRESS,
            progress=(
                (Rag.AMBER, "Referral and assessment team caseloads being added to the review."),
            ),
            evidence=(_evidence(CB, "Caseload review, long-term teams", "caseloads.xlsx"),),
            completion="Caseloads reviewed and the weighted model adopted.",
            returned_because=(
                "The figures cover the long-term teams only; include the referral and "
                "assessment teams before this is signed off."
            ),
        ),
        ActionSpec(
            "4.2",
            "Monthly recorded supervision for every social worker, audited quarterly",
            (34,),
            lead="officer",
            partner="la",
            body="team",
            due_in_days=-30,
            state=S.SIGNED_OFF,
            progress=((Rag.GREEN, "Supervision policy revised and issued to all teams."),),
            evidence=(_evidence(CB, "Supervision audit, first quarter", "supervision.pdf"),),
            completion="The first quarterly audit found supervision recorded monthly in 94% "
            "of files; the audit continues every quarter.",
            approvals=("director",),
        ),
        ActionSpec(
            "5.1",
            "Section 11 audit of partner agencies' safeguarding arrangements",
            (11,),
            lead="lscb",
            partner="lscb",
            body="lscb",
            due_in_days=-60,
            state=S.SIGNED_OFF,
            supporting=("police", "health", "probation", "schools", "voluntary"),
            progress=((Rag.GREEN, "Audit returns received from every partner agency."),),
            evidence=(_evidence(CB, "Section 11 audit summary report", "section-11.pdf"),),
            completion="Every partner completed the audit; their improvement actions are "
            "tracked by the LSCB.",
            approvals=("board", "consultant"),
        ),
        ActionSpec(
            "6.1",
            "LSCB budget and partner contributions agreed for next year",
            (52, 51),
            lead="lscb",
            partner="lscb",
            body="lscb",
            due_in_days=40,
            state=S.AGREED,
            supporting=("la", "police", "health", "probation"),
        ),
        ActionSpec(
            "7.1",
            "Legal training for social workers on care proceedings",
            (56, 55),
            lead="manager",
            partner="la",
            body="team",
            due_in_days=25,
            state=S.AGREED,
        ),
    ),
)

SL = "sunderland"

SUNDERLAND = TenantSpec(
    name="Sunderland Children's Trust",
    slug=SL,
    kind=Tenant.Kind.CHILDRENS_TRUST,
    manager="manager",
    partners=(
        PartnerSpec("scc", "Sunderland City Council", P.LOCAL_AUTHORITY, "manager"),
        PartnerSpec("police", "Northumbria Police", P.POLICE, "police"),
        PartnerSpec("chs", "City Hospitals Sunderland NHS Foundation Trust", P.HEALTH, "chs"),
        PartnerSpec("pct", "Sunderland Teaching Primary Care Trust", P.HEALTH, "pct"),
        PartnerSpec("probation", "Northumbria Probation", P.PROBATION, "probation"),
        PartnerSpec("voluntary", "Sunderland voluntary and community sector", P.VOLUNTARY),
        PartnerSpec("sscb", "Sunderland Safeguarding Children Board", P.LSCB, "sscb"),
        PartnerSpec("schools", "Sunderland schools", P.EDUCATION),
    ),
    people=(
        PersonSpec("officer", "officer.sunderland@example.org", "Gemma Robson", R.OFFICER, "scc"),
        PersonSpec("manager", "manager.sunderland@example.org", "Paul Armstrong", R.MANAGER, "scc"),
        PersonSpec("board", "board.sunderland@example.org", "Cllr Linda Forster", R.BOARD_MEMBER),
        PersonSpec("admin", "admin.sunderland@example.org", "Karen Dobson", R.TENANT_ADMIN, "scc"),
        PersonSpec("viewer", "viewer.sunderland@example.org", "Cllr Steven Nixon", R.VIEWER),
        PersonSpec("consultant", "consultant@example.org", "Ruth Adeyemi", R.VIEWER),
        PersonSpec(
            "sscb_chair", "sscb-chair.sunderland@example.org", "Graham Wilson", R.BOARD_MEMBER
        ),
        PersonSpec(
            "police", "police.sunderland@example.org", "DS Lee Charlton", R.OFFICER, "police"
        ),
        PersonSpec("chs", "chs.sunderland@example.org", "Joanne Bell", R.OFFICER, "chs"),
        PersonSpec("pct", "pct.sunderland@example.org", "Dr Anil Mehta", R.OFFICER, "pct"),
        PersonSpec(
            "probation", "probation.sunderland@example.org", "Susan Wake", R.OFFICER, "probation"
        ),
        PersonSpec(
            "voluntary",
            "voluntary.sunderland@example.org",
            "Michael Turnbull",
            R.OFFICER,
            "voluntary",
        ),
        PersonSpec("sscb", "sscb.sunderland@example.org", "Andrea Hall", R.OFFICER, "sscb"),
        PersonSpec(
            "schools", "schools.sunderland@example.org", "Rachel Lowes", R.OFFICER, "schools"
        ),
        PersonSpec(
            "police_lead",
            "police-lead.sunderland@example.org",
            "Det Supt Alan Reay",
            R.MANAGER,
            "police",
        ),
        PersonSpec(
            "pct_lead", "pct-lead.sunderland@example.org", "Dr Helen Marsh", R.MANAGER, "pct"
        ),
    ),
    bodies=(
        BodySpec(
            "trust",
            "Children's Trust Board",
            B.CHILDRENS_TRUST_BOARD,
            members=("board", "sscb_chair"),
            chair="board",
        ),
        BodySpec(
            "task_group",
            "Laming task and finish group",
            B.TASK_AND_FINISH_GROUP,
            members=("manager", "sscb"),
            chair="manager",
        ),
        BodySpec(
            "sscb",
            "Sunderland Safeguarding Children Board",
            B.LSCB_BOARD,
            members=("sscb_chair", "board"),
            chair="sscb_chair",
        ),
        # Two partner agencies' own committees, chased about their agency's long-overdue actions.
        BodySpec(
            "police_committee",
            "Northumbria Police safeguarding committee",
            B.AGENCY_COMMITTEE,
            members=("police_lead", "police"),
            chair="police_lead",
            partner="police",
        ),
        BodySpec(
            "pct_committee",
            "Sunderland Teaching PCT safeguarding committee",
            B.AGENCY_COMMITTEE,
            members=("pct_lead", "pct"),
            chair="pct_lead",
            partner="pct",
        ),
    ),
    # The Children's Trust board endorses the plan and monitors its delivery; the task and
    # finish group signs off the agencies' actions and the safeguarding board its own.
    plan=PlanSpec(
        title="Children's Trust Laming plan",
        owner_body="trust",
        owner="manager",
        sign_off_bodies=("task_group", "sscb"),
        state=ActionPlan.State.DRAFT,
        monitoring_body="trust",
    ),
    actions=(
        ActionSpec(
            "SCC-1",
            "Qualified social workers screen every contact in referral and assessment",
            (12, 13),
            lead="officer",
            partner="scc",
            body="task_group",
            due_in_days=30,
            state=S.IN_PROGRESS,
            progress=((Rag.GREEN, "Two additional senior practitioners appointed to duty."),),
        ),
        ActionSpec(
            "CHS-1",
            "Emergency department staff check whether a child has a child protection plan",
            (29, 28),
            lead="chs",
            partner="chs",
            body="task_group",
            due_in_days=3,
            state=S.EVIDENCED,
            progress=((Rag.GREEN, "Check added to the triage record; staff briefed."),),
            evidence=(_evidence(SL, "Emergency department triage audit", "ed-audit.pdf"),),
            completion="The triage audit shows the check recorded for every child seen.",
        ),
        ActionSpec(
            "PCT-1",
            "Safeguarding lead and annual training in every GP practice",
            (28,),
            lead="pct",
            partner="pct",
            body="task_group",
            due_in_days=-7,
            state=S.IN_PROGRESS,
            progress=(
                (Rag.AMBER, "Safeguarding leads named in most practices."),
                (Rag.RED, "Training dates not yet set for the remaining practices."),
            ),
        ),
        ActionSpec(
            "PROB-1",
            "Offender risk assessments record the children in each household",
            (24,),
            lead="probation",
            partner="probation",
            body="task_group",
            due_in_days=-20,
            state=S.SIGNED_OFF,
            evidence=(_evidence(SL, "Revised risk assessment guidance", "risk-guidance.pdf"),),
            completion="The guidance is in use and a case file sample confirmed it.",
            approvals=("manager",),
        ),
        ActionSpec(
            "VCS-1",
            "Safeguarding standards and training for voluntary and community groups",
            (42, 22),
            lead="voluntary",
            partner="voluntary",
            body="task_group",
            due_in_days=100,
            state=S.PROPOSED,
        ),
        ActionSpec(
            "SSCB-1",
            "Independent chair and an induction for every board member",
            (50, 51),
            lead="sscb",
            partner="sscb",
            body="sscb",
            due_in_days=21,
            state=S.IN_PROGRESS,
            supporting=("scc", "police", "pct"),
            progress=((Rag.GREEN, "Induction pack drafted; chair's appointment under way."),),
        ),
        ActionSpec(
            "SCH-1",
            "Refresher training for designated safeguarding teachers",
            (22,),
            lead="schools",
            partner="schools",
            body="task_group",
            due_in_days=50,
            state=S.AGREED,
        ),
    ),
    # Northumbria Police drew up its own plan first; the task and finish group adopted its
    # staffing review into the Children's Trust plan as NP-1 before the police's committee
    # endorsed what remained.
    agency_plans=(
        AgencyPlanSpec(
            partner="police",
            manager="police_lead",
            plan=PlanSpec(
                title="Northumbria Police Laming plan",
                owner_body="police_committee",
                owner="police_lead",
                sign_off_bodies=("police_committee", "task_group"),
                state=ActionPlan.State.ENDORSED,
                endorsers=("police",),
            ),
            actions=(
                ActionSpec(
                    "1.1",
                    "Staffing review of the child abuse investigation unit",
                    (27, 41),
                    lead="police",
                    partner="police",
                    body="task_group",
                    due_in_days=60,
                    state=S.AGREED,
                    adopted_as="NP-1",
                ),
                ActionSpec(
                    "1.2",
                    "Child protection training for every child abuse investigation officer",
                    (41,),
                    lead="police",
                    partner="police",
                    body="police_committee",
                    due_in_days=75,
                    state=S.IN_PROGRESS,
                    progress=((Rag.GREEN, "First two training days held for the unit."),),
                ),
                ActionSpec(
                    "2.1",
                    "Police information shared for every strategy discussion within a day",
                    (26,),
                    lead="police",
                    partner="police",
                    body="police_committee",
                    due_in_days=120,
                    state=S.PROPOSED,
                ),
            ),
        ),
    ),
)

DEMO_TENANTS = (CENTRAL_BEDFORDSHIRE, SUNDERLAND)
