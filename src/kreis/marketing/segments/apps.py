"""What segments register when Django starts (called from ``MarketingConfig.ready``)."""

from __future__ import annotations


def register() -> None:
    import kreis.marketing.segments.tasks  # noqa: F401 (the nightly snapshot job)
    from kreis.core.search import register_search_provider
    from kreis.marketing.segments.search import (
        describe_party_list_filter,
        filter_party_list,
        segment_search_hits,
    )
    from kreis.parties.queries import ListFilter, register_list_filter

    # In the global search for everyone who sees lead management (not the owner/team index).
    register_search_provider(segment_search_hits)
    register_list_filter(
        "segment", ListFilter(apply=filter_party_list, describe=describe_party_list_filter)
    )
