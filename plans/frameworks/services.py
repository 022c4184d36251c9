"""Importing a framework, all or nothing, and its dry run.

A file whose short name matches a framework already stored updates that framework in place,
matching themes and recommendations by number: this is how the official text replaces the
outline of a national framework, and how a tenant corrects its own framework. Recommendations
that actions answer keep their rows, so those actions keep their links; one the file leaves out
is refused with the reason, and the whole import with it.
"""

import datetime
import re
from dataclasses import dataclass, field
from operator import attrgetter

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils.text import get_text_list

from plans.frameworks.reading import (
    MAX_TITLE,
    FrameworkFile,
    Problem,
    ThemeSummary,
    read_framework_file,
)
from plans.frameworks.rules import framework_import_refusal, recommendation_removal_refusals
from plans.models import Framework, Recommendation, Theme
from tenants.models import AuditEntry, Tenant, User
from tenants.scoping import across_tenants, tenant_scope
from tenants.services import Recorded

MAX_SHORT_NAME = 60
MAX_SOURCE = 300
SHORT_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")


@dataclass(frozen=True)
class RecommendationChange:
    number: int
    title: str
    what: tuple[str, ...]  # "title", "full text", "theme"

    @property
    def description(self) -> str:
        return f"{get_text_list(list(self.what), 'and')} changed"


@dataclass
class FrameworkChanges:
    """What importing a file would change in a framework already stored."""

    themes_added: list[int] = field(default_factory=list)
    themes_renamed: list[int] = field(default_factory=list)
    themes_removed: list[int] = field(default_factory=list)
    added: list[int] = field(default_factory=list)
    changed: list[RecommendationChange] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    unchanged: int = 0

    @property
    def summary(self) -> str:
        parts = [
            f"{len(self.added)} added" if self.added else "",
            f"{len(self.changed)} changed" if self.changed else "",
            f"{len(self.removed)} removed" if self.removed else "",
            f"{self.unchanged} unchanged" if self.unchanged else "",
        ]
        return "Recommendations: " + (", ".join(p for p in parts if p) or "none")


@dataclass
class FrameworkImport:
    """The outcome of an import or its dry run: every problem, or what was (or would be) done."""

    file: FrameworkFile
    tenant: Tenant | None
    short_name: str
    title: str
    problems: list[Problem]
    existing: Framework | None = None
    changes: FrameworkChanges | None = None
    framework: Framework | None = None
    imported: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def themes(self) -> list[ThemeSummary]:
        return self.file.themes

    @property
    def recommendation_count(self) -> int:
        return len(self.file.rows)

    @property
    def file_problems(self) -> list[Problem]:
        return [problem for problem in self.problems if not problem.field]


class FrameworkImportRefused(ValidationError):
    """The import found problems and changed nothing; ``report`` lists them all."""

    def __init__(self, report: FrameworkImport):
        self.report = report
        super().__init__([str(problem) for problem in report.problems])


def framework_import(
    *,
    file,
    tenant: Tenant | None,
    by: User,
    short_name: str,
    title: str,
    published: datetime.date | None = None,
    source: str = "",
    dry_run: bool = False,
) -> FrameworkImport:
    """Import ``file`` (a Django ``File`` or upload, named as the person named it) as the
    framework ``short_name`` of ``tenant``, or a national framework when ``tenant`` is None.

    A dry run writes nothing and returns every problem with the summary of what would be
    imported. Otherwise the import happens in one transaction, or not at all: with any problem
    it raises ``FrameworkImportRefused``, carrying the same report.
    """
    refusal = framework_import_refusal(by=by, tenant=tenant)
    if refusal is not None:
        refusal.raise_error()
    # A national framework belongs to no tenant: the operator writes it on the cross-tenant
    # path, and only here, once the refusal above has let them.
    with across_tenants() if tenant is None else tenant_scope(tenant):
        return _framework_import(
            file=file,
            tenant=tenant,
            by=by,
            short_name=short_name,
            title=title,
            published=published,
            source=source,
            dry_run=dry_run,
        )


