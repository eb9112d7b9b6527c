"""Load routes: post a department file with a named source profile; read a load's summary.

A department loads only under the source systems it owns, or a steward on the owner's behalf (403
``load.department_mismatch``); a batch is visible to the department it loaded for and to stewards, and is 404
``load.not_found`` to everyone else (:mod:`mdm.access.loading`)."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool

from api.deps import DatabaseDep, Loader, RegistryDep, SearchDep, SettingsDep, StandardDep
from api.routes.problems import LOAD_ERRORS
from api.schemas import LoadSummary
from loaders.pipeline import LoadOptions, load_file
from loaders.profiles import load_profile
from mdm.batches import get_batch
from mdm.errors import FileTooLarge, InvalidRequest

router = APIRouter(tags=["loads"])
_PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_SAFE_NAME = re.compile(r"[^\w.\-]+")


@router.post("/repositories/{repository}/loads", status_code=201, response_model=LoadSummary, responses=LOAD_ERRORS)
async def post_load(
    request: Request,
    caller: Loader,
    standard: StandardDep,
    db: DatabaseDep,
    registry: RegistryDep,
    settings: SettingsDep,
    backend: SearchDep,
    file: Annotated[UploadFile, File(description="The department file")],
    profile: Annotated[str, Form(description="Name of a source profile on the server")],
    force: Annotated[bool, Form(description="Let a snapshot retire more than the guard allows")] = False,
) -> Any:
    """Load a file synchronously with a named source profile of a source system the caller's department owns
    (stewards: any, on its owner's behalf); 201 with the load summary."""
    form = await request.form()
    if len(form.getlist("file")) != 1 or len(form.getlist("profile")) != 1:
        raise InvalidRequest("request.invalid", "send exactly one file part and one profile field")
    return await run_in_threadpool(
        _load_upload, request, caller, standard, db, registry, settings, backend, file, profile, force
    )


@router.get("/loads/{batch_id}", response_model=LoadSummary)
def get_load(caller: Loader, db: DatabaseDep, batch_id: str) -> Any:
    """The summary of a load batch of the caller's department (stewards: any)."""
    return get_batch(db, batch_id, viewer=caller).summary


def _load_upload(request, caller, standard, db, registry, settings, backend, file, profile, force) -> Any:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.max_upload_bytes + 1_048_576:  # room for the form fields
        raise FileTooLarge(settings.max_upload_bytes)
    if not _PROFILE_NAME.fullmatch(profile):
        raise InvalidRequest("request.invalid", "profile must be a profile name (letters, digits, . _ -), not a path")
    chosen = load_profile(profile, settings.profile_dirs, names_only=True)
    if chosen.repository != standard.repository:
        raise InvalidRequest(
            "request.invalid", f"profile {profile} loads {chosen.repository}, not {standard.repository}"
        )
    # prepared in this worker process: a served process has threads, and forking one is unsafe (loaders.parallel);
    # the API's concurrency is its worker processes (mdm serve --workers)
    options = LoadOptions.from_settings(settings, force=force).in_process()
    with tempfile.TemporaryDirectory(prefix="mdm-upload-") as tmp:
        path = _save_upload(file, settings.max_upload_bytes, Path(tmp))
        summary = load_file(
            db, chosen, path, options=options, registry=registry, file_name=path.name, search=backend, actor=caller
        ).as_dict()
        shutil.rmtree(tmp, ignore_errors=True)
    return summary


def _save_upload(upload: UploadFile, limit: int, directory: Path) -> Path:
    name = _SAFE_NAME.sub("_", Path(upload.filename or "").name).strip("._")[-100:] or "upload"
    target = directory / name
    written = 0
    with target.open("wb") as out:
        while chunk := upload.file.read(1 << 20):
            written += len(chunk)
            if written > limit:
                raise FileTooLarge(limit)
            out.write(chunk)
    return target
