"""REST API of two-way e-mail, under ``/mail/…``: accounts (passwords write-only), sharing
rules, sync, messages and threads (the same visibility as the pages: another user's private
mail is a 404), sending and replying, templates with a preview, and bounce statuses.
Thin: reads through ``queries``, writes through the services."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from kreis.comms import queries, services
from kreis.comms.merge import merge_values, render_text
from kreis.comms.models import EmailTemplate, MailAccount, Message, SharingRule
from kreis.comms.sending import SendError, message_send
from kreis.comms.sync import sync_account
from kreis.core.api_support import PROBLEM_RESPONSES, Input, ObjectId, Pagination
from kreis.core.models import Team
from kreis.parties.queries import party_get_for_user

router = Router(tags=["e-mail"])
NO_CONTENT = {204: None, **PROBLEM_RESPONSES}
SecurityName = Literal["ssl", "starttls", "none"]
ShareName = Literal["all", "known", "none"]
Host = Annotated[str, Field(min_length=1, max_length=255)]
Port = Annotated[int, Field(ge=1, le=65535)]
Short = Annotated[str, Field(max_length=255)]


class AccountOut(Schema):
    id: int
    name: str
    email_address: str
    display_name: str
    owner_id: int | None
    team_id: int | None
    imap_host: str
    imap_port: int
    imap_security: str
    imap_username: str
    imap_password_stored: bool
    smtp_host: str
    smtp_port: int
    smtp_security: str
    smtp_username: str
    smtp_password_stored: bool
    folders: list[str]
    sent_folder: str
    share_mode: str
    is_active: bool
    last_sync_at: dt.datetime | None
    last_error: str
    sync_running: bool
    sync_done: int
    sync_total: int

    @staticmethod
    def resolve_imap_password_stored(obj: MailAccount) -> bool:
        return obj.has_imap_password

    @staticmethod
    def resolve_smtp_password_stored(obj: MailAccount) -> bool:
        return obj.has_smtp_password

    @staticmethod
    def resolve_folders(obj: MailAccount) -> list[str]:
        return obj.folder_list()


class AccountIn(Input):
    name: Annotated[str, Field(min_length=1, max_length=120)]
    email_address: Annotated[str, Field(min_length=3, max_length=254)]
    display_name: Annotated[str, Field(max_length=120)] = ""
    team_id: int | None = Field(None, ge=1, description="a team: a shared mailbox of that team")
    imap_host: Host
    imap_port: Port = 993
    imap_security: SecurityName = "ssl"
    imap_username: Host
    imap_password: Annotated[str, Field(min_length=1, max_length=1000)]
    smtp_host: Short = ""
    smtp_port: Port = 587
    smtp_security: SecurityName = "starttls"
    smtp_username: Short = ""
    smtp_password: Annotated[str, Field(max_length=1000)] = ""
    folders: list[Annotated[str, Field(min_length=1, max_length=200)]] = ["INBOX"]
    sent_folder: Short = "Sent"
    share_mode: ShareName = "known"
    is_active: bool = True


class AccountPatch(Input):
    name: Annotated[str, Field(min_length=1, max_length=120)] | None = None
    email_address: Annotated[str, Field(min_length=3, max_length=254)] | None = None
    display_name: Annotated[str, Field(max_length=120)] | None = None
    imap_host: Host | None = None
    imap_port: Port | None = None
    imap_security: SecurityName | None = None
    imap_username: Host | None = None
    imap_password: Annotated[str, Field(max_length=1000)] | None = Field(
        None, description="empty or missing: keep the stored one"
    )
    smtp_host: Short | None = None
    smtp_port: Port | None = None
    smtp_security: SecurityName | None = None
    smtp_username: Short | None = None
    smtp_password: Annotated[str, Field(max_length=1000)] | None = None
    folders: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = None
    sent_folder: Short | None = None
    share_mode: ShareName | None = None
    is_active: bool | None = None


def _fields(payload: Input) -> dict:
    data = payload.dict(exclude_unset=True)
    data.pop("team_id", None)
    if "folders" in data and data["folders"] is not None:
        data["folders"] = ", ".join(data["folders"])
    return data


@router.get("/mail/accounts", response=list[AccountOut])
def list_accounts(request: HttpRequest):
    return list(queries.accounts_for_user(user=request.auth).order_by("name"))


@router.post("/mail/accounts", response={201: AccountOut, **PROBLEM_RESPONSES})
def create_account(request: HttpRequest, payload: AccountIn):
    team = None
    if payload.team_id is not None:
        team = Team.objects.filter(pk=payload.team_id).first()
        if team is None:
            raise ValidationError({"team_id": "No such team."})
    account = services.account_create(actor=request.auth, team=team, **_fields(payload))
    return Status(201, account)


@router.get("/mail/accounts/{account_id}", response={200: AccountOut, **PROBLEM_RESPONSES})
def get_account(request: HttpRequest, account_id: ObjectId):
    return queries.account_get_for_user(user=request.auth, pk=account_id, manage=True)


@router.patch("/mail/accounts/{account_id}", response={200: AccountOut, **PROBLEM_RESPONSES})
def update_account(request: HttpRequest, account_id: ObjectId, payload: AccountPatch):
    account = queries.account_get_for_user(user=request.auth, pk=account_id, manage=True)
    return services.account_update(actor=request.auth, account=account, **_fields(payload))


@router.delete("/mail/accounts/{account_id}", response=NO_CONTENT)
def delete_account(request: HttpRequest, account_id: ObjectId):
    account = queries.account_get_for_user(user=request.auth, pk=account_id, manage=True)
    services.account_delete(actor=request.auth, account=account)
    return Status(204, None)


class TestOut(Schema):
    folder: str
    messages: int
    smtp: str


@router.post("/mail/accounts/{account_id}/test", response={200: TestOut, **PROBLEM_RESPONSES})
def test_account(request: HttpRequest, account_id: ObjectId):
    """Log in to IMAP and SMTP; 422 with the server's reason when it fails."""
    account = queries.account_get_for_user(user=request.auth, pk=account_id, manage=True)
    folder, smtp = services.account_test_connection(actor=request.auth, account=account)
    return {"folder": folder.name, "messages": folder.exists, "smtp": smtp}


