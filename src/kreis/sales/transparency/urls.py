from django.urls import path

from kreis.sales.transparency import views

app_name = "transparency"

urlpatterns = [
    path("", views.transparency_page, name="page"),
    path("stuck/", views.stuck_list, name="stuck"),
    path("sla/", views.sla_list, name="sla"),
]
