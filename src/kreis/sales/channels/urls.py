from django.urls import path

from kreis.sales.channels import views

app_name = "channels"

urlpatterns = [path("", views.channel_page, name="page")]