class SyncOut(Schema):
    stored: int
    skipped: int
    errors: int
    problems: list[str]


@router.post("/mail/accounts/{account_id}/sync", response={200: SyncOut, **PROBLEM_RESPONSES})
def sync_now(request: HttpRequest, account_id: ObjectId):
    """Sync now and answer with what was taken (the job does it every five minutes)."""
    account = queries.account_get_for_user(user=request.auth, pk=account_id, manage=True)
    result = sync_account(account)
    return {
        "stored": result.stored,
        "skipped": result.skipped,
        "errors": result.errors,
        "problems": result.problems,
    }


class RuleOut(Schema):
    id: int
    pattern: str
    action: str


class RuleIn(Input):
    pattern: Annotated[str, Field(min_length=2, max_length=254)]
    action: Literal["never", "always"]


@router.get("/mail/accounts/{account_id}/rules", response={200: list[RuleOut], **PROBLEM_RESPONSES})
def list_rules(request: HttpRequest, account_id: ObjectId):
    account = queries.account_get_for_user(user=request.auth, pk=account_id, manage=True)
    return list(account.rules.all())


@router.post("/mail/accounts/{account_id}/rules", response={201: RuleOut, **PROBLEM_RESPONSES})
def add_rule(request: HttpRequest, account_id: ObjectId, payload: RuleIn):
    account = queries.account_get_for_user(user=request.auth, pk=account_id, manage=True)
    rule = services.rule_add(
        actor=request.auth, account=account, pattern=payload.pattern, action=payload.action
    )
    return Status(201, rule)


@router.delete("/mail/rules/{mail_rule_id}", response=NO_CONTENT)
def delete_rule(request: HttpRequest, mail_rule_id: ObjectId):
    rule = SharingRule.objects.filter(pk=mail_rule_id).first()
    if rule is None:
        raise queries.Http404
    queries.account_get_for_user(user=request.auth, pk=rule.account_id, manage=True)
    services.rule_delete(actor=request.auth, rule=rule)
    return Status(204, None)


class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int
    stored: bool

    @staticmethod
    def resolve_stored(obj) -> bool:
        return bool(obj.file)


class MessageOut(Schema):
    id: int
    account_id: int
    thread_id: int
    message_id: str
    direction: str
    from_address: str
    from_name: str
    to_addresses: list[str]
    cc_addresses: list[str]
    subject: str
    sent_at: dt.datetime
    is_shared: bool
    is_bounce: bool
    party_ids: list[int]

    @staticmethod
    def resolve_party_ids(obj: Message) -> list[int]:
        return [p.pk for p in obj.parties.all()]


class MessageDetailOut(MessageOut):
    text: str
    has_html: bool
    in_reply_to: str
    references: list[str]
    attachments: list[AttachmentOut]

    @staticmethod
    def resolve_has_html(obj: Message) -> bool:
        return bool(obj.html)

    @staticmethod
    def resolve_references(obj: Message) -> list[str]:
        return obj.reference_ids()


@router.get("/mail/messages", response=list[MessageOut])
@paginate(Pagination)
def list_messages(
    request: HttpRequest,
    party_id: int | None = None,
    thread_id: int | None = None,
    shared: bool | None = None,
):
    qs = queries.messages_for_user(user=request.auth).prefetch_related("parties")
    if party_id is not None:
        qs = qs.filter(parties__id=party_id)
    if thread_id is not None:
        qs = qs.filter(thread_id=thread_id)
    if shared is not None:
        qs = qs.filter(is_shared=shared)
    return qs.order_by("-sent_at", "-pk").distinct()


@router.get("/mail/messages/{message_id}", response={200: MessageDetailOut, **PROBLEM_RESPONSES})
def get_message(request: HttpRequest, message_id: ObjectId):
    return queries.message_get_for_user(user=request.auth, pk=message_id)


class ImagesIn(Input):
    show: bool = True


