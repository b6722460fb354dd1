from datetime import timedelta

import factory
from django.utils import timezone

from kreis.activities.models import Activity, ActivityKind
from kreis.leads.models import Lead
from kreis.sales.models import Deal, Pipeline, Stage


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    kind = ActivityKind.NOTE
    subject = factory.Sequence(lambda n: f"Activity {n}")
    occurred_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    # Notes are done when written (as the service records them).
    done_at = factory.LazyAttribute(
        lambda a: a.occurred_at if a.kind == ActivityKind.NOTE else None
    )


class TaskFactory(ActivityFactory):
    kind = ActivityKind.TASK
    occurred_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))


class MeetingFactory(ActivityFactory):
    kind = ActivityKind.MEETING
    occurred_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))
    ends_at = factory.LazyAttribute(lambda a: a.occurred_at + timedelta(hours=1))


class PipelineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pipeline

    name = factory.Sequence(lambda n: f"Pipeline {n}")


class StageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stage

    pipeline = factory.SubFactory(PipelineFactory)
    name = factory.Sequence(lambda n: f"Stage {n}")


class DealFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Deal

    name = factory.Sequence(lambda n: f"Deal {n}")
    stage = factory.SubFactory(StageFactory)
    pipeline = factory.LazyAttribute(lambda d: d.stage.pipeline)


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    last_name = factory.Sequence(lambda n: f"Lead {n}")
