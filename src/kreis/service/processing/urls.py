"""The case page's processing actions (included into kreis.service.urls, namespace service)."""

from django.urls import path

from kreis.service.processing import views

urlpatterns = [
    path("<int:pk>/tasks/", views.task_create, name="task_create"),
    path("<int:pk>/tasks/<int:task_pk>/done/", views.task_done, name="task_done"),
    path("<int:pk>/supplier/", views.supplier_forward, name="supplier_forward"),
    path(
        "<int:pk>/supplier/<int:request_pk>/answer/",
        views.supplier_answer,
        name="supplier_answer",
    ),
    path(
        "<int:pk>/supplier/<int:request_pk>/withdraw/",
        views.supplier_withdraw,
        name="supplier_withdraw",
    ),
    path("<int:pk>/costs/", views.cost_create, name="cost_create"),
    path("<int:pk>/costs/<int:cost_pk>/", views.cost_edit, name="cost_edit"),
    path("<int:pk>/costs/<int:cost_pk>/delete/", views.cost_delete, name="cost_delete"),
]
