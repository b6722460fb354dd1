from kreis.core.queries import notification_unread_count


def shell(request) -> dict:
    """What the app shell shows on every page: unread notifications and the navigation."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": notification_unread_count(user=user)}
