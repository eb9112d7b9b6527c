"""The web console (``/console``): server-rendered pages for stewards, departments and finance staff, in Chinese.

Pages call the same ``mdm`` services as the API — record reads go through :class:`mdm.reads.Reads` with the
signed-in key and the purpose it chose, so a page never shows a value the key could not read through the API, and
every read is audited like an API read. Charts are drawn by Apache ECharts, vendored from its npm package under
``static/vendor/echarts`` with its licence (no CDN: the console works on a closed network); the base map is
``static/basemap/basemap.geojson`` (see its SOURCE.md).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.console.render import SecurityHeaders
from api.console.routes import router

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Serve the console on ``app``: its pages under ``/console``, its static files under ``/console/static``,
    and the security headers on every console response (pages, downloads and redirects alike)."""
    app.add_middleware(SecurityHeaders)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    app.include_router(router)
