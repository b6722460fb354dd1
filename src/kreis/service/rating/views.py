"""The public page on which a customer rates the resolution of a closed case, reached through
the personal link of the closing e-mail (``kreis.service.rating``). No login; in the case's
language; it shows the case's number and subject and nothing else of the case."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from kreis.core.web import too_many_posts
from kreis.service import rating

# At most this many ratings sent per address and window (seconds).
RATING_POSTS_PER_IP = 20
RATING_WINDOW = 600


def _closed(request: HttpRequest, state: str, status: int) -> HttpResponse:
    return render(request, "service/rate_closed.html", {"state": state}, status=status)


@never_cache
@csrf_protect
def rate(request: HttpRequest, token: str) -> HttpResponse:
    link, state = rating.link_for_token(token)
    language = link.case.language if link else (translation.get_language() or "en")
    with translation.override(language):
        if state != rating.LinkState.VALID or link is None:
            return _closed(request, state, 410 if state in rating.GONE else 404)
        case = link.case
        chosen, comment, errors, status = None, "", {}, 200
        if request.method == "POST":
            limit, window = RATING_POSTS_PER_IP, RATING_WINDOW
            if too_many_posts(request, scope="case-rating", limit=limit, window=window):
                return _closed(request, "throttled", 429)
            raw = request.POST.get("rating", "")
            comment = request.POST.get("comment", "")[: rating.MAX_COMMENT + 1]
            try:
                rating.rating_submit(raw_token=token, rating=raw, comment=comment)
            except ValidationError as exc:
                if getattr(exc, "code", None) in (*rating.GONE, rating.LinkState.UNKNOWN):
                    return _closed(request, exc.code, 410)
                errors = {field: " ".join(texts) for field, texts in exc.message_dict.items()}
                chosen = int(raw) if raw in {"1", "2", "3", "4", "5"} else None
                status = 422
            else:
                return render(request, "service/rate_thanks.html", {"case": case})
        context = {
            "case": case,
            "choices": list(rating.RATING_LABELS.items()),
            "chosen": chosen,
            "comment": comment,
            "errors": errors,
            "max_comment": rating.MAX_COMMENT,
        }
        return render(request, "service/rate.html", context, status=status)
