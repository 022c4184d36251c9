"""The service's URL configuration with the page benchmark's floor beside it: a bare view that
answers two bytes, behind the same middleware, signed in or not. Never part of the service."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import path

import config.urls


def floor(request):
    return HttpResponse("ok")


handler403 = config.urls.handler403
urlpatterns = [
    path("bench/floor/", login_required(floor)),
    path("bench/floor/anonymous/", floor),
    *config.urls.urlpatterns,
]
