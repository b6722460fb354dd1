from django.urls import path

from kreis.commerce import views

app_name = "commerce"

urlpatterns = [
    path("products/", views.product_list, name="product_list"),
    path("products/new/", views.product_create, name="product_create"),
    path("products/export.csv", views.product_export, name="product_export"),
    path("products/export.<str:fmt>", views.product_export, name="product_export_as"),
    path("products/<int:pk>/", views.product_detail, name="product_detail"),
    path("products/<int:pk>/edit/", views.product_edit, name="product_edit"),
    path("products/<int:pk>/deactivate/", views.product_deactivate, name="product_deactivate"),
    path("transactions/", views.transaction_list, name="transaction_list"),
    path("transactions/new/", views.transaction_create, name="transaction_create"),
    path("transactions/export.csv", views.transaction_export, name="transaction_export"),
    path(
        "transactions/export.<str:fmt>",
        views.transaction_export,
        name="transaction_export_as",
    ),
    path("transactions/bulk/", views.transaction_bulk, name="transaction_bulk"),
    path("transactions/party/<int:party_pk>/", views.party_panel, name="party_panel"),
    path("transactions/party-lookup/", views.party_lookup, name="party_lookup"),
    path("transactions/<int:pk>/", views.transaction_detail, name="transaction_detail"),
    path("transactions/<int:pk>/edit/", views.transaction_edit, name="transaction_edit"),
    path("transactions/<int:pk>/delete/", views.transaction_delete, name="transaction_delete"),
]
