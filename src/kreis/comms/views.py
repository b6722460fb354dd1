"""Pages of two-way e-mail: the mail list, threads, a message's sandboxed body, accounts with
their sharing rules, the compose form (from a party, deal or case, or as a reply) and the
templates. Thin: every read through ``queries`` (permission checks), every write through the
services."""

from __future__ import annotations

from csp.decorators import csp_exempt
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from kreis.comms import queries, services
from kreis.comms.display import body_document, sanitize_mail_html
from kreis.comms.forms import AccountForm, ComposeForm, PreviewForm, RuleForm, TemplateForm
from kreis.comms.merge import FIELDS, merge_values, render_text
from kreis.comms.models import MailAccount, SharingRule
from kreis.comms.sending import SendError, message_send, reply_subject
from kreis.comms.tasks import sync_mail_account
from kreis.core.models import Team
from kreis.parties.queries import party_get_for_user

BODY_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data: {images}; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)


def _form_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            target = field if field in form.fields else None
            for error in errors:
                form.add_error(target, error)
    else:
        for message in exc.messages:
            form.add_error(None, message)


# --- Mail -------------------------------------------------------------------------------------


@login_required
def message_list(request: HttpRequest) -> HttpResponse:
    qs = queries.messages_for_user(user=request.user).select_related("account")
    text = request.GET.get("q", "").strip()
    if text:
        qs = qs.filter(
            Q(subject__icontains=text) | Q(from_address__icontains=text) | Q(text__icontains=text)
        )
    mine = request.GET.get("mine") == "1"
    if mine:
        qs = qs.filter(
            Q(account__owner=request.user) | Q(account__team_id__in=request.user.team_ids())
        )
    page = Paginator(qs.order_by("-sent_at", "-pk"), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "comms/list.html",
        {
            "page": page,
            "q": text,
            "mine": mine,
            "accounts": queries.accounts_for_user(user=request.user),
        },
    )


def _thread_context(request, thread, items, current=None) -> dict:
    return {
        "thread": thread,
        "items": items,
        "current": current,
        "can_send": queries.accounts_for_sending(user=request.user).exists(),
    }


@login_required
def thread_detail(request: HttpRequest, pk: int) -> HttpResponse:
    thread, items = queries.thread_get_for_user(user=request.user, pk=pk)
    return render(request, "comms/thread.html", _thread_context(request, thread, items))


@login_required
def message_detail(request: HttpRequest, pk: int) -> HttpResponse:
    message = queries.message_get_for_user(user=request.user, pk=pk)
    thread, items = queries.thread_get_for_user(user=request.user, pk=message.thread_id)
    return render(request, "comms/thread.html", _thread_context(request, thread, items, message))


@csp_exempt()
@xframe_options_sameorigin
@login_required
def message_body(request: HttpRequest, pk: int) -> HttpResponse:
    """The message's HTML, sanitised, as the whole document of a sandboxed iframe."""
    message = queries.message_get_for_user(user=request.user, pk=pk)
    attachments = {a.content_id.strip("<>"): a for a in message.attachments.all() if a.content_id}

    def cid_url(cid: str) -> str | None:
        found = attachments.get(cid.strip("<>"))
        return reverse("comms:attachment", args=[found.pk]) + "?inline=1" if found else None

    clean, _blocked = sanitize_mail_html(
        message.html, show_images=message.show_images, cid_url=cid_url
    )
    response = HttpResponse(body_document(clean), content_type="text/html; charset=utf-8")
    images = "'self' https: http:" if message.show_images else "'self'"
    response["Content-Security-Policy"] = BODY_CSP.format(images=images)
    response["Referrer-Policy"] = "no-referrer"
    return response


@login_required
@require_POST
def message_images(request: HttpRequest, pk: int) -> HttpResponse:
    message = queries.message_get_for_user(user=request.user, pk=pk)
    services.message_show_images(
        actor=request.user, message=message, show=request.POST.get("show", "1") == "1"
    )
    return redirect(f"{reverse('comms:message', args=[message.pk])}#message-{message.pk}")


