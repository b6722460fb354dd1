"""What segments register when Django starts (called from ``MarketingConfig.ready``)."""

from __future__ import annotations


def register() -> None:
    import kreis.marketing.segments.tasks  # noqa: F401 (the nightly snapshot job)
    from kreis.core.search import register_indexer
    from kreis.marketing.models import Segment
    from kreis.marketing.segments.search import (
        all_segments,
        describe_party_list_filter,
        filter_party_list,
        segment_document,
    )
    from kreis.parties.queries import ListFilter, register_list_filter

    register_indexer("segment", Segment, segment_document, all_records=all_segments)
    register_list_filter(
        "segment", ListFilter(apply=filter_party_list, describe=describe_party_list_filter)
    )
