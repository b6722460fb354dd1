"""Reads of price lists, discount rules and limits (everyone signed in sees them)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import Http404

from kreis.core.models import User
from kreis.pricing.models import DiscountRule, PriceList, PriceListItem, RepDiscountLimit


def _check(user: User, write: bool) -> None:
    if not user.has_perm("pricing.view"):
        raise Http404
    if write and not user.has_perm("pricing.manage"):
        raise PermissionDenied


def price_list_list_for_user(*, user: User) -> QuerySet[PriceList]:
    if not user.has_perm("pricing.view"):
        return PriceList.objects.none()
    return PriceList.objects.select_related("segment").annotate(item_count=Count("items"))


def price_list_get_for_user(*, user: User, pk: int, write: bool = False) -> PriceList:
    _check(user, write)
    found = PriceList.objects.select_related("segment").filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def item_get_for_user(*, user: User, pk: int, write: bool = False) -> PriceListItem:
    _check(user, write)
    found = PriceListItem.objects.select_related("price_list", "product").filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def items_of(price_list: PriceList) -> QuerySet[PriceListItem]:
    return price_list.items.select_related("product").order_by("product__name", "min_quantity")


def discount_rule_list_for_user(*, user: User) -> QuerySet[DiscountRule]:
    if not user.has_perm("pricing.view"):
        return DiscountRule.objects.none()
    return DiscountRule.objects.select_related("segment")


def discount_rule_get_for_user(*, user: User, pk: int, write: bool = False) -> DiscountRule:
    _check(user, write)
    found = DiscountRule.objects.select_related("segment").filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def rep_limits() -> QuerySet[RepDiscountLimit]:
    return RepDiscountLimit.objects.select_related("user").order_by("user__username")
