from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketingConfig(AppConfig):
    name = "kreis.marketing"
    label = "marketing"
    verbose_name = _("Lead management")

    def ready(self) -> None:
        # The permission predicates (marketing.view, marketing.change_record, …), registered
        # for every door: pages, API, CLI and jobs.
        import kreis.marketing.rules  # noqa: F401

        # Segments: the nightly count, their search hits, the party list's segment filter.
        from kreis.marketing.segments.apps import register as register_segments

        register_segments()

        # Relationship types: permissions, the nightly application, the party list's filter.
        import kreis.marketing.relationships.rules  # noqa: F401
        import kreis.marketing.relationships.tasks  # noqa: F401
        from kreis.core.demo import register_demo_step
        from kreis.marketing.relationships import search as relationship_search
        from kreis.marketing.relationships.demo import create_relationship_types
        from kreis.parties.queries import ListFilter, register_list_filter

        # After the demo's parties, segments and handoffs; before playbooks (950) name them.
        register_demo_step(create_relationship_types, order=420)
        register_list_filter(
            "relationship_type",
            ListFilter(
                apply=relationship_search.filter_party_list,
                describe=relationship_search.describe_party_list_filter,
                label=_("Relationship type"),
                all_label=_("All relationship types"),
                choices=relationship_search.party_list_choices,
            ),
        )

        # Web-to-lead forms: processing submissions, the sweeper; in the global search for
        # everyone who sees lead management (a provider, not the owner/team search index).
        import kreis.marketing.webforms.tasks  # noqa: F401
        from kreis.core.search import register_search_provider
        from kreis.marketing.webforms.search import lead_form_search_hits

        register_search_provider(lead_form_search_hits)

        # Integration: party merges fold duplicate list places and campaign memberships.
        from kreis.marketing.integration import receivers as integration

        integration.register()

        # Campaigns: touches from web forms, deal attribution.
        import kreis.marketing.campaigns.receivers  # noqa: F401
        from kreis.core.demo import register_demo_step
        from kreis.core.search import register_search_provider
        from kreis.marketing.campaigns.demo import create_campaigns
        from kreis.marketing.campaigns.queries import campaign_search_hits

        # Campaigns in the global search (for those who see lead management) and the demo.
        register_search_provider(campaign_search_hits)
        register_demo_step(create_campaigns, order=300)

        # Handoff to sales: demo rules and a month of handoffs, after the campaigns' leads.
        from kreis.marketing.handoff.demo import create_handoffs

        register_demo_step(create_handoffs, order=350)

        # Integration: the demo's web form, opt-ins, visits, offer, segments and training.
        from kreis.marketing.integration.demo import create_lead_management

        register_demo_step(create_lead_management, order=400)

        # Consent: a converted lead's consents go to its person; pending opt-ins expire.
        # Handoff to sales: its permissions, the MQL and first-contact receivers, the SLA job.
        import kreis.marketing.consent.receivers  # noqa: F401
        import kreis.marketing.consent.tasks  # noqa: F401
        import kreis.marketing.handoff.receivers  # noqa: F401
        import kreis.marketing.handoff.rules  # noqa: F401
        import kreis.marketing.handoff.tasks  # noqa: F401

        # Content offers: handed out after a form; the follow-up job.
        import kreis.marketing.offers.receivers  # noqa: F401
        import kreis.marketing.offers.tasks  # noqa: F401

        # Predictive lead scoring: the weekly training and the nightly scoring with MQL check.
        import kreis.marketing.predictive.tasks  # noqa: F401

        # Website tracking: visitor linking on forms, visits following a converted lead,
        # the nightly purge.
        import kreis.marketing.tracking.receivers  # noqa: F401
        import kreis.marketing.tracking.tasks  # noqa: F401
