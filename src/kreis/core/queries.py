"""Reads, permission-aware: every view and API route fetches through these."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from kreis.core.models import (
    ApiKey,
    CustomField,
    Membership,
    Notification,
    SavedView,
    Team,
    User,
    hash_api_key,
)


def visible_records(queryset: QuerySet, *, user: User) -> QuerySet:
    """Narrow owned records (with ``owner`` and ``team``) to what the user may see.

    The query form of the ``core.view_record`` predicate: administrators see all; everyone
    else what they own and what belongs to one of their teams.
    """
    if not user.is_authenticated or not user.is_active:
        return queryset.none()
    if user.is_admin:
        return queryset
    return queryset.filter(Q(owner_id=user.pk) | Q(team_id__in=user.team_ids()))


def user_contact_visible(*, viewer: User, user: User) -> bool:
    """A colleague's e-mail address and phone number: for administrators and the user alone.
    Everyone else sees names (to assign owners), not a company phone book to copy."""
    return viewer.is_admin or viewer.pk == user.pk


def user_list_for_user(*, user: User, search: str = "", include_inactive: bool = False) -> QuerySet:
    """The user directory: every colleague is visible (to assign owners); admins see inactive.
    Only administrators find colleagues by e-mail address (see ``user_contact_visible``)."""
    qs = User.objects.all()
    if not (include_inactive and user.is_admin):
        qs = qs.filter(is_active=True)
    if search:
        matches = (
            Q(username__icontains=search)
            | Q(first_name__icontains=search)
            | Q(last_name__icontains=search)
        )
        if user.is_admin:
            matches |= Q(email__icontains=search)
        qs = qs.filter(matches)
    return qs.prefetch_related(
        Prefetch("memberships", queryset=Membership.objects.select_related("team"))
    )


def user_get_for_user(*, user: User, pk: int, write: bool = False) -> User:
    if write and not user.has_perm("core.manage_users"):
        raise Http404
    qs = User.objects.all() if user.is_admin else User.objects.filter(is_active=True)
    try:
        return qs.get(pk=pk)
    except User.DoesNotExist:
        raise Http404 from None


def team_list_for_user(*, user: User, search: str = "") -> QuerySet:
    qs = Team.objects.annotate(member_count=Count("memberships"))
    if not user.is_admin:
        qs = qs.filter(pk__in=user.team_ids())
    if search:
        qs = qs.filter(name__icontains=search)
    return qs


def team_get_for_user(*, user: User, pk: int, write: bool = False) -> Team:
    """A team the user may see (or change, with ``write``); 404 otherwise."""
    team = Team.objects.filter(pk=pk).first()
    perm = "core.change_team" if write else "core.view_team"
    if team is None or not user.has_perm(perm, team):
        raise Http404
    return team


def team_memberships(*, team: Team) -> QuerySet:
    return team.memberships.select_related("user").order_by(
        "-is_manager", "user__last_name", "user__first_name"
    )


def apikey_list_for_user(*, user: User) -> QuerySet:
    return ApiKey.objects.filter(user=user)


def apikey_get_for_user(*, user: User, pk: int) -> ApiKey:
    key = ApiKey.objects.filter(pk=pk).first()
    if key is None or not user.has_perm("core.change_apikey", key):
        raise Http404
    return key


def apikey_authenticate(raw: str) -> ApiKey | None:
    """The active key for a raw bearer token, with its user; records the time of use."""
    key = (
        ApiKey.objects.select_related("user")
        .filter(key_hash=hash_api_key(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if key is None:
        return None
    now = timezone.now()
    # Write the last-used time at most once a minute: an integration may call many times a second.
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def notification_list_for_user(*, user: User, unread_only: bool = False) -> QuerySet:
    qs = Notification.objects.filter(user=user)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs


def notification_unread_count(*, user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notification_get_for_user(*, user: User, pk: int) -> Notification:
    try:
        return Notification.objects.get(pk=pk, user=user)
    except Notification.DoesNotExist:
        raise Http404 from None


def saved_view_list_for_user(*, user: User, list_name: str) -> QuerySet:
    return SavedView.objects.filter(user=user, list_name=list_name)


def saved_view_get_for_user(*, user: User, pk: int) -> SavedView:
    try:
        return SavedView.objects.get(pk=pk, user=user)
    except SavedView.DoesNotExist:
        raise Http404 from None


def custom_field_list(*, entity: str = "") -> QuerySet:
    qs = CustomField.objects.all()
    return qs.filter(entity=entity) if entity else qs


def custom_field_get_for_user(*, user: User, pk: int, write: bool = False) -> CustomField:
    if write and not user.is_admin:
        raise Http404
    try:
        return CustomField.objects.get(pk=pk)
    except CustomField.DoesNotExist:
        raise Http404 from None