@router.post("/mail/messages/{message_id}/images", response={200: MessageOut, **PROBLEM_RESPONSES})
def show_images(request: HttpRequest, message_id: ObjectId, payload: ImagesIn):
    message = queries.message_get_for_user(user=request.auth, pk=message_id)
    return services.message_show_images(actor=request.auth, message=message, show=payload.show)


class SendIn(Input):
    account_id: int = Field(..., ge=1)
    to: list[Annotated[str, Field(min_length=3, max_length=254)]] = Field(..., min_length=1)
    cc: list[Annotated[str, Field(min_length=3, max_length=254)]] = []
    subject: Annotated[str, Field(min_length=1, max_length=255)]
    body: Annotated[str, Field(max_length=200_000)]
    reply_to_id: int | None = Field(None, ge=1, description="the message answered")


class SentOut(Schema):
    message: MessageOut
    warning: str


@router.post("/mail/send", response={201: SentOut, **PROBLEM_RESPONSES, 502: dict})
def send(request: HttpRequest, payload: SendIn):
    """Send through the account's own SMTP server, file it in Sent, store it in its thread.
    A refusal by the SMTP server is 502 with the server's answer; nothing is stored."""
    account = queries.accounts_for_sending(user=request.auth).filter(pk=payload.account_id).first()
    if account is None:
        raise queries.Http404
    reply = (
        queries.message_get_for_user(user=request.auth, pk=payload.reply_to_id)
        if payload.reply_to_id
        else None
    )
    try:
        sent = message_send(
            actor=request.auth,
            account=account,
            to=payload.to,
            cc=payload.cc,
            subject=payload.subject,
            body=payload.body,
            reply_to=reply,
        )
    except SendError as exc:
        return Status(502, {"title": "The mail server refused the mail", "detail": str(exc)})
    return Status(201, {"message": sent.message, "warning": sent.warning})


class TemplateOut(Schema):
    id: int
    name: str
    language: str
    subject: str
    body: str
    is_active: bool


class TemplateIn(Input):
    name: Annotated[str, Field(min_length=1, max_length=120)]
    language: Literal["de", "en"]
    subject: Annotated[str, Field(min_length=1, max_length=255)]
    body: Annotated[str, Field(min_length=1, max_length=100_000)]
    is_active: bool = True


@router.get("/mail/templates", response=list[TemplateOut])
def list_templates(request: HttpRequest):
    return list(EmailTemplate.objects.all())


@router.post("/mail/templates", response={201: TemplateOut, **PROBLEM_RESPONSES})
def create_template(request: HttpRequest, payload: TemplateIn):
    return Status(201, services.template_save(actor=request.auth, **payload.dict()))


@router.get("/mail/templates/{mail_template_id}", response={200: TemplateOut, **PROBLEM_RESPONSES})
def get_template(request: HttpRequest, mail_template_id: ObjectId):
    return queries.template_get(pk=mail_template_id)


@router.put("/mail/templates/{mail_template_id}", response={200: TemplateOut, **PROBLEM_RESPONSES})
def update_template(request: HttpRequest, mail_template_id: ObjectId, payload: TemplateIn):
    template = queries.template_get(pk=mail_template_id)
    return services.template_save(actor=request.auth, template=template, **payload.dict())


@router.delete("/mail/templates/{mail_template_id}", response=NO_CONTENT)
def delete_template(request: HttpRequest, mail_template_id: ObjectId):
    services.template_delete(actor=request.auth, template=queries.template_get(pk=mail_template_id))
    return Status(204, None)


class PreviewIn(Input):
    party_id: int = Field(..., ge=1)
    language: Literal["de", "en"] | None = None


class PreviewOut(Schema):
    language: str
    subject: str
    body: str


@router.post(
    "/mail/templates/{mail_template_id}/preview", response={200: PreviewOut, **PROBLEM_RESPONSES}
)
def preview_template(request: HttpRequest, mail_template_id: ObjectId, payload: PreviewIn):
    """The template filled in for a party, in the party's language unless one is given."""
    template = queries.template_get(pk=mail_template_id)
    party = party_get_for_user(user=request.auth, pk=payload.party_id)
    language = payload.language or queries.recipient_language(party)
    shown = queries.template_for_language(name=template.name, language=language) or template
    values = merge_values(party=party, owner=request.auth)
    return {
        "language": shown.language,
        "subject": render_text(shown.subject, values),
        "body": render_text(shown.body, values),
    }


class AddressStatusOut(Schema):
    address: str
    invalid: bool
    hard_bounced_at: dt.datetime | None
    soft_bounces: int
    last_status: str

    @staticmethod
    def resolve_invalid(obj) -> bool:
        return obj.is_invalid


@router.get("/mail/bounces", response=list[AddressStatusOut])
@paginate(Pagination)
def list_bounces(request: HttpRequest, address: str | None = None):
    from kreis.comms.models import AddressStatus

    qs = AddressStatus.objects.order_by("address")
    if address:
        qs = qs.filter(address=address.strip().lower()[:254])
    return qs
