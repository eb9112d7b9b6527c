"""The ``mdm`` command line. Thin, like the routes: parse, call a service, print, exit with a documented code.

Exit codes (README "Exit codes"): 0 success; 1 an unexpected or service error; 2 a usage error; 3 a file
rejected whole; 4 a snapshot guard refused; 5 a file whose every row was rejected; 6 a file stored but not all
searchable (the search index refused records) — see :data:`EXIT`. A domain
error exits with the code its class carries (:mod:`mdm.errors`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.cli_projects import projects_app
from mdm.errors import FileRejected, GuardRefused, InvalidRequest, MdmError

if TYPE_CHECKING:
    from mdm.settings import Settings

EXIT = {
    "ok": 0,
    "error": MdmError.exit_code,
    "usage": InvalidRequest.exit_code,
    "file_rejected": FileRejected.exit_code,
    "guard_refused": GuardRefused.exit_code,
    "all_rejected": 5,  # a result, not an error: the batch committed with every row rejected
    "unindexed": 6,  # a result, not an error: the batch committed, but the search index refused some records
}

app = typer.Typer(
    help="Base-information resource service.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # domain errors print one line (main); a real bug keeps its plain traceback
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
profiles_app = typer.Typer(help="Source profiles.", no_args_is_help=True)
codes_app = typer.Typer(help="Code lists (代码表).", no_args_is_help=True)
indexer_app = typer.Typer(help="The outbox indexer (Elasticsearch).", no_args_is_help=True)
search_app = typer.Typer(help="Search index maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(profiles_app, name="profiles")
app.add_typer(codes_app, name="codes")
app.add_typer(indexer_app, name="indexer")
app.add_typer(search_app, name="search")
app.add_typer(projects_app, name="projects")

err = Console(stderr=True)


def _settings():
    from pydantic import ValidationError

    from mdm.settings import get_settings

    try:
        return get_settings()
    except ValidationError as exc:
        problems = "; ".join(f"MDM_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors())
        err.print(f"[red]error[/red] request.invalid: bad setting — {problems}")
        raise typer.Exit(EXIT["usage"]) from None


def _database():
    from mdm.db import Database

    return Database(_settings().database_url)


def _fail(exc: MdmError) -> typer.Exit:
    """Print ``exc`` as one line and exit with the code its class carries."""
    err.print(f"[red]error[/red] {exc.code}: {exc.detail}")
    return typer.Exit(exc.exit_code)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create the database if needed and migrate it to the newest schema."""
    from mdm.db import current_revision, upgrade

    database = _database()
    upgrade(database.engine)
    err.print(f"database at revision {current_revision(database.engine)} ({database.dialect})")


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision of the database (empty when not created)."""
    from mdm.db import current_revision

    print(current_revision(_database().engine) or "")


_ROLES_HELP = (
    "The key's role. Levels: reader, loader, admin (each includes the ones before). Project roles "
    "(e-government projects): declarer, bigdata_reviewer, finance_reviewer, plan_control, finance_approver."
)


@keys_app.command("create")
def keys_create(
    department: Annotated[str, typer.Option(help="The registered department (id or name) the key belongs to.")],
    role: Annotated[str, typer.Option(help=_ROLES_HELP)] = "reader",
    register: Annotated[
        bool,
        typer.Option(
            "--register",
            help="Also register a new department when --department names none that is registered: --department "
            "becomes its id (a USCC or a short code) and --name its name. Without --register an unknown department "
            "is refused (department.not_found, exit 2); a name that reads like a registered department's is "
            "refused (department.name_confusable, exit 2) with that department's id to use instead.",
        ),
    ] = False,
    name: Annotated[
        str | None, typer.Option(help="With --register: the new department's name (--department is then its id).")
    ] = None,
) -> None:
    """Issue an API key for a registered department; printed once, stored hashed. An unknown department is
    refused (department.not_found, exit 2) unless --register asks to register it."""
    from mdm.keys import issue_key

    if name is not None and not register:
        err.print("[red]error[/red] request.invalid: --name registers a department; give --register with it")
        raise typer.Exit(EXIT["usage"])
    try:
        issued = issue_key(_database(), department=department, role=role, register=register, name=name)
    except MdmError as exc:
        raise _fail(exc) from exc
    if issued.registered:
        err.print(f"registered the department {department!r} as {issued.department}")
    print(issued.key)


@profiles_app.command("list")
def profiles_list() -> None:
    """List the source profiles found in MDM_PROFILE_PATH."""
    from loaders.profiles import available_profiles

    for name in available_profiles(_settings().profile_dirs):
        print(name)


def _print_summary(summary: dict) -> None:
    table = Table(title=f"{summary['file']} → {summary['repository']} ({summary['status']})", show_header=False)
    for key in (
        "batch_id",
        "profile",
        "encoding",
        "read",
        "inserted",
        "updated",
        "unchanged",
        "retired",
        "rejected",
        "warnings",
    ):
        table.add_row(key, str(summary.get(key)))
    golden = summary.get("golden") or {}
    if golden:
        table.add_row("golden", ", ".join(f"{k} {v}" for k, v in golden.items()))
    for label in ("reject_codes", "warning_codes"):
        if summary.get(label):
            table.add_row(label.replace("_", " "), ", ".join(f"{k} ×{v}" for k, v in summary[label].items()))
    if summary.get("rejected"):
        table.add_row("rejects", summary["rejects_path"])
    if summary.get("error"):
        table.add_row("error", f"{summary['error']['code']}: {summary['error']['detail']}")
    if summary.get("notice"):
        table.add_row("notice", f"{summary['notice']['code']}: {summary['notice']['detail']}")
    if summary.get("index"):
        index = summary["index"]
        text = (
            f"{index['indexed']} indexed, {index['stale']} stale, {index['failed']} failed, {index['pending']} pending"
        )
        if index.get("unavailable"):
            text += " (Elasticsearch unavailable; `mdm indexer run` will catch up)"
        table.add_row("search index", text)
    table.add_row("seconds", str(summary.get("seconds")))
    err.print(table)


@app.command("load")
def load(
    files: Annotated[list[Path], typer.Argument(help="Files to load; one batch each.")],
    profile: Annotated[str, typer.Option("--profile", "-p", help="Profile path or name in MDM_PROFILE_PATH.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON summary per file on stdout.")] = False,
    report_dir: Annotated[Path | None, typer.Option(help="Report root (default MDM_REPORT_DIR).")] = None,
    force: Annotated[bool, typer.Option(help="Let a snapshot retire more than the guard allows.")] = False,
    guard: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="Snapshot guard as a share 0–1 (default 0.05).")
    ] = None,
    department: Annotated[
        str | None,
        typer.Option(
            help="Load as this department (id or name): refused unless it owns the profile's source system. "
            "Without it the operator loads as a steward, on the owner's behalf."
        ),
    ] = None,
) -> None:
    """Load department files with a source profile: one batch and one transaction per file. The operator runs it
    as a steward (on behalf of the department that owns the profile's source system), or as ``--department``."""
    from loaders.pipeline import LoadOptions, load_file
    from loaders.profiles import load_profile
    from mdm.access.departments import get_department
    from mdm.keys import Caller
    from mdm.search import backend_for

    settings = _settings()
    try:
        chosen = load_profile(profile, settings.profile_dirs)
    except FileRejected as exc:
        if as_json:
            print(
                json.dumps(
                    {"status": "rejected", "error": {"code": exc.code, "detail": exc.detail}}, ensure_ascii=False
                ),
                flush=True,
            )
        raise _fail(exc) from exc
    options = LoadOptions.from_settings(settings, force=force, guard=guard, report_root=report_dir)
    database = _database()
    actor = None
    if department is not None:
        try:
            with database.read() as session:
                actor = Caller(get_department(session, department).id, "loader", "cli")
        except MdmError as exc:
            raise _fail(exc) from exc
    search = backend_for(settings, database)
    worst = EXIT["ok"]
    for path in files:
        try:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TextColumn("{task.fields[rows]} rows"),
                TimeElapsedColumn(),
                console=err,
                transient=True,
                disable=not err.is_terminal,
            ) as bar:
                task = bar.add_task(path.name, total=None, rows=0)

                def tick(rows: int, done: int, total: int, task=task, bar=bar) -> None:
                    bar.update(task, completed=done, total=total, rows=rows)

                summary = load_file(
                    database, chosen, path, options=options, progress=tick, search=search, actor=actor
                ).as_dict()
            code = _load_exit(summary)
        except (FileRejected, GuardRefused) as exc:
            summary = exc.extra.get("summary") or {
                "file": str(path),
                "status": "rejected",
                "error": {"code": exc.code, "detail": exc.detail},
            }
            code = exc.exit_code
            if not as_json:
                err.print(f"[red]error[/red] {exc.code}: {exc.detail}")
        except MdmError as exc:
            raise _fail(exc) from exc
        if as_json:
            print(json.dumps(summary, ensure_ascii=False, default=str), flush=True)
        else:
            _print_summary(summary)
        worst = max(worst, code) if code else worst
    raise typer.Exit(worst)