@login_required
def attachment_download(request: HttpRequest, pk: int) -> FileResponse:
    attachment = queries.attachment_get_for_user(user=request.user, pk=pk)
    if not attachment.file:
        raise Http404
    inline = request.GET.get("inline") == "1" and attachment.content_type in (
        "image/png",
        "image/jpeg",
        "image/gif",
    )
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=not inline,
        filename=attachment.filename,
        content_type=attachment.content_type if inline else "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def party_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """The party page's e-mail card: recent mail the user may see, addresses that bounced, and
    the "Write e-mail" button."""
    party = party_get_for_user(user=request.user, pk=pk)
    addresses = [c.value for c in party.contact_points.all() if c.kind == "email"]
    return render(
        request,
        "comms/_party_panel.html",
        {
            "party": party,
            "items": queries.party_messages_for_user(user=request.user, party_id=party.pk),
            "statuses": queries.invalid_addresses(addresses).values(),
            "can_send": queries.accounts_for_sending(user=request.user).exists(),
        },
    )


# --- Accounts ---------------------------------------------------------------------------------


def _managed_teams(user) -> list[Team]:
    if user.is_admin:
        return list(Team.objects.order_by("name"))
    return list(Team.objects.filter(pk__in=user.managed_team_ids()).order_by("name"))


@login_required
def account_list(request: HttpRequest) -> HttpResponse:
    accounts = queries.accounts_to_list(user=request.user)
    return render(request, "comms/accounts.html", {"accounts": accounts})


@login_required
def account_create(request: HttpRequest) -> HttpResponse:
    if request.user.is_read_only:
        raise PermissionDenied
    teams = _managed_teams(request.user)
    # The form validates a personal account; a chosen team makes it shared in the service.
    form = AccountForm(request.POST or None, instance=MailAccount(owner=request.user), teams=teams)
    if request.method == "POST" and form.is_valid():
        team_id = form.cleaned_data.get("shared_team")
        team = next((t for t in teams if str(t.pk) == team_id), None) if team_id else None
        try:
            account = services.account_create(
                actor=request.user, team=team, **form.service_fields()
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            flash.success(request, _("The account is saved. Test the connection, then sync."))
            return redirect("comms:account", pk=account.pk)
    return render(request, "comms/account_form.html", {"form": form, "account": None})


@login_required
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = queries.account_get_for_user(user=request.user, pk=pk, manage=True)
    form = AccountForm(request.POST or None, instance=account)
    if request.method == "POST" and form.is_valid():
        try:
            services.account_update(actor=request.user, account=account, **form.service_fields())
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            flash.success(request, _("The account is saved."))
            return redirect("comms:account", pk=account.pk)
    return render(
        request,
        "comms/account_form.html",
        {"form": form, "account": account, "rule_form": RuleForm(), "rules": account.rules.all()},
    )


@login_required
@require_POST
def account_test(request: HttpRequest, pk: int) -> HttpResponse:
    account = queries.account_get_for_user(user=request.user, pk=pk, manage=True)
    try:
        folder, smtp = services.account_test_connection(actor=request.user, account=account)
    except ValidationError as exc:
        flash.error(request, _("The connection failed. %s") % " ".join(exc.messages))
    else:
        flash.success(
            request,
            _("The connection works: “%(folder)s” holds %(count)d messages. %(smtp)s")
            % {"folder": folder.name, "count": folder.exists, "smtp": smtp},
        )
    return redirect("comms:account", pk=account.pk)


@login_required
@require_POST
def account_sync(request: HttpRequest, pk: int) -> HttpResponse:
    account = queries.account_get_for_user(user=request.user, pk=pk, manage=True)
    MailAccount.objects.filter(pk=account.pk).update(sync_running=True)
    sync_mail_account(account.pk)
    flash.info(request, _("The sync has started; new mail appears as it comes in."))
    return redirect("comms:account", pk=account.pk)


@login_required
def account_progress(request: HttpRequest, pk: int) -> HttpResponse:
    account = queries.account_get_for_user(user=request.user, pk=pk, manage=True)
    return render(request, "comms/_progress.html", {"account": account})


@login_required
@require_POST
def account_delete(request: HttpRequest, pk: int) -> HttpResponse:
    account = queries.account_get_for_user(user=request.user, pk=pk, manage=True)
    services.account_delete(actor=request.user, account=account)
    flash.success(request, _("The account and its synced mail are removed."))
    return redirect("comms:accounts")


@login_required
@require_POST
def rule_add(request: HttpRequest, pk: int) -> HttpResponse:
    account = queries.account_get_for_user(user=request.user, pk=pk, manage=True)
    form = RuleForm(request.POST)
    if form.is_valid():
        try:
            services.rule_add(actor=request.user, account=account, **form.cleaned_data)
        except ValidationError as exc:
            flash.error(request, " ".join(exc.messages))
    else:
        flash.error(request, _("Enter an address or a domain."))
    return redirect("comms:account", pk=account.pk)


@login_required
@require_POST
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = SharingRule.objects.filter(pk=pk).select_related("account").first()
    if rule is None:
        raise Http404
    account = queries.account_get_for_user(user=request.user, pk=rule.account_id, manage=True)
    services.rule_delete(actor=request.user, rule=rule)
    return redirect("comms:account", pk=account.pk)


# --- Compose ----------------------------------------------------------------------------------


def _context_records(request: HttpRequest):
    """The party, deal, case and message the form was opened from (each checked)."""
    from kreis.sales.queries import deal_get_for_user
    from kreis.service.queries import case_get_for_user

    user = request.user
    params = request.POST if request.method == "POST" else request.GET

    def number(name: str) -> int | None:
        value = params.get(name, "")
        return int(value) if value.isdigit() else None

    party = deal = case = reply = None
    if number("reply"):
        reply = queries.message_get_for_user(user=user, pk=number("reply"))
    if number("deal"):
        deal = deal_get_for_user(user=user, pk=number("deal"))
    if number("case"):
        case = case_get_for_user(user=user, pk=number("case"))
    if number("party"):
        party = party_get_for_user(user=user, pk=number("party"))
    party = party or (deal.contact or deal.organization if deal else None)
    party = party or (case.party if case else None)
    if party is None and reply is not None:
        party = reply.parties.first()
    return party, deal, case, reply


def _initial(request, party, deal, case, reply) -> dict:
    initial: dict = {}
    if party is not None:
        emails = [c for c in party.contact_points.all() if c.kind == "email"]
        if emails:
            initial["to"] = emails[0].value
    if deal is not None:
        initial["subject"] = deal.name
    if case is not None:
        initial["subject"] = f"{case.number} {case.subject}"
    if reply is not None:
        own = reply.account.email_address
        if reply.direction == "inbound":
            to = [reply.from_address]
        else:
            to = list(reply.to_addresses)
        initial["to"] = ", ".join(to)
        if request.GET.get("all") == "1":
            cc = [a for a in [*reply.to_addresses, *reply.cc_addresses] if a not in (own, *to)]
            initial["cc"] = ", ".join(cc)
        initial["subject"] = reply_subject(reply.subject)
        quoted = "\n".join(f"> {line}" for line in reply.text.splitlines())
        initial["body"] = f"\n\n{reply.from_name or reply.from_address}:\n{quoted}"
        initial["account"] = str(reply.account_id)
    return initial


@login_required
def compose(request: HttpRequest) -> HttpResponse:
    party, deal, case, reply = _context_records(request)
    accounts = list(queries.accounts_for_sending(user=request.user))
    templates = list(queries.templates_active())
    form = ComposeForm(
        request.POST or None,
        initial=_initial(request, party, deal, case, reply),
        accounts=accounts,
        templates=templates,
    )
    if request.method == "POST" and "apply_template" in request.POST:
        # Fill subject and text from the template, in the recipient's language; what else
        # was typed (recipients, account) stays.
        data = request.POST.dict()
        template = queries.template_for_language(
            name=data.get("template", ""), language=queries.recipient_language(party)
        )
        if template is not None:
            values = merge_values(party=party, deal=deal, owner=request.user)
            data["subject"] = render_text(template.subject, values)
            data["body"] = render_text(template.body, values)
        form = ComposeForm(initial=data, accounts=accounts, templates=templates)
    elif request.method == "POST" and form.is_valid():
        account = next(a for a in accounts if str(a.pk) == form.cleaned_data["account"])
        try:
            sent = message_send(
                actor=request.user,
                account=account,
                to=form.cleaned_data["to"],
                cc=form.cleaned_data.get("cc", ""),
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["body"],
                reply_to=reply,
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        except SendError as exc:
            form.add_error(None, str(exc))
        else:
            if sent.warning:
                flash.warning(request, sent.warning)
            flash.success(request, _("The e-mail is sent."))
            return redirect("comms:thread", pk=sent.message.thread_id)
    return render(
        request,
        "comms/compose.html",
        {
            "form": form,
            "party": party,
            "deal": deal,
            "case": case,
            "reply": reply,
            "no_account": not accounts,
        },
    )


@login_required
def template_render(request: HttpRequest) -> JsonResponse:
    """The chosen template filled in for the party/deal of the compose form, in the party's
    language (the compose page calls this when a template is picked)."""
    party, deal, _case, _reply = _context_records(request)
    name = request.GET.get("name", "")
    language = request.GET.get("language") or queries.recipient_language(party)
    template = queries.template_for_language(name=name, language=language)
    if template is None:
        raise Http404
    values = merge_values(party=party, deal=deal, owner=request.user)
    return JsonResponse(
        {
            "language": template.language,
            "subject": render_text(template.subject, values),
            "body": render_text(template.body, values),
        }
    )


# --- Templates ------------------------------------------------------------------------------


@login_required
def template_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "comms/templates.html",
        {"templates": queries.EmailTemplate.objects.all(), "fields": FIELDS},
    )


@login_required
def template_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    template = queries.template_get(pk=pk) if pk else None
    form = TemplateForm(request.POST or None, instance=template)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.template_save(
                actor=request.user, template=template, **form.cleaned_data
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            flash.success(request, _("The template is saved."))
            return redirect("comms:template", pk=saved.pk)
    preview = None
    preview_form = PreviewForm(request.GET or None)
    if template is not None and request.GET and preview_form.is_valid():
        party = party_get_for_user(user=request.user, pk=preview_form.cleaned_data["party"])
        language = preview_form.cleaned_data.get("language") or queries.recipient_language(party)
        shown = queries.template_for_language(name=template.name, language=language) or template
        values = merge_values(party=party, owner=request.user)
        preview = {
            "party": party,
            "language": shown.language,
            "subject": render_text(shown.subject, values),
            "body": render_text(shown.body, values),
        }
    return render(
        request,
        "comms/template_form.html",
        {
            "form": form,
            "template": template,
            "fields": FIELDS,
            "preview_form": preview_form,
            "preview": preview,
        },
    )


@login_required
@require_POST
def template_delete(request: HttpRequest, pk: int) -> HttpResponse:
    services.template_delete(actor=request.user, template=queries.template_get(pk=pk))
    flash.success(request, _("The template is deleted."))
    return redirect("comms:templates")
