"""Lead management's pages under /marketing/ (signed-in staff). The public pages (web forms,
opt-in confirmation, unsubscribe, tracking, downloads) are in the project's urls.py."""

from django.urls import include, path  # noqa: F401 (the parts' includes below)

app_name = "marketing"

urlpatterns: list = []
