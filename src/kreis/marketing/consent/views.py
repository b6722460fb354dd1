"""Staff pages of consents: the consent history card of the party and lead pages (loaded into
them with HTMX: parties and leads do not know marketing), recording and withdrawing a consent,
one consent text version, and the consent texts with their versions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kreis.core.web import apply_errors
from kreis.leads.queries import lead_get_for_user
from kreis.marketing.consent import queries, services
from kreis.marketing.consent.forms import ConsentTextForm, RecordConsentForm
from kreis.marketing.models import Consent, ConsentSource, ConsentStatus, ConsentText
from kreis.parties.queries import party_get_for_user


def _subject(request: HttpRequest, kind: str, pk: int, *, write: bool = False):
    if kind == "party":
        return party_get_for_user(user=request.user, pk=pk, write=write, related=False)
    if kind == "lead":
        return lead_get_for_user(user=request.user, pk=pk, write=write, related=())
    raise Http404


def _back(kind: str, subject) -> str:
    name = "parties:detail" if kind == "party" else "leads:detail"
    return reverse(name, args=[subject.pk]) + "#consents"


@login_required
def history_panel(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """The consent history card of a party or lead page."""
    subject = _subject(request, kind, pk)
    consents = list(queries.history(**{kind: subject}))
    context = {
        "consents": consents,
        "kind": kind,
        "subject": subject,
        "can_change": request.user.has_perm("core.change_record", subject),
        "back": _back(kind, subject),
        "withdrawable": (ConsentStatus.PENDING, ConsentStatus.GRANTED),
    }
    return render(request, "marketing/consent/_history.html", context)


@login_required
def record(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """Staff record a consent of a party or lead (documented, existing customer, or a double
    opt-in whose mail goes out)."""
    subject = _subject(request, kind, pk, write=True)
    initial = {"language": getattr(subject, "language", "") or request.LANGUAGE_CODE[:2]}
    form = RecordConsentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.request_consent(
                purpose=data["purpose"],
                channel=data["channel"],
                email=data["email"],
                language=data["language"],
                source=ConsentSource.STAFF,
                party=subject if kind == "party" else None,
                lead=subject if kind == "lead" else None,
                actor=request.user,
                basis=data["basis"],
                base_url=request.build_absolute_uri("/"),
                note=data["note"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        except services.NoPublicAddress as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The consent is recorded."))
            return redirect(_back(kind, subject))
    status = 422 if request.method == "POST" else 200
    context = {"form": form, "subject": subject, "kind": kind, "back": _back(kind, subject)}
    return render(request, "marketing/consent/record.html", context, status=status)


@login_required
@require_POST
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff withdraw a consent (the person said so by phone, letter, …)."""
    consent = get_object_or_404(Consent.objects.select_related("party", "lead"), pk=pk)
    if not queries.subject_allows(request.user, consent, write=False):
        raise Http404
    if not queries.subject_allows(request.user, consent, write=True):
        raise PermissionDenied
    if services.withdraw(consent, actor=request.user, via=services.Via.STAFF):
        messages.success(request, _("The consent is withdrawn."))
    kind, subject = ("party", consent.party) if consent.party else ("lead", consent.lead)
    wanted = request.POST.get("back", "")
    if wanted in ("party", "lead") and getattr(consent, wanted) is not None:
        kind, subject = wanted, getattr(consent, wanted)
    if subject is None:
        return redirect("marketing:consent_texts")
    return redirect(_back(kind, subject))


@login_required
def text_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One version of a consent text, exactly as it was shown."""
    text = get_object_or_404(ConsentText.objects.select_related("created_by"), pk=pk)
    newest = services.current_text(text.purpose, text.language)
    return render(
        request,
        "marketing/consent/text.html",
        {"text": text, "is_current": newest is not None and newest.pk == text.pk},
    )


@login_required
def texts(request: HttpRequest) -> HttpResponse:
    """Consent texts: purposes × languages with the current version and the older ones."""
    if not request.user.has_perm("marketing.view"):
        raise PermissionDenied
    return render(
        request,
        "marketing/consent/texts.html",
        {"rows": queries.text_table(), "can_add": request.user.has_perm("marketing.add")},
    )


@login_required
def text_new(request: HttpRequest) -> HttpResponse:
    """A new version of a consent text (the form starts with the current wording)."""
    if not request.user.has_perm("marketing.add"):
        raise PermissionDenied
    initial = {
        "purpose": request.GET.get("purpose", ""),
        "language": request.GET.get("language", ""),
    }
    current = services.current_text(initial["purpose"], initial["language"])
    if current is not None:
        initial["text"] = current.text
    form = ConsentTextForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            text = services.text_create_version(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request, _("Version %(version)s is now in use.") % {"version": text.version}
            )
            return redirect("marketing:consent_texts")
    status = 422 if request.method == "POST" else 200
    return render(request, "marketing/consent/text_form.html", {"form": form}, status=status)
