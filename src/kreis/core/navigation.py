"""The sidebar: its sections and links as data, rendered once per kind of page and kept.

Every page draws the same sidebar; only four things change what it looks like: the language,
whether the user sees the administration (administrators) and the analytics runs
(administrators and sales managers), and which links are active on the current path. The
rendered HTML is kept per combination of those (a few dozen at most), so a page pays a dict
lookup for it instead of some twenty URL reversals and translations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import rules
from django.template.loader import render_to_string
from django.urls import get_script_prefix
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from kreis.core.models import Role


def _admin(user) -> bool:
    return user.is_admin


def _admin_or_manager(user) -> bool:
    return user.is_admin or user.role == Role.SALES_MANAGER


def _playbooks(user) -> bool:
    return rules.has_perm("playbooks.view_playbook", user)


def _marketing(user) -> bool:
    # The rule alone (django-rules): user.has_perm would ask Django's model backend too, two
    # queries on every page for users the rule refuses.
    return rules.has_perm("marketing.view", user)


@dataclass(frozen=True)
class Link:
    url_name: str
    icon: str
    label: str
    prefix: str | None = None  # active on this path and below it; None: never active
    exact: bool = False  # active only on the prefix itself
    visible: Callable | None = None  # who sees it (default: everyone signed in)

    def active(self, path: str) -> bool:
        if self.prefix is None:
            return False
        if self.prefix == "/" or self.exact:
            return path == self.prefix
        return path.startswith(self.prefix)


@dataclass(frozen=True)
class Section:
    heading: str | None
    links: tuple[Link, ...]
    visible: Callable | None = None


SIDEBAR = (
    Section(
        None,
        (
            Link("core:dashboard", "speedometer2", _("Dashboard"), "/"),
            Link("parties:list", "building", _("Organisations and persons"), "/parties/"),
            Link(
                "commerce:transaction_list", "receipt", _("Transactions"), "/commerce/transactions/"
            ),
            Link("commerce:product_list", "box-seam", _("Products"), "/commerce/products/"),
            Link("sales:board", "kanban", _("Deals"), "/deals/"),
            Link("leads:list", "funnel", _("Leads"), "/leads/"),
            Link("service:list", "exclamation-octagon", _("Cases"), "/cases/"),
            Link("inbox:list", "inboxes", _("Inbox"), "/inbox/"),
            Link("comms:list", "envelope", _("E-mail"), "/mail/"),
            Link("activities:my_day", "calendar-check", _("My day"), "/activities/"),
            Link("feedback:list", "clipboard-data", _("Surveys"), "/surveys/"),
            Link("social:mention_list", "megaphone", _("Social listening"), "/social/"),
            Link("calls:list", "telephone-outbound", _("Call lists"), "/calls/"),
            Link(
                "playbooks:list",
                "signpost-split",
                _("Playbooks"),
                "/playbooks/",
                visible=_playbooks,
            ),
            Link("core:team_list", "people", _("Teams"), "/teams/"),
            Link("core:competency_matrix", "grid-3x3", _("Skills matrix"), "/competencies/"),
            Link("core:notifications", "bell", _("Notifications"), "/notifications/"),
        ),
    ),
    Section(
        _("Sales management"),
        (
            Link("sales:targets:list", "bullseye", _("Targets"), "/deals/targets/"),
            Link(
                "sales:forecasting:page",
                "graph-up-arrow",
                _("Forecast calls"),
                "/deals/forecasting/",
            ),
            Link("sales:channels:page", "signpost-split", _("Channels"), "/deals/channels/"),
            Link(
                "sales:transparency:page",
                "hourglass-split",
                _("Process transparency"),
                "/deals/transparency/",
            ),
            Link("pricing:price_lists", "tags", _("Prices and discounts"), "/pricing/"),
            Link(
                "pricing:approvals", "check2-square", _("Discount approvals"), "/pricing/approvals/"
            ),
        ),
    ),
    Section(
        _("Marketing"),
        (
            Link("marketing:campaign_list", "megaphone", _("Campaigns"), "/marketing/campaigns/"),
            Link("marketing:segments:list", "diagram-3", _("Segments"), "/marketing/segments/"),
            Link("mailings:list", "send", _("Mailings"), "/mailings/"),
            Link(
                "marketing:relationships:list",
                "person-vcard",
                _("Relationship types"),
                "/marketing/relationship-types/",
            ),
            Link("marketing:webforms:list", "ui-checks", _("Web forms"), "/marketing/forms/"),
            Link(
                "marketing:scoring:page",
                "bullseye",
                _("Predictive scoring"),
                "/marketing/scoring/",
            ),
            Link(
                "marketing:tracking:overview",
                "graph-up",
                _("Website tracking"),
                "/marketing/tracking/",
            ),
            Link(
                "marketing:offers:list",
                "file-earmark-arrow-down",
                _("Content offers"),
                "/marketing/offers/",
            ),
            Link(
                "marketing:consent_texts",
                "shield-check",
                _("Consent texts"),
                "/marketing/consent/texts/",
            ),
            Link(
                "marketing:handoff_queue",
                "person-check",
                _("Lead handoff"),
                "/marketing/handoff/",
            ),
        ),
        visible=_marketing,
    ),
    Section(
        _("Analytics"),
        (
            Link(
                "analytics:dashboard",
                "graph-up",
                _("Management dashboard"),
                "/analytics/",
                exact=True,
            ),
            Link(
                "analytics:margin",
                "bar-chart-steps",
                _("Contribution margin"),
                "/analytics/margin/",
            ),
            Link("analytics:scoring_list", "123", _("Scoring models"), "/analytics/scoring/"),
            Link(
                "analytics:runs",
                "arrow-repeat",
                _("Analytics runs"),
                "/analytics/runs/",
                visible=_admin_or_manager,
            ),
        ),
    ),
    Section(
        _("Administration"),
        (
            Link("core:user_list", "person-gear", _("Users"), "/manage/users/"),
            Link("core:role_list", "person-badge", _("Roles"), "/manage/roles/"),
            Link(
                "core:custom_field_list", "ui-checks", _("Custom fields"), "/manage/custom-fields/"
            ),
            Link("analytics:settings", "gear", _("Analytics settings"), "/analytics/settings/"),
            Link("migration:connector_list", "plug", _("Connectors"), "/imports/connectors/"),
            Link("backups:list", "archive", _("Backups"), "/manage/backups/"),
            Link("admin:index", "sliders", _("Django admin")),
        ),
        visible=_admin,
    ),
    Section(
        _("Integration"),
        (
            Link("migration:list", "upload", _("Imports"), "/imports/"),
            Link("api:openapi-view", "braces", _("API documentation")),
            Link("core:api_keys", "key", _("API keys"), "/me/api-keys/"),
            Link("automation:webhook_list", "broadcast", _("Webhooks"), "/integration/"),
            Link(
                "rules:rule_list",
                "lightning-charge",
                _("Automation rules"),
                "/automation/rules/",
                visible=_admin,
            ),
        ),
    ),
)

_VISIBILITY_RULES = (_admin, _admin_or_manager, _marketing, _playbooks)
_LINKS = tuple(link for section in SIDEBAR for link in section.links)
_rendered: dict[tuple, str] = {}


def sidebar_html(user, path: str) -> str:
    """The sidebar's HTML for this user on this path (rendered once per combination)."""
    seen = tuple(rule(user) for rule in _VISIBILITY_RULES)
    active = tuple(link.active(path) for link in _LINKS)
    key = (get_language(), get_script_prefix(), seen, active)
    html = _rendered.get(key)
    if html is None:
        visible = dict(zip(_VISIBILITY_RULES, seen, strict=True))
        sections = [
            {
                "heading": section.heading,
                "links": [
                    {"link": link, "active": link.active(path)}
                    for link in section.links
                    if link.visible is None or visible[link.visible]
                ],
            }
            for section in SIDEBAR
            if section.visible is None or visible[section.visible]
        ]
        html = render_to_string("core/_sidebar.html", {"sections": sections})
        if len(_rendered) > 512:  # a bound, never reached in practice: start over
            _rendered.clear()
        _rendered[key] = html
    return html