def _framework_import(
    *,
    file,
    tenant: Tenant | None,
    by: User,
    short_name: str,
    title: str,
    published: datetime.date | None,
    source: str,
    dry_run: bool,
) -> FrameworkImport:
    short_name, title, source = short_name.strip().lower(), " ".join(title.split()), source.strip()
    report = FrameworkImport(
        file=read_framework_file(file, name=file.name or "", size=file.size),
        tenant=tenant,
        short_name=short_name,
        title=title,
        problems=_detail_problems(tenant=tenant, short_name=short_name, title=title, source=source),
    )
    report.problems.extend(report.file.problems)
    if dry_run:
        _compare(report, lock=False)
        return report
    try:
        with transaction.atomic():
            _compare(report, lock=True)
            if not report.ok:
                raise FrameworkImportRefused(report)
            _write(report, by=by, published=published, source=source)
    except (IntegrityError, ProtectedError):
        # Someone else changed the framework or linked an action to a recommendation this
        # import removes, between the check and the write; the database refused it.
        report.framework, report.imported = None, False
        report.problems.append(
            Problem(
                None,
                "The framework changed while it was being imported, so nothing was imported. "
                "Check the file again.",
            )
        )
        raise FrameworkImportRefused(report) from None
    return report


def _detail_problems(
    *, tenant: Tenant | None, short_name: str, title: str, source: str
) -> list[Problem]:
    problems = []
    if not short_name:
        problems.append(Problem(None, "Enter a short name for the framework.", "short_name"))
    elif len(short_name) > MAX_SHORT_NAME or not SHORT_NAME.fullmatch(short_name):
        problems.append(
            Problem(
                None,
                f"The short name can have up to {MAX_SHORT_NAME} letters, numbers and hyphens, "
                "like scr-child-h-2010.",
                "short_name",
            )
        )
    elif (
        tenant is not None
        and Framework.objects.filter(tenant__isnull=True, short_name=short_name).exists()
    ):
        problems.append(
            Problem(
                None,
                f"A national framework is already called {short_name}; choose another short name.",
                "short_name",
            )
        )
    if not title:
        problems.append(Problem(None, "Enter the framework's title.", "title"))
    elif len(title) > MAX_TITLE:
        problems.append(
            Problem(None, f"The title is {len(title)} characters; keep it to {MAX_TITLE}.", "title")
        )
    if len(source) > MAX_SOURCE:
        problems.append(
            Problem(None, f"The source is {len(source)} characters; keep it to {MAX_SOURCE}.")
        )
    return problems


def _compare(report: FrameworkImport, *, lock: bool) -> None:
    """Find the framework the file updates, if any, and what would change in it."""
    if not report.short_name or any(p.field == "short_name" for p in report.problems):
        return
    frameworks = Framework.objects.filter(short_name=report.short_name)
    frameworks = (
        frameworks.filter(tenant__isnull=True)
        if report.tenant is None
        else frameworks.filter(tenant=report.tenant)
    )
    if lock:
        frameworks = frameworks.select_for_update()
    existing = frameworks.first()
    report.existing = existing
    if existing is None or report.file.problems:
        return
    themes = {theme.position: theme for theme in Theme.objects.filter(framework=existing)}
    recommendations = {
        r.number: r
        for r in Recommendation.objects.filter(framework=existing).select_related("theme")
    }
    changes = FrameworkChanges()
    file_themes = {theme.number: theme.title for theme in report.themes}
    for number, title in file_themes.items():
        if number not in themes:
            changes.themes_added.append(number)
        elif themes[number].title != title:
            changes.themes_renamed.append(number)
    changes.themes_removed = sorted(set(themes) - set(file_themes))
    for row in report.file.rows:
        stored = recommendations.get(row.number)
        if stored is None:
            changes.added.append(row.number)
            continue
        what = tuple(
            label
            for label, differs in (
                ("title", stored.title != row.title),
                ("full text", stored.text != row.text),
                ("theme", stored.theme.position != row.theme_number),
            )
            if differs
        )
        if what:
            changes.changed.append(RecommendationChange(row.number, row.title, what))
        else:
            changes.unchanged += 1
    in_file = {row.number for row in report.file.rows}
    changes.removed = sorted(set(recommendations) - in_file)
    report.changes = changes
    report.problems.extend(
        Problem(None, refusal.message)
        for refusal in recommendation_removal_refusals(
            recommendations[number] for number in changes.removed
        )
    )


