from django.http import HttpRequest

from notifications.selectors import unread_count


def unread_notifications(request: HttpRequest) -> dict[str, int | None]:
    """The header's unread count: one query on a tenant's pages, none elsewhere (outside a
    tenant no scope is active, and a person's notifications belong to one tenant each)."""
    tenant = getattr(request, "tenant", None)
    if tenant is None or not request.user.is_authenticated:
        return {"notifications_unread": None}
    return {"notifications_unread": unread_count(tenant=tenant, user=request.user)}
