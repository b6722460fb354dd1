from django.urls import path

from kreis.pricing.approvals import views as approvals
from kreis.pricing.pricelists import views as pricelists
from kreis.pricing.quotes import views as quotes

app_name = "pricing"

urlpatterns = [
    path("", pricelists.price_list_list, name="price_lists"),
    path("pricelists/new/", pricelists.price_list_create, name="price_list_create"),
    path("pricelists/export.csv", pricelists.price_list_export, name="price_list_export"),
    path("pricelists/import/", pricelists.price_list_import, name="price_list_import"),
    path("pricelists/<int:pk>/", pricelists.price_list_detail, name="price_list_detail"),
    path("pricelists/<int:pk>/edit/", pricelists.price_list_edit, name="price_list_edit"),
    path("pricelists/<int:pk>/delete/", pricelists.price_list_delete, name="price_list_delete"),
    path("items/<int:pk>/delete/", pricelists.item_delete, name="item_delete"),
    path("discounts/", pricelists.rule_list, name="rules"),
    path("discounts/new/", pricelists.rule_create, name="rule_create"),
    path("discounts/<int:pk>/", pricelists.rule_edit, name="rule_edit"),
    path("discounts/<int:pk>/delete/", pricelists.rule_delete, name="rule_delete"),
    path("limits/", pricelists.limits, name="limits"),
    path("approvals/", approvals.inbox, name="approvals"),
    path("approvals/<int:pk>/decide/", approvals.decide, name="approval_decide"),
    path("deals/<int:deal_pk>/quotes/", quotes.deal_quotes, name="deal_quotes"),
    path("deals/<int:deal_pk>/quotes/new/", quotes.quote_create, name="quote_create"),
    path(
        "deals/<int:deal_pk>/approval/",
        quotes.deal_approval_request,
        name="deal_approval_request",
    ),
    path("quotes/<int:pk>/", quotes.quote_detail, name="quote_detail"),
    path("quotes/<int:pk>/pdf/", quotes.quote_pdf, name="quote_pdf"),
    path("quotes/<int:pk>/revise/", quotes.quote_revise, name="quote_revise"),
    path("quotes/<int:pk>/submit/", quotes.quote_submit, name="quote_submit"),
    path("quotes/<int:pk>/send/", quotes.quote_send, name="quote_send"),
    path("quotes/<int:pk>/accept/", quotes.quote_accept, name="quote_accept"),
    path("quotes/<int:pk>/reject/", quotes.quote_reject, name="quote_reject"),
]