def _load_exit(summary: dict) -> int:
    """The exit code of a committed load: 5 every row rejected, 6 stored but not all searchable (the search index
    refused records: status ``committed_unindexed``), else 0."""
    if summary["read"] and summary["rejected"] == summary["read"]:
        return EXIT["all_rejected"]
    return EXIT["unindexed"] if summary["status"] == "committed_unindexed" else EXIT["ok"]


@app.command("check")
def check(
    fmt: Annotated[
        str,
        typer.Argument(metavar="FORMAT", help="cn-resident-id, uscc, org-code, division-code, license-id, code"),
    ],
    values: Annotated[list[str], typer.Argument(help="Values to check.")],
    authoritative: Annotated[
        bool,
        typer.Option(
            "--authoritative", help="Answer as a load from the issuing authority would (authoritative: true)."
        ),
    ] = False,
    number: Annotated[
        str | None,
        typer.Option("--number", help="The values arrive as number cells: json or xlsx (exact digits are taken)."),
    ] = None,
    width: Annotated[
        int | None, typer.Option("--width", min=1, help="A fixed-width digit code of this width (x-width).")
    ] = None,
    pad: Annotated[bool, typer.Option("--pad", help="Pad a shorter code with zeros, as a profile's pad does.")] = False,
) -> None:
    """Check identifiers as a load would: one JSON object per value; exit 0 only if all are valid."""
    from loaders.check import FORMATS, NUMBER_CELLS, Arrival, check_values
    from mdm.codelists import DatabaseCodeLists
    from mdm.identifiers import KnownLegacyCodes

    if fmt not in FORMATS:
        err.print(f"[red]error[/red] request.invalid: unknown format {fmt!r}; one of {', '.join(FORMATS)}")
        raise typer.Exit(EXIT["usage"])
    if number is not None and number not in NUMBER_CELLS:
        err.print(f"[red]error[/red] request.invalid: --number is one of {', '.join(NUMBER_CELLS)}")
        raise typer.Exit(EXIT["usage"])
    if (pad or fmt == "code") and width is None:
        err.print("[red]error[/red] request.invalid: --pad and the format code need --width")
        raise typer.Exit(EXIT["usage"])
    db = _database()
    lists = DatabaseCodeLists(db)
    arrival = Arrival(number=number, width=width, pad=pad)
    results = check_values(
        fmt, values, lists, authoritative=authoritative, known_legacy=KnownLegacyCodes(db), arrival=arrival
    )
    for result in results:
        print(json.dumps(result, ensure_ascii=False))
    raise typer.Exit(0 if all(r["valid"] for r in results) else 1)


