"""Writes for users, teams, API keys and notifications. Typed, keyword-only, atomic."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kreis.core.models import (
    ApiKey,
    ApiKeyScope,
    CustomField,
    CustomFieldType,
    Membership,
    Notification,
    Role,
    SavedView,
    Team,
    User,
)

log = logging.getLogger(__name__)


def _require(actor: User | None, perm: str, obj: object = None) -> None:
    """Services take the acting user; ``None`` means the system itself (CLI, demo, jobs)."""
    if actor is not None and not actor.has_perm(perm, obj):
        raise PermissionDenied


@transaction.atomic
def user_create(
    *,
    actor: User | None,
    username: str,
    password: str | None,
    role: str = Role.SALES_REP,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    job_title: str = "",
    phone: str = "",
    language: str = "",
    team_ids: Iterable[int] = (),
) -> User:
    """Create a user with a role and team memberships. Without a password the user must reset it."""
    _require(actor, "core.manage_users")
    user = User(
        username=username.strip(),
        email=email.strip().lower(),
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        job_title=job_title.strip(),
        phone=phone.strip(),
        role=role,
        language=language,
        is_staff=role == Role.ADMIN,
    )
    if User.objects.filter(username__iexact=user.username).exists():
        raise ValidationError({"username": _("A user with this username already exists.")})
    if user.email and User.objects.filter(email__iexact=user.email).exists():
        raise ValidationError({"email": _("A user with this e-mail address already exists.")})
    user.full_clean(exclude=["password"])
    if password:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from None
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    _set_teams(user=user, team_ids=team_ids)
    return user


@transaction.atomic
def user_update(*, actor: User | None, user: User, **fields: object) -> User:
    """Change a user's profile, role, active flag or teams (``team_ids``)."""
    _require(actor, "core.manage_users")
    team_ids = fields.pop("team_ids", None)
    allowed = {
        "email",
        "first_name",
        "last_name",
        "job_title",
        "phone",
        "role",
        "language",
        "is_active",
    }
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({name: _("This field cannot be changed.") for name in unknown})
    if actor is not None and user.pk == actor.pk:
        if fields.get("is_active") is False or fields.get("role", Role.ADMIN) != Role.ADMIN:
            raise ValidationError({"role": _("You cannot demote or deactivate yourself.")})
    for name, value in fields.items():
        setattr(user, name, value.strip().lower() if name == "email" else value)  # type: ignore[union-attr]
    if user.email and User.objects.filter(email__iexact=user.email).exclude(pk=user.pk).exists():
        raise ValidationError({"email": _("A user with this e-mail address already exists.")})
    user.is_staff = user.role == Role.ADMIN or user.is_superuser
    user.full_clean(exclude=["password"])
    user.save()
    if team_ids is not None:
        _set_teams(user=user, team_ids=team_ids)  # type: ignore[arg-type]
    return user


def _set_teams(*, user: User, team_ids: Iterable[int]) -> None:
    wanted = set(team_ids)
    found = set(Team.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    if wanted - found:
        raise ValidationError({"team_ids": _("Unknown team: %s") % sorted(wanted - found)})
    user.memberships.exclude(team_id__in=wanted).delete()
    existing = set(user.memberships.values_list("team_id", flat=True))
    Membership.objects.bulk_create(Membership(user=user, team_id=t) for t in wanted - existing)


@transaction.atomic
def team_create(*, actor: User | None, name: str, description: str = "") -> Team:
    _require(actor, "core.add_team")
    name = name.strip()
    if Team.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": _("A team with this name already exists.")})
    team = Team(name=name, description=description.strip())
    team.full_clean()
    team.save()
    return team


@transaction.atomic
def team_update(*, actor: User | None, team: Team, name: str, description: str = "") -> Team:
    _require(actor, "core.change_team", team)
    name = name.strip()
    if Team.objects.filter(name__iexact=name).exclude(pk=team.pk).exists():
        raise ValidationError({"name": _("A team with this name already exists.")})
    team.name = name
    team.description = description.strip()
    team.full_clean()
    team.save()
    return team


@transaction.atomic
def team_set_member(*, actor: User | None, team: Team, user: User, is_manager: bool) -> Membership:
    """Add a user to a team, or change whether they manage it."""
    _require(actor, "core.change_team", team)
    if not user.is_active:
        raise ValidationError({"user_id": _("Inactive users cannot join a team.")})
    membership, _created = Membership.objects.update_or_create(
        team=team, user=user, defaults={"is_manager": is_manager}
    )
    return membership


@transaction.atomic
def team_remove_member(*, actor: User | None, team: Team, user: User) -> None:
    _require(actor, "core.change_team", team)
    if actor is not None and actor.pk == user.pk and not actor.is_admin:
        raise ValidationError({"user_id": _("You cannot remove yourself from a team you manage.")})
    team.memberships.filter(user=user).delete()


@transaction.atomic
def team_delete(*, actor: User | None, team: Team) -> None:
    _require(actor, "core.delete_team", team)
    team.delete()


@transaction.atomic
def apikey_create(
    *, actor: User | None, user: User, name: str, scope: str = ApiKeyScope.READ
) -> tuple[ApiKey, str]:
    """A new personal API key; returns the stored key and the raw key, which is shown once."""
    if actor is not None and actor.pk != user.pk and not actor.is_admin:
        raise PermissionDenied
    if user.is_read_only and scope == ApiKeyScope.READ_WRITE:
        raise ValidationError({"scope": _("Read-only users can only have read keys.")})
    raw, prefix, key_hash = ApiKey.generate()
    key = ApiKey(user=user, name=name.strip(), scope=scope, prefix=prefix, key_hash=key_hash)
    key.full_clean()
    key.save()
    return key, raw


def apikey_revoke(*, actor: User | None, key: ApiKey) -> ApiKey:
    _require(actor, "core.change_apikey", key)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


def notification_create(
    *, user: User, title: str, body: str = "", url: str = "", level: str = Notification.Level.INFO
) -> Notification:
    return Notification.objects.create(user=user, title=title, body=body, url=url, level=level)


def notify_in_own_language(
    users: Iterable[User],
    *,
    message: Callable[[], tuple[str, str]],
    url: str = "",
    level: str = Notification.Level.INFO,
    email: bool = True,
) -> None:
    """An in-app notification (and, with ``email``, an e-mail) to each user, after the commit,
    each in the user's own language (else the site's): ``message`` builds (title, body) while
    that language is active, so its gettext calls speak to the recipient. A mail server that is
    down is logged and never undoes the caller's work."""
    users = list(users)

    def send() -> None:
        for user in users:
            with translation.override(user.language or settings.LANGUAGE_CODE):
                title, body = message()
                notification_create(
                    user=user, title=str(title)[:200], body=str(body), url=url, level=level
                )
                if not email or not user.email:
                    continue
                try:
                    EmailMessage(
                        str(title), f"{body}\n\n{url}", settings.DEFAULT_FROM_EMAIL, [user.email]
                    ).send()
                except Exception:
                    log.exception("notification mail to user %s failed", user.pk)

    transaction.on_commit(send)


def notification_mark_read(*, user: User, notification: Notification | None = None) -> int:
    """Mark one notification, or all of the user's, as read; returns how many changed."""
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification is not None:
        qs = qs.filter(pk=notification.pk)
    return qs.update(read_at=timezone.now())


def user_update_profile(*, user: User, **fields: object) -> User:
    """A user changes their own name, title, phone or language (not role or teams)."""
    allowed = {"first_name", "last_name", "job_title", "phone", "language"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({name: _("This field cannot be changed.") for name in unknown})
    for name, value in fields.items():
        if value is not None:
            setattr(user, name, value.strip() if isinstance(value, str) else value)
    user.full_clean(exclude=["password"])
    user.save()
    return user


@transaction.atomic
def saved_view_save(*, user: User, list_name: str, name: str, query: str) -> SavedView:
    """Save (or overwrite, by name) the user's view of a list; the page number is not kept."""
    from urllib.parse import parse_qsl, urlencode

    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Give the view a name.")})
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=False) if k != "page"]
    view, _created = SavedView.objects.update_or_create(
        user=user,
        list_name=list_name[:30],
        name=name[:80],
        defaults={"query": urlencode(pairs)[:1000]},
    )
    return view


