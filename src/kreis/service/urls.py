from django.urls import include, path

from kreis.service import views
from kreis.service.public_form import views as public_form
from kreis.service.rating import views as rating_views

app_name = "service"

urlpatterns = [
    path("", views.case_list, name="list"),
    path("", include("kreis.service.analysis.urls")),
    path("new/", views.case_create, name="create"),
    path("public-form/", public_form.setup, name="public_form"),
    path("party/<int:party_pk>/", views.party_cases, name="party_cases"),
    path("<int:pk>/", views.case_detail, name="detail"),
    path("<int:pk>/transition/", views.case_transition, name="transition"),
    path("<int:pk>/waiting/", views.case_waiting, name="waiting"),
    path("<int:pk>/note/", views.case_note, name="note"),
    path("<int:pk>/reply/", views.case_reply, name="reply"),
    path("<int:pk>/customer-message/", views.case_customer_message, name="customer_message"),
    path("<int:pk>/assign/", views.case_assign, name="assign"),
    path("", include("kreis.service.processing.urls")),
    path("", include("kreis.service.improvement.urls")),
    # Public: the customer's rating page behind the personal link of the closing e-mail.
    path("rate/<str:token>/", rating_views.rate, name="rate"),
]
