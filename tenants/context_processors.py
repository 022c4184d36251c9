from django.utils.functional import SimpleLazyObject

from tenants.selectors import has_several_memberships


def tenant(request):
    return {
        "tenant": getattr(request, "tenant", None),
        "membership": getattr(request, "membership", None),
    }


def organisations(request) -> dict:
    """Whether the header offers "Switch organisation": asked only when a page shows the header
    to someone signed in, in one query."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"several_organisations": False}
    return {"several_organisations": SimpleLazyObject(lambda: has_several_memberships(user))}