def saved_view_delete(*, user: User, view: SavedView) -> None:
    if view.user_id != user.pk:
        raise PermissionDenied
    view.delete()


CUSTOM_FIELD_ENTITIES = ("party", "lead", "deal")
CHOICE_TYPES = (CustomFieldType.CHOICE, CustomFieldType.MULTI_CHOICE)


def _clean_custom_field(field: CustomField, choices) -> None:
    if field.entity not in CUSTOM_FIELD_ENTITIES:
        raise ValidationError({"entity": _("Custom fields exist for parties, leads and deals.")})
    options = [str(c).strip() for c in (choices or []) if str(c).strip()]
    if field.type in CHOICE_TYPES and not options:
        raise ValidationError({"choices": _("A choice field needs at least one option.")})
    if len(set(options)) != len(options):
        raise ValidationError({"choices": _("Each option may appear only once.")})
    field.choices = options if field.type in CHOICE_TYPES else []
    field.full_clean()


@transaction.atomic
def custom_field_create(*, actor: User | None, choices=(), **fields: object) -> CustomField:
    if actor is not None and not actor.is_admin:
        raise PermissionDenied
    field = CustomField(**fields)
    if CustomField.objects.filter(entity=field.entity, key=field.key).exists():
        raise ValidationError({"key": _("This record type already has a field with this key.")})
    _clean_custom_field(field, choices)
    field.save()
    return field


@transaction.atomic
def custom_field_update(
    *, actor: User | None, field: CustomField, choices=None, **changes: object
) -> CustomField:
    """Change label, help, options, order, required or active. Key, record type and type stay:
    stored values depend on them."""
    if actor is not None and not actor.is_admin:
        raise PermissionDenied
    fixed = {"key", "entity", "type"} & set(changes)
    if any(changes[k] != getattr(field, k) for k in fixed):
        raise ValidationError(
            {k: _("Cannot be changed once the field exists.") for k in sorted(fixed)}
        )
    for name, value in changes.items():
        setattr(field, name, value)
    _clean_custom_field(field, field.choices if choices is None else choices)
    field.save()
    return field


@transaction.atomic
def custom_field_delete(*, actor: User | None, field: CustomField) -> None:
    """Deactivate: the values stay on the records (and reappear if it is activated again)."""
    if actor is not None and not actor.is_admin:
        raise PermissionDenied
    field.is_active = False
    field.save(update_fields=["is_active"])


def check_assignment(*, actor: User | None, owner: User | None, team: Team | None) -> None:
    """Who may give a record to whom: admins anyone; managers within their teams; others
    only themselves and their own teams."""
    if actor is None or actor.is_admin:
        return
    if team is not None and team.pk not in actor.team_ids():
        raise ValidationError({"team_id": _("You can only assign your own teams.")})
    if owner is not None and owner.pk != actor.pk:
        managed = actor.managed_team_ids()
        owner_teams = set(owner.memberships.values_list("team_id", flat=True))
        if not managed & owner_teams:
            raise ValidationError(
                {"owner_id": _("Only a manager of the owner's team can assign records to them.")}
            )