@codes_app.command("import")
def codes_import(
    list_name: Annotated[str, typer.Argument(metavar="LIST", help="Code list name, e.g. divisions, industries.")],
    file: Annotated[Path, typer.Argument(help="CSV code,name,valid_from,valid_to, or an NBS / MCA division file.")],
    layout: Annotated[str, typer.Option(help="auto, standard, nbs or mca.")] = "auto",
) -> None:
    """Replace a code list with the codes of a file."""
    from mdm.codelists import LAYOUTS, import_list

    if layout not in LAYOUTS:
        err.print(f"[red]error[/red] request.invalid: layout must be one of {', '.join(LAYOUTS)}")
        raise typer.Exit(EXIT["usage"])
    try:
        count = import_list(_database(), list_name, file, layout)
    except FileRejected as exc:
        raise _fail(exc) from exc
    err.print(f"{list_name}: {count} codes imported from {file.name}")


def _free_port(host: str, port: int) -> None:
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            err.print(f"[red]error[/red] cannot listen on {host}:{port}: {exc.strerror}; choose another --port")
            raise typer.Exit(EXIT["error"]) from None


@keys_app.command("list")
def keys_list() -> None:
    """List issued keys: prefix, department, role, created, revoked (never the key itself)."""
    from mdm.keys import list_keys

    for key in list_keys(_database()):
        print(json.dumps(key, ensure_ascii=False, default=str))


