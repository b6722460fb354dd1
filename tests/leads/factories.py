import factory

from kreis.leads.models import Lead, LeadStatus


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    status = LeadStatus.NEW
    first_name = factory.Faker("first_name", locale="de_DE")
    last_name = factory.Faker("last_name", locale="de_DE")
    company = factory.Faker("company", locale="de_DE")
    source = "Website"
