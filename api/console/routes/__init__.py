"""The console's pages by area; none is part of the OpenAPI document (they are pages, not the API)."""

from fastapi import APIRouter

from api.console.routes import auth, dashboards, loads, om, projects, records, sharing

router = APIRouter(prefix="/console", include_in_schema=False)
for area in (auth, records, loads, sharing, projects, om, dashboards):
    router.include_router(area.router)
