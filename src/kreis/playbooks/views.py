"""Pages for playbooks: list, detail with the parties in it and the measurement against the
control group, editing (administrators), and the panel on a party's page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kreis.parties.queries import party_get_for_user
from kreis.playbooks import queries, services
from kreis.playbooks.forms import PlaybookForm, StartForm, StepForm
from kreis.playbooks.models import EnrollmentStatus, Playbook, PlaybookStep

VIEW = queries.VIEW
MANAGE = queries.MANAGE
PAGE_SIZE = 50


def _playbook(request: HttpRequest, pk: int, perm: str = VIEW) -> Playbook:
    return queries.playbook_get_for_user(user=request.user, pk=pk, perm=perm)


@login_required
def playbook_list(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(VIEW):
        raise PermissionDenied
    playbooks = list(queries.playbook_list_for_user(user=request.user))
    for playbook in playbooks:
        playbook.counts = queries.status_counts(user=request.user, playbook=playbook)
    return render(
        request,
        "playbooks/list.html",
        {"playbooks": playbooks, "can_manage": request.user.has_perm(MANAGE)},
    )


@login_required
def playbook_create(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(MANAGE):
        raise PermissionDenied
    form = PlaybookForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        playbook = form.save(commit=False)
        playbook.created_by = request.user
        with transaction.atomic():
            playbook.save()
            form.save_m2m()
        messages.success(request, _("Playbook created. Add its steps now."))
        return redirect("playbooks:detail", playbook.pk)
    return render(request, "playbooks/form.html", {"form": form, "playbook": None})


@login_required
def playbook_edit(request: HttpRequest, pk: int) -> HttpResponse:
    playbook = _playbook(request, pk, MANAGE)
    form = PlaybookForm(request.POST or None, instance=playbook)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Playbook saved."))
        return redirect("playbooks:detail", playbook.pk)
    return render(request, "playbooks/form.html", {"form": form, "playbook": playbook})


@login_required
def playbook_delete(request: HttpRequest, pk: int) -> HttpResponse:
    playbook = _playbook(request, pk, MANAGE)
    if request.method == "POST":
        playbook.delete()
        messages.success(request, _("Playbook deleted."))
        return redirect("playbooks:list")
    return render(request, "playbooks/delete.html", {"playbook": playbook})


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


@login_required
def playbook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    playbook = _playbook(request, pk)
    user = request.user
    status = request.GET.get("status", "")
    if status not in EnrollmentStatus.values:
        status = ""
    step = _int(request.GET.get("step"))
    enrollments = queries.enrollment_list_for_user(
        user=user, playbook=playbook, status=status, step=step
    )
    page = Paginator(enrollments, PAGE_SIZE).get_page(request.GET.get("page"))
    steps = list(playbook.steps.order_by("position"))
    titles = {s.position: s.title for s in steps}
    for enrollment in page:
        enrollment.step_title = titles.get(enrollment.current_step, "")
    queries.attach_offers(page)
    step_counts = queries.step_counts(user=user, playbook=playbook)
    for s in steps:
        s.n_here = step_counts.get(s.position, 0)
    counts = queries.status_counts(user=user, playbook=playbook)
    stats = queries.playbook_stats(playbook)
    query = urlencode(
        {k: v for k, v in (("status", status), ("step", step)) if v not in ("", None)}
    )
    can_manage = user.has_perm(MANAGE, playbook)
    context = {
        "playbook": playbook,
        "steps": steps,
        "page": page,
        "query": query,
        "status": status,
        "step": step,
        "statuses": [(v, label, counts.get(v, 0)) for v, label in EnrollmentStatus.choices],
        "stats": stats,
        "stats_rows": [
            (_("Window ended"), _row(stats["ended"])),
            (_("Running (windows still open)"), _row(stats["running"])),
        ],
        "chart": queries.stats_chart(playbook, stats),
        "can_manage": can_manage,
        "step_form": StepForm(prefix="new") if can_manage else None,
    }
    return render(request, "playbooks/detail.html", context)


def _row(comparison) -> dict:
    """A comparison in percent for the table."""

    def group(g):
        return {"n": g.n, "successes": g.successes, "rate": g.rate, "pct": _pct(g.rate)}

    ci = comparison.interval
    return {
        "treated": group(comparison.treated),
        "control": group(comparison.control),
        "uplift_pct": _pct(comparison.uplift),
        "ci": (ci[0] * 100, ci[1] * 100) if ci else None,
        "significant": comparison.significant,
    }


def _pct(value: float | None) -> float | None:
    return None if value is None else value * 100


@login_required
@require_POST
def step_add(request: HttpRequest, pk: int) -> HttpResponse:
    playbook = _playbook(request, pk, MANAGE)
    form = StepForm(request.POST, prefix="new")
    if form.is_valid():
        services.step_add(playbook, form.save(commit=False))
        messages.success(request, _("Step added."))
        return redirect("playbooks:detail", playbook.pk)
    return render(
        request, "playbooks/step_form.html", {"form": form, "playbook": playbook, "step": None}
    )


def _step(playbook: Playbook, step_pk: int) -> PlaybookStep:
    step = playbook.steps.filter(pk=step_pk).first()
    if step is None:
        raise Http404
    return step


@login_required
def step_edit(request: HttpRequest, pk: int, step_pk: int) -> HttpResponse:
    playbook = _playbook(request, pk, MANAGE)
    step = _step(playbook, step_pk)
    form = StepForm(request.POST or None, instance=step)
    if request.method == "POST" and form.is_valid():
        form.save()
        Playbook.objects.filter(pk=playbook.pk).update(updated_at=timezone.now())
        messages.success(request, _("Step saved."))
        return redirect("playbooks:detail", playbook.pk)
    return render(
        request, "playbooks/step_form.html", {"form": form, "playbook": playbook, "step": step}
    )


@login_required
@require_POST
def step_delete(request: HttpRequest, pk: int, step_pk: int) -> HttpResponse:
    playbook = _playbook(request, pk, MANAGE)
    services.step_delete(_step(playbook, step_pk))
    messages.success(request, _("Step deleted."))
    return redirect("playbooks:detail", playbook.pk)


@login_required
@require_POST
def step_move(request: HttpRequest, pk: int, step_pk: int) -> HttpResponse:
    playbook = _playbook(request, pk, MANAGE)
    services.step_move(_step(playbook, step_pk), up=request.POST.get("direction") == "up")
    return redirect("playbooks:detail", playbook.pk)


@login_required
@require_POST
def playbook_advance(request: HttpRequest, pk: int) -> HttpResponse:
    """Run the exit checks and the due steps of this playbook now (administrators)."""
    playbook = _playbook(request, pk, MANAGE)
    services.check_exits()
    ran = services.advance_due(playbook_ids=[playbook.pk])
    messages.success(request, _("%(count)s due steps run.") % {"count": ran})
    return redirect("playbooks:detail", playbook.pk)


@login_required
@require_POST
def enrollment_remove(request: HttpRequest, pk: int, enrollment_pk: int) -> HttpResponse:
    playbook = _playbook(request, pk, MANAGE)
    enrollment = queries.enrollment_get_for_user(user=request.user, pk=enrollment_pk)
    if enrollment.playbook_id != playbook.pk:
        raise Http404
    if services.remove_enrollment(enrollment, note=request.POST.get("note", "")[:300]):
        messages.success(
            request, _("%(party)s removed from the playbook.") % {"party": enrollment.party}
        )
    else:
        messages.info(request, _("This enrollment had already ended."))
    back = request.POST.get("next", "")
    if back == "party":
        return redirect("parties:detail", enrollment.party_id)
    return redirect("playbooks:detail", playbook.pk)


@login_required
def party_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """The card on a party's page: the playbooks the party is (or was) in."""
    party = party_get_for_user(user=request.user, pk=pk)
    can_view = request.user.has_perm(VIEW)
    enrollments = (
        list(queries.enrollment_list_for_user(user=request.user, party=party)[:20])
        if can_view
        else []
    )
    queries.attach_offers(enrollments)
    can_manage = request.user.has_perm(MANAGE)
    return render(
        request,
        "playbooks/_party_panel.html",
        {
            "party": party,
            "enrollments": enrollments,
            "can_view": can_view,
            "can_manage": can_manage,
            "start_form": StartForm(prefix="pb") if can_manage else None,
        },
    )


@login_required
@require_POST
def party_start(request: HttpRequest, pk: int) -> HttpResponse:
    """Start a playbook for this party by hand (administrators)."""
    if not request.user.has_perm(MANAGE):
        raise PermissionDenied
    party = party_get_for_user(user=request.user, pk=pk)
    form = StartForm(request.POST, prefix="pb")
    if not form.is_valid():
        messages.error(request, _("Choose an enabled playbook."))
        return redirect("parties:detail", party.pk)
    playbook = form.cleaned_data["playbook"]
    source = f"user:{request.user.pk}"
    if services.start_for_parties(playbook, [party.pk], source=source):
        messages.success(request, _("Playbook %(name)s started.") % {"name": playbook.name})
    else:
        messages.info(
            request,
            _("%(party)s is already in this playbook or its relationship type does not apply.")
            % {"party": party},
        )
    return redirect("parties:detail", party.pk)