def _counts_text(framework: Framework) -> dict[str, str]:
    if framework is None:
        return {}
    return {
        "title": framework.title,
        "short_name": framework.short_name,
        "outline": "Yes" if framework.is_outline else "No",
        "themes": str(Theme.objects.filter(framework=framework).count()),
        "recommendations": str(Recommendation.objects.filter(framework=framework).count()),
    }


AUDIT_LABELS = {
    "title": "Title",
    "short_name": "Short name",
    "outline": "Outline only",
    "themes": "Themes",
    "recommendations": "Recommendations",
    "file": "Imported from",
}
FRAMEWORK_CHANGES = Recorded(AuditEntry.Subject.FRAMEWORK, AUDIT_LABELS, name=attrgetter("title"))


def _write(
    report: FrameworkImport, *, by: User, published: datetime.date | None, source: str
) -> None:
    tenant, framework = report.tenant, report.existing
    before = _counts_text(framework)
    if framework is None:
        framework = Framework(tenant=tenant, short_name=report.short_name)
    framework.title = report.title
    framework.is_outline = False
    if published is not None:
        framework.published = published
    if source:
        framework.source = source
    framework.save()

    themes = {theme.position: theme for theme in Theme.objects.filter(framework=framework)}
    for summary in report.themes:
        theme = themes.get(summary.number)
        if theme is None:
            themes[summary.number] = Theme.objects.create(
                framework=framework, tenant=tenant, position=summary.number, title=summary.title
            )
        elif theme.title != summary.title or theme.tenant_id != framework.tenant_id:
            theme.title, theme.tenant = summary.title, tenant
            theme.save(update_fields=["title", "tenant"])

    stored = {r.number: r for r in Recommendation.objects.filter(framework=framework)}
    new, changed = [], []
    for row in report.file.rows:
        theme = themes[row.theme_number]
        recommendation = stored.get(row.number)
        if recommendation is None:
            new.append(
                Recommendation(
                    framework=framework,
                    tenant=tenant,
                    theme=theme,
                    number=row.number,
                    title=row.title,
                    text=row.text,
                )
            )
            continue
        values = {"theme_id": theme.pk, "title": row.title, "text": row.text, "tenant": tenant}
        if any(getattr(recommendation, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(recommendation, name, value)
            changed.append(recommendation)
    Recommendation.objects.bulk_create(new, batch_size=500)
    Recommendation.objects.bulk_update(
        changed, ["theme", "title", "text", "tenant"], batch_size=500
    )
    in_file = {row.number for row in report.file.rows}
    removed = [r.pk for number, r in stored.items() if number not in in_file]
    # PROTECT on the actions' links refuses removing an answered recommendation, even one
    # linked after the check above.
    Recommendation.objects.filter(pk__in=removed).delete()
    in_file_themes = {summary.number for summary in report.themes}
    Theme.objects.filter(framework=framework).exclude(position__in=in_file_themes).delete()

    after = {**_counts_text(framework), "file": report.file.name}
    summary = (
        f"Framework imported from {report.file.name}"
        if report.existing is None
        else f"Framework updated from {report.file.name}. {report.changes.summary}"
    )
    if tenant is not None:
        FRAMEWORK_CHANGES.record(
            framework, by=by, summary=summary, before=before, after=after, always=True
        )
    else:
        # A national framework belongs to no tenant, so it has no tenant's audit record; the
        # operator's admin log says who imported it, from which file.
        LogEntry.objects.log_actions(
            user_id=by.pk,
            queryset=[framework],
            action_flag=ADDITION if report.existing is None else CHANGE,
            change_message=f"{summary} (SHA-256 {report.file.sha256[:16]}).",
            single_object=True,
        )
    report.framework, report.imported = framework, True
