"""The workflow's page layer: a confirmation page for any step of any model the engine drives,
and the sentences that tell a person what their step did and whose turn it is next.

A model's app wires a URL to ``step_confirm`` with the object loaded for its tenant; the rules
stay in the workflow declarations and the one transition service.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render

from tenants.models import User
from tenants.rules import has_second_factor
from workflow.engine import Actor, Transition, WorkflowModel
from workflow.forms import StepForm
from workflow.selectors import QuorumProgress, approvals_awaited, quorum_progress
from workflow.services import (
    TransitionOutcome,
    TransitionRefused,
    transition_perform,
    transition_refusal,
    transitions_available,
)


def steps_context(*, obj: WorkflowModel, user: User, actor: Actor | None = None) -> dict:
    """What ``includes/transitions.html`` shows: the steps for this person, and the approvals
    the object awaits from its approving bodies. ``actor``: as for ``transitions_available``."""
    return {
        "offers": transitions_available(obj=obj, user=user, actor=actor),
        "awaiting": approvals_awaited(obj=obj),
    }


def step_confirm(
    request: HttpRequest,
    *,
    obj: WorkflowModel,
    name: str,
    noun: str,
    obj_url: str,
    crumbs: Sequence[tuple[str, str]] = (),
    summary: Sequence[tuple[str, str]] = (),
    template: str = "workflow/step_confirm.html",
) -> HttpResponse:
    """GET: what step ``name`` does to ``obj``, with the reason field where the rules want one.
    POST: the step, through the transition service, then back to ``obj_url`` saying what
    happened.

    A missing reason is a form error (400); a step the service refuses this person, whether
    offered or not, shows why (403). Neither changes anything. ``noun`` names the object in
    sentences ("action"); ``crumbs`` are (text, address) pairs above the page; ``summary`` rows
    describe the object, its state added after them.
    """
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    transition = obj.workflow.get(name)
    if transition is None:
        raise Http404("No such step.")
    form = StepForm(request.POST if request.method == "POST" else None, transition=transition)
    refusal = transition_refusal(obj=obj, name=name, user=request.user)
    status = 403 if refusal else 200
    if request.method == "POST" and not refusal:
        if form.is_valid():
            try:
                outcome = transition_perform(
                    obj=obj, name=name, user=request.user, comment=form.cleaned_data["comment"]
                )
            except TransitionRefused as refused:
                # Someone else moved it on between the check and the locked row.
                refusal, status = str(refused), 403
            else:
                messages.success(request, step_outcome(outcome, transition=transition, noun=noun))
                return redirect(obj_url)
        else:
            status = 400
    target = obj.target_state(transition)
    context = {
        "obj": obj,
        "noun": noun,
        "transition": transition,
        "from_state": obj.workflow_state_label,
        "to_state": obj.state_label(target) if target else "",
        "form": form,
        "refusal": refusal,
        "second_factor": bool(refusal)
        and transition.needs_second_factor
        and not has_second_factor(request.user),
        "progress": quorum_progress(obj=obj, name=name),
        "obj_url": obj_url,
        "crumbs": [part for crumb in crumbs for part in crumb],
        "summary": summary,
    }
    return render(request, template, context, status=status)


# -- what a step did, and who is next ----------------------------------------------------------


def step_outcome(outcome: TransitionOutcome, *, transition: Transition, noun: str) -> str:
    """What happened, for the person who took the step, and whose approval is awaited now."""
    if not outcome.fired:
        text = f"Your approval is recorded: {outcome.approvals} of {outcome.quorum}."
        progress = quorum_progress(obj=outcome.obj, name=transition.name)
        if progress is not None and progress.needed:
            text += " " + still_needed(progress)
        return text
    text = f"{transition.done_text} This {noun} is now {outcome.obj.workflow_state_label.lower()}."
    for progress in approvals_awaited(obj=outcome.obj):
        text += " " + who_approves(progress)
    return text


def who_approves(progress: QuorumProgress) -> str:
    """Whose approval is awaited, for example: The LSCB board signs it off: 2 of its members
    must approve (Carol Jones, Dave Smith)."""
    count = "one" if progress.quorum == 1 else str(progress.quorum)
    text = f"The {progress.body.name} {progress.transition.approval_phrase}: {count} of its members"
    if not progress.may_approve:
        return f"{text} must approve, and none of them can now."
    if progress.short:
        return (
            f"{text} must approve, but only {len(progress.may_approve)} can "
            f"({_names(progress.may_approve)})."
        )
    return f"{text} must approve ({_names(progress.may_approve)})."


def still_needed(progress: QuorumProgress) -> str:
    """How many more approvals, for example: It needs 1 more approval from the LSCB board: Dave
    Smith may still approve."""
    needed = progress.needed
    approvals = "approval" if needed == 1 else "approvals"
    text = f"It needs {needed} more {approvals} from the {progress.body.name}"
    if not progress.may_approve:
        return f"{text}, and no other member can approve it now."
    return f"{text}: {_either(progress.may_approve)} may still approve."


def _names(users: Iterable[User]) -> str:
    return ", ".join(str(user) for user in users)


def _either(users: Iterable[User]) -> str:
    """Names joined with "or": Ann Lee, Carol Jones or Dave Smith."""
    names = [str(user) for user in users]
    return " or ".join(names) if len(names) <= 2 else f"{', '.join(names[:-1])} or {names[-1]}"
