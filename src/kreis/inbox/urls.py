from django.urls import path

from kreis.inbox import views

app_name = "inbox"

urlpatterns = [
    path("", views.item_list, name="list"),
    path("bulk/", views.item_bulk, name="bulk"),
    path("<int:pk>/", views.item_detail, name="detail"),
    path("<int:pk>/update/", views.item_update, name="update"),
]
