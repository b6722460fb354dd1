"""Showing a received mail without letting it act.

HTML mail is cleaned with nh3 (the Rust ``ammonia`` sanitiser): scripts, styles, event
handlers, forms, iframes and every unknown tag or attribute go; links keep ``href`` with safe
schemes and get ``rel="noopener noreferrer"``. Remote images (``http:``/``https:`` sources)
tell the sender that and when the mail was read, so they are removed — the image keeps its
alternative text and a marker — until the reader clicks "show images" for that message.
Embedded images (``cid:``) are pointed at the message's attachment of that Content-ID.

The cleaned HTML is then served on its own route (``views.message_body``) with a strict
Content-Security-Policy (nothing may load but the allowed images and inline style, no
script) and shown in an ``<iframe sandbox>`` without ``allow-scripts`` or
``allow-same-origin``: even markup nh3 let through cannot run or reach Kreis's session.
Plain-text mail is shown escaped.
"""

from __future__ import annotations

from collections.abc import Callable

import nh3

TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "center", "code", "col", "colgroup", "dd",
    "del", "div", "dl", "dt", "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i",
    "img", "ins", "kbd", "li", "ol", "p", "pre", "q", "s", "small", "span", "strike", "strong",
    "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul",
}  # fmt: skip
ATTRIBUTES = {
    "*": {"title", "align", "dir", "lang"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "width", "valign"},
    "th": {"colspan", "rowspan", "width", "valign"},
    "table": {"width", "border", "cellpadding", "cellspacing"},
    "font": {"color", "size"},
}
SCHEMES = {"http", "https", "mailto", "tel", "cid", "data"}
BLOCKED = "data:,"  # an empty image: the placeholder of a blocked one


def is_remote(url: str) -> bool:
    return url.strip().lower().startswith(("http:", "https:", "//"))


def sanitize_mail_html(
    html: str, *, show_images: bool, cid_url: Callable[[str], str | None] | None = None
) -> tuple[str, int]:
    """(clean HTML, number of remote images blocked)."""
    blocked = 0

    def attribute(element: str, name: str, value: str) -> str | None:
        nonlocal blocked
        if element == "img" and name == "src":
            lowered = value.strip().lower()
            if lowered.startswith("cid:"):
                return (cid_url(value.strip()[4:]) if cid_url else None) or BLOCKED
            if is_remote(value):
                if show_images:
                    return value
                blocked += 1
                return BLOCKED
            if lowered.startswith("data:image/"):
                return value
            return None
        if name == "href" and element == "a" and value.strip().lower().startswith("data:"):
            return None
        return value

    clean = nh3.clean(
        html or "",
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=SCHEMES,
        link_rel="noopener noreferrer",
        attribute_filter=attribute,
        strip_comments=True,
    )
    return clean, blocked


def body_document(clean_html: str) -> str:
    """The iframe's whole document around the cleaned HTML."""
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        '<meta name="referrer" content="no-referrer">'
        '<base target="_blank">'
        "<style>body{font-family:system-ui,sans-serif;font-size:14px;margin:8px;"
        "overflow-wrap:anywhere}img{max-width:100%;height:auto}"
        "table{max-width:100%}</style></head><body>"
        f"{clean_html}</body></html>"
    )