@keys_app.command("revoke")
def keys_revoke(prefix: Annotated[str, typer.Argument(help="The key's prefix as `mdm keys list` shows it.")]) -> None:
    """Revoke a key by its prefix; requests with it then get 401 auth.invalid_key."""
    from mdm.keys import revoke_key

    try:
        revoke_key(_database(), prefix)
    except MdmError as exc:
        raise _fail(exc) from exc
    err.print(f"revoked {prefix}")


def _search(database, *, indexed: bool = False):
    """The configured search backend (one factory: :func:`mdm.search.backend_for`); with ``indexed``, exit 2
    unless it keeps an index (the sql backend has nothing to drain)."""
    from mdm.search import backend_for

    backend = backend_for(_settings(), database)
    if indexed and not backend.indexed:
        err.print("[red]error[/red] request.invalid: MDM_ELASTICSEARCH_URL is not set (the sql backend needs no index)")
        raise typer.Exit(EXIT["usage"])
    return backend


def _repositories(repository: str | None) -> list:
    from mdm.repositories import standard_for
    from standards import default_registry

    registry = default_registry()
    names = registry.repositories if repository is None else [repository]
    try:
        return [standard_for(registry, name) for name in names]
    except MdmError as exc:
        raise _fail(exc) from None


@indexer_app.command("run")
def indexer_run(
    once: Annotated[bool, typer.Option(help="Drain what is pending and exit.")] = False,
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between drains.")] = 2.0,
) -> None:
    """Keep draining the outbox into Elasticsearch (Ctrl-C to stop)."""
    import time

    from standards import default_registry

    database = _database()
    backend = _search(database, indexed=True)
    while True:
        result = backend.sync(database, default_registry())
        if result.indexed or result.stale or result.failed or once:
            print(json.dumps(result.as_dict(), ensure_ascii=False), flush=True)
        if once:
            raise typer.Exit(0 if not result.failed else EXIT["error"])
        time.sleep(interval)


@app.command("reindex")
def reindex(
    repository: Annotated[str | None, typer.Option(help="One repository (default: all).")] = None,
) -> None:
    """Rebuild the search keys from the database: fresh Elasticsearch indices behind the aliases, with no gap
    in service, or (sql backend) every stale search_text."""
    database = _database()
    backend = _search(database)
    for standard in _repositories(repository):
        print(json.dumps(backend.rebuild(database, standard), ensure_ascii=False), flush=True)


@search_app.command("check")
def search_check(
    repository: Annotated[str | None, typer.Option(help="One repository (default: all).")] = None,
) -> None:
    """Compare database and index (counts, versions, retired records; sql: stale search keys); exit 1 on drift."""
    database = _database()
    backend = _search(database)
    drift = False
    for standard in _repositories(repository):
        report = backend.check(database, standard)
        drift = drift or report["drift"]
        print(json.dumps(report, ensure_ascii=False), flush=True)
    raise typer.Exit(EXIT["error"] if drift else 0)


