import factory

from kreis.sales.models import Deal, LostReason
from kreis.sales.services import ensure_default_pipeline


def default_pipeline():
    """The pipeline the data migration created (Qualification … Won, Lost)."""
    return ensure_default_pipeline()


def stage_named(name: str):
    return default_pipeline().stages.get(name=name)


def lost_reason():
    return LostReason.objects.filter(is_active=True).first()


class DealFactory(factory.django.DjangoModelFactory):
    """A deal in the default pipeline's first stage; pass owner and team."""

    class Meta:
        model = Deal
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Deal {n}")
    pipeline = factory.LazyFunction(default_pipeline)
    stage = factory.LazyAttribute(lambda d: d.pipeline.stages.order_by("position").first())
    amount = 1000
