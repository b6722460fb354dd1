"""``GET /api/v1/exports/{type}``: a record type, or a filtered list, as one streamed file."""

from __future__ import annotations

from typing import Literal

from django.core.exceptions import BadRequest
from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.errors import HttpError

from kreis.core.api_support import PROBLEM_RESPONSES
from kreis.core.exports import ExportFormatError, export_response
from kreis.migration.exports import EXPORT_TYPES, record_export

router = Router(tags=["exports"])

ExportType = Literal[tuple(EXPORT_TYPES)]  # type: ignore[valid-type]


class ExportOptions(Schema):
    format: Literal["csv", "xlsx", "json", "vcard"] = "csv"
    vcard: Literal["4.0", "3.0"] = "4.0"
    # The list pages' own filters, by the names the pages use (each type reads those it has;
    # custom fields as cf_<key>, cf_<key>_min, cf_<key>_max).
    q: str = ""
    sort: str = ""


@router.get(
    "/exports/{type_}",
    response={200: None, **PROBLEM_RESPONSES},
    summary="Export a record type",
    operation_id="export_records",
    description=(
        "Every record of the type the caller may see, as CSV, XLSX, JSON (an array of "
        "objects) or vCard (`person` and `party`: persons only). The list pages' filters apply "
        "with the same names (`q`, `sort`, `kind`, `role`, `tag`, `status`, `owner`, `team`, "
        "`source`, `pipeline`, `stage`, `party`, `deal`, `lead`, `product`, `category`, "
        "`from`, `to`, `close_from`, `close_to`, `state`, `active`, `cf_<key>` …). "
        "The answer streams: large exports start at once and never sit in memory whole."
    ),
)
def export_records(request: HttpRequest, type_: ExportType, options: Query[ExportOptions]):
    try:
        export = record_export(user=request.auth, type_=type_, query=request.GET)
        return export_response(export, options.format, vcard_version=options.vcard)
    except ExportFormatError as exc:
        raise HttpError(422, str(exc)) from exc
    except BadRequest as exc:
        raise HttpError(400, str(exc)) from exc
