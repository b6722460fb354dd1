import factory

from kreis.parties.models import Party, PartyKind


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Party

    kind = PartyKind.ORGANIZATION
    name = factory.Faker("company", locale="de_DE")


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Party

    kind = PartyKind.PERSON
    first_name = factory.Faker("first_name", locale="de_DE")
    last_name = factory.Faker("last_name", locale="de_DE")
    name = factory.LazyAttribute(lambda p: f"{p.first_name} {p.last_name}")
