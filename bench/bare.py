"""The framework's own ceiling for bench/read.py: a bare FastAPI route that does the same one SELECT as a GET by
key and returns the record's JSON, served by the same uvicorn with the same worker count — no key, no grant, no
masking, no audit. ``uvicorn bench.bare:create --factory``; the database URL comes from ``BENCH_DATABASE_URL``.
Not part of the service."""

from __future__ import annotations

import os
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, HTTPException


def create() -> FastAPI:
    engine = sa.create_engine(os.environ["BENCH_DATABASE_URL"], pool_size=20, max_overflow=0, pool_pre_ping=True)
    statement = sa.text("SELECT data FROM golden_records WHERE repository = 'natural_person' AND business_key = :k")
    app = FastAPI()

    @app.get("/records/{key}")
    def record(key: str) -> Any:
        with engine.connect() as conn:
            row = conn.execute(statement, {"k": key}).one_or_none()
        if row is None:
            raise HTTPException(404)
        return {"key": key, "data": row[0]}

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
