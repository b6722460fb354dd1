from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SocialConfig(AppConfig):
    """Social listening (DOMAIN.md §1, social CRM): monitored keywords, feeds, Mastodon and
    signed webhooks as sources, mentions with sentiment, turned into leads, cases or replies."""

    name = "kreis.social"
    label = "social"
    verbose_name = _("Social listening")

    def ready(self) -> None:
        from kreis.core.demo import register_demo_step
        from kreis.core.search import register_indexer
        from kreis.social import rules  # noqa: F401  (permissions)
        from kreis.social.demo import create_social
        from kreis.social.models import Mention
        from kreis.social.search import all_mentions, mention_document

        register_indexer("mention", Mention, mention_document, all_records=all_mentions)
        # After parties (authors with handles), products and the complaint defaults.
        register_demo_step(create_social, order=960)
        import kreis.social.tasks  # noqa: F401  (the jobs register with Huey)
