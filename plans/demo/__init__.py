"""The demo: two tenants modelled on the seed councils, built through the services."""

from plans.demo.build import DemoRefused, DemoSummary, demo_build, laming_framework_ensure
from plans.demo.data import DEMO_PASSWORD

__all__ = ["DEMO_PASSWORD", "DemoRefused", "DemoSummary", "demo_build", "laming_framework_ensure"]
