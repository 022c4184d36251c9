"""An outline of Lord Laming's 2009 recommendations, the national framework every tenant reads.

The titles are short descriptions of each recommendation's topic in our own words, not the
report's wording: the framework is stored as an outline until the official text is imported.
Themes follow the report's order; which numbers fall in which theme is provisional until
the official text is imported, and the import corrects it.
"""

import datetime

TITLE = "The Protection of Children in England: A Progress Report"
SHORT_NAME = "laming-2009"
PUBLISHED = datetime.date(2009, 3, 12)
SOURCE = (
    "Lord Laming, The Protection of Children in England: A Progress Report (London: The "
    "Stationery Office, 12 March 2009). Outline only: short titles in our own words; the "
    "official text is imported separately."
)

Outline = tuple[tuple[str, tuple[tuple[int, str], ...]], ...]

THEMES: Outline = (
    (
        "Leadership and accountability",
        (
            (1, "Shared national priorities for child protection across government"),
            (2, "Safeguarding targets for every children's services area"),
            (3, "National indicators for safeguarding performance"),
            (4, "Local leaders' review of their child protection arrangements"),
            (5, "Regular reports on safeguarding performance to elected members"),
            (6, "Safeguarding training for lead members and councillors"),
            (7, "Senior leaders in regular contact with front-line practice"),
            (8, "Children's Trust arrangements strengthened"),
            (9, "LSCB annual report to the Children's Trust"),
            (10, "Safeguarding priorities in the Children and Young People's Plan"),
            (11, "Accountability of chief officers across partner agencies"),
        ),
    ),
    (
        "Support for children",
        (
            (12, "Referrals received and assessed by qualified social workers"),
            (13, "Timescales for initial and core assessments"),
            (14, "Review of the Integrated Children's System"),
            (15, "Thresholds for support understood by every agency"),
            (16, "Early intervention and family support"),
            (17, "Children's own views heard in assessments"),
            (18, "Protection needs of disabled children"),
            (19, "Feedback to referrers on the outcome of referrals"),
            (20, "Children missing from education"),
            (21, "Health visiting for families with young children"),
            (22, "Safeguarding in schools and early years settings"),
            (23, "Support for older children and young people at risk"),
        ),
    ),
    (
        "Inter-agency working",
        (
            (24, "Adult services that consider their clients' children"),
            (25, "Consistent use of the Common Assessment Framework"),
            (26, "Clear rules for sharing information between agencies"),
            (27, "Police capacity for child abuse investigation"),
            (28, "Safeguarding training for GPs and hospital staff"),
            (29, "Emergency departments linked to child protection information"),
            (30, "Multi-agency training on thresholds and referrals"),
            (31, "Joint working between specialist adult services and children's services"),
        ),
    ),
    (
        "Children's workforce",
        (
            (32, "National reform of social work"),
            (33, "Manageable caseloads for children's social workers"),
            (34, "Regular recorded supervision for front-line staff"),
            (35, "Support in the first year for newly qualified social workers"),
            (36, "Post-qualifying training in child protection"),
            (37, "Child protection in social work degrees"),
            (38, "Recruitment and retention of children's social workers"),
            (39, "Workforce planning for children's social care"),
            (40, "Health visitor and school nurse numbers"),
            (41, "Police officers trained for child protection work"),
            (42, "Safe recruitment and vetting across the children's workforce"),
        ),
    ),
    (
        "Improvement and challenge",
        (
            (43, "A national unit to drive safeguarding improvement"),
            (44, "Inspection focused on front-line practice"),
            (45, "Unannounced inspection of contact and referral arrangements"),
            (46, "Safeguarding in school inspections"),
            (47, "Independence and quality of serious case reviews"),
            (48, "Publishing serious case review summaries and sharing lessons"),
            (49, "Health and police inspectorates' scrutiny of safeguarding"),
        ),
    ),
    (
        "Organisation and finance",
        (
            (50, "Independent chairs and training for LSCB members"),
            (51, "Senior membership and attendance at LSCBs"),
            (52, "Adequate funding for LSCBs shared between partners"),
            (53, "Protected budgets for children's safeguarding services"),
            (54, "Funding for health and police safeguarding posts"),
        ),
    ),
    (
        "Legal",
        (
            (55, "Court fees and delays in care proceedings"),
            (56, "Legal training and advice for social workers"),
            (57, "Timeliness of family proceedings and children's guardians"),
            (58, "Statutory guidance brought up to date"),
        ),
    ),
)
