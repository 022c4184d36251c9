"""Production settings for the page benchmark (scripts/bench_pages.py): the service's own
settings, read from the environment the benchmark sets, with its URL configuration, which adds
a bare view for the floor, and static files collected into a directory of its own."""

import os
from pathlib import Path

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench_pages_urls"
STATIC_ROOT = Path(os.environ["BENCH_STATIC_ROOT"])