def _log_config() -> dict:
    """uvicorn's logging configuration with every log on stderr (uvicorn sends its access log to stdout), and
    the service's own loggers (``mdm.*``, e.g. the background indexer) shown at INFO in uvicorn's format; stdout
    is left to what a command prints (``mdm demo``'s key)."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["handlers"]["access"]["stream"] = "ext://sys.stderr"
    config["loggers"]["mdm"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default MDM_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default MDM_PORT).")] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1, max=64, help="Worker processes (default MDM_WORKERS, else the CPUs on PostgreSQL, 1 on SQLite)."
        ),
    ] = None,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs) with uvicorn: one process, or N worker processes behind one
    socket under uvicorn's supervisor, which restarts a worker that dies."""
    import uvicorn

    from api.app import create_app

    settings = _settings()
    bind_host, bind_port = host or settings.host, port or settings.port
    count = workers or settings.workers or default_workers(settings)
    _free_port(bind_host, bind_port)
    if count == 1:
        uvicorn.run(create_app(settings), host=bind_host, port=bind_port, log_config=_log_config())
        return
    err.print(f"serving with {count} worker processes on {bind_host}:{bind_port}")
    uvicorn.run(
        "api.app:served_app",
        factory=True,
        workers=count,
        host=bind_host,
        port=bind_port,
        log_config=_log_config(),
        timeout_graceful_shutdown=30,
    )


def default_workers(settings: Settings) -> int:
    """Worker processes when neither ``--workers`` nor ``MDM_WORKERS`` says: the CPUs on PostgreSQL; one on SQLite
    (the embedded database has one writer at a time, and one process is what the demo needs)."""
    import os

    if settings.database_url.startswith("sqlite"):
        return 1
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


@app.command("demo")
def demo(
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    serve_api: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve after loading.")] = True,
) -> None:
    """Create the embedded database, load the built-in sample data, print keys and a sharing tour, and serve."""
    from api.demo import demo_settings, prepare_demo

    settings = demo_settings(_settings())  # the demo's profiles are on the served app's profile path
    if serve_api:
        _free_port(host, port)
    keys = prepare_demo(settings, console=err)
    err.print(f"admin key (stewards, shown once): [bold]{keys.admin}[/bold]", soft_wrap=True)
    err.print(
        f"reader key of 苏州市民政局(示例) (department 11990000MB0000030M; grant: natural_person and credit_record "
        "for social.assistance): "
        f"[bold]{keys.reader}[/bold]",
        soft_wrap=True,
    )
    err.print(
        f"reader key of 苏州市税务局(示例) (department 11990000MB0000040N; no read grant, a verify grant): "
        f"[bold]{keys.other}[/bold]",
        soft_wrap=True,
    )
    err.print(
        f"reader key of 苏州市公安局(示例) (department 11990000MB0000010K; owns natural_person, decides its sharing "
        f"requests): [bold]{keys.owner}[/bold]",
        soft_wrap=True,
    )
    print(keys.admin, flush=True)  # the only line on stdout: logs go to stderr (_log_config)
    if serve_api:
        import uvicorn

        from api.app import create_app

        err.print(
            f"serving on http://{host}:{port}  (console: http://{host}:{port}/console — sign in with a key above; "
            f"docs: http://{host}:{port}/docs)"
        )
        uvicorn.run(create_app(settings), host=host, port=port, log_config=_log_config())


def main() -> None:
    """Console entry point: Typer's usage errors exit 2; anything unexpected exits 1 with a message."""
    try:
        app(standalone_mode=True)
    except SystemExit:
        raise
    except MdmError as exc:
        err.print(f"[red]error[/red] {exc.code}: {exc.detail}")
        sys.exit(exc.exit_code)


import api.cli_sharing  # noqa: E402,F401 — registers mdm departments | purposes | grants | audit
