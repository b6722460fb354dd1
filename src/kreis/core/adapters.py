"""django-allauth: nobody signs up on their own; administrators create users.

Failed logins are counted per login name *and* client address: an office behind one NAT
address is never locked out by one colleague's typos, and guessing one user's password from
one address is still limited (``KREIS_LOGIN_ATTEMPTS`` per ``KREIS_LOGIN_WINDOW`` seconds)."""

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.internal.ratelimit import get_ip
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return False

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        # allauth's "key" of the login_failed limit; with the address in it, the limit is
        # per user and IP (settings.ACCOUNT_RATE_LIMITS has no limit per IP alone).
        return f"{super()._get_login_attempts_cache_key(request, **credentials)}:{get_ip(request)}"
