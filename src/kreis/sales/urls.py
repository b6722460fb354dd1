from django.urls import include, path

from kreis.sales import pipeline_views, views

app_name = "sales"

urlpatterns = [
    path("", views.board, name="board"),
    path("board/column/<int:stage_id>/", views.board_column, name="board_column"),
    path("list/", views.deal_list, name="list"),
    path("list/export.csv", views.deal_export, name="export"),
    path("list/export.<str:fmt>", views.deal_export, name="export_as"),
    path("bulk/", views.deal_bulk, name="bulk"),
    path("new/", views.deal_create, name="create"),
    path("forecast/", views.forecast, name="forecast"),
    path("targets/", include("kreis.sales.targets.urls")),
    path("forecasting/", include("kreis.sales.forecast.urls")),
    path("channels/", include("kreis.sales.channels.urls")),
    path("transparency/", include("kreis.sales.transparency.urls")),
    path("forecast.json", views.forecast_data, name="forecast_data"),
    path("<int:pk>/", views.deal_detail, name="detail"),
    path("<int:pk>/edit/", views.deal_edit, name="edit"),
    path("<int:pk>/delete/", views.deal_delete, name="delete"),
    path("<int:pk>/move/", views.deal_move, name="move"),
    path(
        "<int:pk>/forecast-category/",
        views.deal_forecast_category,
        name="forecast_category",
    ),
    path("pipelines/", pipeline_views.pipeline_list, name="pipelines"),
    path("pipelines/new/", pipeline_views.pipeline_create, name="pipeline_create"),
    path("pipelines/<int:pk>/", pipeline_views.pipeline_edit, name="pipeline_edit"),
    path("pipelines/<int:pk>/delete/", pipeline_views.pipeline_delete, name="pipeline_delete"),
    path("pipelines/<int:pk>/stages/", pipeline_views.stage_add, name="stage_add"),
    path("stages/<int:pk>/", pipeline_views.stage_edit, name="stage_edit"),
    path("stages/<int:pk>/delete/", pipeline_views.stage_delete, name="stage_delete"),
    path("lost-reasons/", pipeline_views.lost_reason_add, name="lost_reason_add"),
    path("lost-reasons/<int:pk>/", pipeline_views.lost_reason_edit, name="lost_reason_edit"),
]
