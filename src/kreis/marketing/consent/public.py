"""The public consent pages behind the links of marketing mails (no sign-in), in the
consent's language:

- ``/consent/confirm/<token>/``: the double opt-in link. GET only shows the request and a
  button; the POST of that button confirms. Mail scanners and link previews (Outlook Safe
  Links, virus scanners, chat previews) fetch every link in a mail with GET, so a link that
  confirmed on GET would confirm consents nobody gave; a button cannot be pressed by them.
- ``/consent/unsubscribe/<token>/``: GET shows a button; its POST withdraws. A mail program's
  one-click unsubscribe (RFC 8058: ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``)
  POSTs that body to the same address and withdraws at once.

Both POSTs are rate limited per address (``too_many_posts``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from kreis.core.web import too_many_posts
from kreis.marketing.consent import services
from kreis.marketing.consent.services import LinkState
from kreis.marketing.models import ConsentStatus, MarketingSettings

# At most this many POSTs per address and window (seconds) on the consent pages.
POSTS_PER_IP = 30
WINDOW = 600


def _ip(request: HttpRequest) -> str | None:
    from allauth.core.internal.ratelimit import get_ip

    return get_ip(request) or None


def _language(consent) -> str:
    if consent is not None:
        return consent.language
    return "de" if (translation.get_language() or "").startswith("de") else "en"


def _page(request, template: str, context: dict, *, status: int = 200) -> HttpResponse:
    context.setdefault("imprint", MarketingSettings.load().imprint.strip())
    response = render(request, template, context, status=status)
    response["X-Robots-Tag"] = "noindex"
    return response


def _throttled(request: HttpRequest, scope: str) -> bool:
    config = MarketingSettings.load()
    return config.rate_limit_enabled and too_many_posts(
        request, scope=scope, limit=POSTS_PER_IP, window=WINDOW
    )


@never_cache
@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The double opt-in link: GET shows a confirm button, its POST confirms (see above)."""
    consent, state = services.consent_for_confirm_token(token)
    with translation.override(_language(consent)):
        if request.method == "POST":
            if _throttled(request, "consent-confirm"):
                return _page(
                    request,
                    "marketing/consent/public_state.html",
                    {"state": "throttled"},
                    status=429,
                )
            if state == LinkState.VALID and services.confirm(
                consent, ip=_ip(request), user_agent=request.headers.get("User-Agent", "")
            ):
                return _page(
                    request, "marketing/consent/public_confirmed.html", {"consent": consent}
                )
            consent, state = services.consent_for_confirm_token(token)
        if state != LinkState.VALID:
            status = 404 if state == LinkState.UNKNOWN else 410
            if state == LinkState.USED:
                status = 200
            return _page(
                request,
                "marketing/consent/public_state.html",
                {"state": state, "consent": consent, "kind": "confirm"},
                status=status,
            )
        return _page(request, "marketing/consent/public_confirm.html", {"consent": consent})


@never_cache
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The unsubscribe link of every marketing mail: GET shows a button, any POST withdraws.

    CSRF: exempt on purpose. RFC 8058's one-click unsubscribe is a POST of
    ``List-Unsubscribe=One-Click`` sent by the recipient's mail provider, without cookies and
    without a page fetched before — a CSRF token cannot be part of it. The request needs no
    session or signed-in user either: what authorises it is the secret token in the URL, which
    only the recipient's mail holds. The worst a forged cross-site POST could do is what the
    token's holder may do anyway: withdraw that one consent. Posts are rate limited."""
    consent = services.consent_for_unsubscribe_token(token)
    with translation.override(_language(consent)):
        if consent is None:
            return _page(
                request,
                "marketing/consent/public_state.html",
                {"state": LinkState.UNKNOWN, "kind": "unsubscribe"},
                status=404,
            )
        if request.method == "POST":
            if _throttled(request, "consent-unsubscribe"):
                return _page(
                    request,
                    "marketing/consent/public_state.html",
                    {"state": "throttled"},
                    status=429,
                )
            one_click = request.POST.get("List-Unsubscribe") == "One-Click"
            services.withdraw(
                consent,
                ip=_ip(request),
                user_agent=request.headers.get("User-Agent", ""),
                via=services.Via.ONE_CLICK if one_click else services.Via.LINK,
            )
            return _page(
                request, "marketing/consent/public_unsubscribed.html", {"consent": consent}
            )
        if consent.status == ConsentStatus.WITHDRAWN:
            return _page(
                request, "marketing/consent/public_unsubscribed.html", {"consent": consent}
            )
        return _page(request, "marketing/consent/public_unsubscribe.html", {"consent": consent})
