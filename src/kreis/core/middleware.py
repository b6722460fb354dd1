"""Request logging and the user's language."""

from __future__ import annotations

import logging
import time
import uuid

from django.conf import settings
from django.utils import translation
from django.utils.cache import add_never_cache_headers

log = logging.getLogger("kreis.request")


class RequestLogMiddleware:
    """One structured line per request: method, path, status, duration, user, request id."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex
        request.request_id = request_id
        started = time.perf_counter()
        response = self.get_response(request)
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        response["X-Request-ID"] = request_id
        user = getattr(request, "user", None)
        log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "request_id": request_id,
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": duration_ms,
                "user_id": user.pk if user is not None and user.is_authenticated else None,
                "remote_addr": request.META.get("REMOTE_ADDR"),
            },
        )
        return response


class UserLanguageMiddleware:
    """A signed-in user's saved language wins over the browser's wish."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        language = user.language if user is not None and user.is_authenticated else ""
        if language and language != translation.get_language():
            translation.activate(language)
            request.LANGUAGE_CODE = language
        response = self.get_response(request)
        if language and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != language:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                language,
                max_age=365 * 24 * 3600,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
                secure=settings.LANGUAGE_COOKIE_SECURE,
            )
        return response


class ApiProblemMiddleware:
    """Errors the API's routers never see (unknown path, wrong method) as problem+json too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            request.path.startswith("/api/")
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith(("application/problem+json",))
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            import json
            from http import HTTPStatus

            from django.http import HttpResponse

            body = {
                "type": "about:blank",
                "title": HTTPStatus(response.status_code).phrase,
                "status": response.status_code,
                "instance": request.path,
            }
            problem = HttpResponse(
                json.dumps(body),
                status=response.status_code,
                content_type="application/problem+json",
            )
            if response.has_header("Allow"):
                problem["Allow"] = response["Allow"]
            return problem
        return response


class NoStoreForSignedInMiddleware:
    """What a signed-in user (session or API key) gets is never kept by a browser or proxy
    cache: ``Cache-Control: no-store``. A shared computer's back button or a caching proxy
    would otherwise hand customer data to the next person. Static files (answered by
    WhiteNoise before this runs) and public pages (login, health) keep their headers."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)  # an API key sets it inside the view
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
        return response
