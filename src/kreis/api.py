"""The REST API at /api/v1: routers of the apps, authentication, errors as problem+json."""

from __future__ import annotations

import logging
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError
from ninja.renderers import JSONRenderer

from kreis import __version__
from kreis.activities.api import router as activities_router
from kreis.analytics.api import router as analytics_router
from kreis.automation.api import router as automation_router
from kreis.automation.rules.api import router as automation_rules_router
from kreis.calls.api import router as calls_router
from kreis.channels.api import router as channels_router
from kreis.commerce.api import router as commerce_router
from kreis.comms.api import router as comms_router
from kreis.core.api import router as core_router
from kreis.core.api_support import ApiKeyBearer, BrowserSession
from kreis.core.competencies.api import router as competencies_router
from kreis.feedback.api import router as feedback_router
from kreis.inbox.api import router as inbox_router
from kreis.leads.api import router as leads_router
from kreis.mailings.api import router as mailings_router
from kreis.marketing.campaigns.api import router as campaigns_router
from kreis.marketing.consent.api import router as consent_router
from kreis.marketing.handoff.api import router as handoff_router
from kreis.marketing.offers.api import router as offers_router
from kreis.marketing.predictive.api import router as lead_scoring_router
from kreis.marketing.relationships.api import router as relationship_types_router
from kreis.marketing.segments.api import router as segments_router
from kreis.marketing.tracking.api import router as tracking_router
from kreis.marketing.webforms.api import router as webforms_router
from kreis.migration.api import router as imports_router
from kreis.migration.backups.api import router as backups_router
from kreis.migration.connectors.api import router as connectors_router
from kreis.migration.exports.api import router as exports_router
from kreis.parties.api import router as parties_router
from kreis.playbooks.api import router as playbooks_router
from kreis.pricing.api import router as pricing_router
from kreis.sales.api import router as sales_router
from kreis.sales.channels.api import router as sales_channels_router
from kreis.sales.forecast.api import router as sales_forecast_router
from kreis.sales.targets.api import router as sales_targets_router
from kreis.sales.transparency.api import router as sales_transparency_router
from kreis.service.analysis.api import router as case_analysis_router
from kreis.service.api import router as service_router
from kreis.service.api_config import router as service_config_router
from kreis.service.public_form.api import router as service_settings_router
from kreis.social.api import router as social_router

log = logging.getLogger("kreis.api")

PROBLEM_TYPE = "application/problem+json"

api = NinjaAPI(
    title="Kreis API",
    version=__version__,
    description=(
        "The Kreis CRM API. Authenticate with a personal API key "
        "(`Authorization: Bearer kreis_…`, created under *API keys* in the app) or, from the "
        "browser, with the session cookie and the `X-CSRFToken` header. Errors are RFC 9457 "
        "problem details (`application/problem+json`). Lists are paginated with `page` and "
        "`page_size`. Every `POST` accepts an `Idempotency-Key` header (1–255 visible "
        "characters, e.g. a UUID): a retry with the same key, user, path and body gets the first "
        "answer again (`Idempotent-Replayed: true`) without a second effect; the same key with "
        "another body is 422, while the first request is still running 409. Keys are kept 24 "
        "hours. Webhooks (`/webhooks`) are signed as Standard Webhooks (`webhook-id`, "
        "`webhook-timestamp`, `webhook-signature`)."
    ),
    urls_namespace="api",
    auth=[ApiKeyBearer(), BrowserSession()],
    renderer=JSONRenderer(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
api.add_router("/", core_router)
api.add_router("/", competencies_router)
api.add_router("/", parties_router)
api.add_router("/", leads_router)
api.add_router("/", webforms_router)
api.add_router("/", sales_router)
api.add_router("/", sales_targets_router)
api.add_router("/", sales_forecast_router)
api.add_router("/", sales_channels_router)
api.add_router("/", sales_transparency_router)
api.add_router("/", activities_router)
api.add_router("/", feedback_router)
api.add_router("/", commerce_router)
api.add_router("/", analytics_router)
api.add_router("/", playbooks_router)
api.add_router("/", imports_router)
api.add_router("/", connectors_router)
api.add_router("/", backups_router)
api.add_router("/", exports_router)
api.add_router("/", automation_router)
api.add_router("/", automation_rules_router)
# Before the cases router: its /cases/{case_id} would take /cases/analysis.
api.add_router("/", case_analysis_router)
api.add_router("/", service_router)
api.add_router("/", service_config_router)
api.add_router("/", service_settings_router)
api.add_router("/", segments_router)
api.add_router("/", relationship_types_router)
api.add_router("/", campaigns_router)
api.add_router("/", handoff_router)
api.add_router("/", lead_scoring_router)
api.add_router("/", tracking_router)
api.add_router("/", offers_router)
api.add_router("/", consent_router)
api.add_router("/", pricing_router)
api.add_router("/", comms_router)
api.add_router("/", social_router)
api.add_router("/", channels_router)
api.add_router("/", mailings_router)
api.add_router("/", calls_router)
api.add_router("/", inbox_router)


def problem(
    request: HttpRequest,
    status: int,
    detail: str | None = None,
    *,
    errors: list[dict] | None = None,
    type_: str = "about:blank",
) -> HttpResponse:
    body: dict = {
        "type": type_,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "instance": request.path,
    }
    if detail:
        body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    response = api.create_response(request, body, status=status)
    response["Content-Type"] = PROBLEM_TYPE
    return response


def _location(loc: list | tuple) -> str:
    # ninja reports ("body", "payload", "field"); the user wants "field".
    parts = [str(p) for p in loc if p not in ("body", "payload")]
    return ".".join(parts) or "body"


def _with_row(error: dict) -> dict:
    """A bulk request's error names its row: ``items.3.email`` → ``"row": 3``."""
    parts = error["field"].split(".")
    if len(parts) >= 2 and parts[0] == "items" and parts[1].isdigit():
        error["row"] = int(parts[1])
        error["field"] = ".".join(parts[2:]) or "row"
    return error


@api.exception_handler(NinjaValidationError)
def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = [
        _with_row(
            {
                "field": _location(err.get("loc", ())),
                "message": err.get("msg", ""),
                "code": err.get("type"),
            }
        )
        for err in exc.errors
    ]
    return problem(
        request,
        422,
        "The request contains invalid fields.",
        errors=errors,
        type_="urn:kreis:problem:validation",
    )


@api.exception_handler(DjangoValidationError)
def on_domain_validation_error(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    if hasattr(exc, "error_dict"):
        errors = [
            _with_row({"field": field, "message": message, "code": "invalid"})
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
    else:
        errors = [{"field": "body", "message": m, "code": "invalid"} for m in exc.messages]
    return problem(
        request,
        422,
        "The request could not be applied.",
        errors=errors,
        type_="urn:kreis:problem:validation",
    )


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = problem(request, 401, "Sign in or send a valid API key as a Bearer token.")
    response["WWW-Authenticate"] = 'Bearer realm="kreis"'
    return response


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    response = problem(request, exc.status_code, exc.message)
    if isinstance(exc, Throttled) and exc.wait:
        response["Retry-After"] = str(int(exc.wait))
    return response


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem(request, 404, "No such object, or you may not see it.")


@api.exception_handler(PermissionDenied)
def on_permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return problem(request, 403, "You may not do this.")


@api.exception_handler(RequestDataTooBig)
def on_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
    return problem(request, 413, f"The request body is larger than {limit} MB; send fewer records.")


@api.exception_handler(Exception)
def on_server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.exception("API error", extra={"path": request.path})
    return problem(request, 500, "An unexpected error occurred; it has been logged.")
