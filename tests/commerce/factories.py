from decimal import Decimal

import factory

from kreis.commerce.models import Product


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Produkt {n}")
    category = "Werkzeuge"
    unit = "pc"
    list_price = Decimal("100.00")
    unit_cost = Decimal("60.00")
    currency = "EUR"
