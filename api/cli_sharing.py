"""``mdm departments``, ``mdm purposes``, ``mdm grants`` and ``mdm audit``: sharing from the command line.

Registered on the ``mdm`` app by one import at the end of :mod:`api.cli`. Actions taken here are audited with
no acting department (the operator at the console), like a load.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer

from api.cli import EXIT, _database, _fail, app, err
from mdm.errors import MdmError

departments_app = typer.Typer(help="Departments (委办局).", no_args_is_help=True)
purposes_app = typer.Typer(help="Purposes of use (用途/事由).", no_args_is_help=True)
grants_app = typer.Typer(help="Grants: repository × fields × purpose.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit.", no_args_is_help=True)
app.add_typer(departments_app, name="departments")
app.add_typer(purposes_app, name="purposes")
app.add_typer(grants_app, name="grants")
app.add_typer(audit_app, name="audit")


def _print(row: dict) -> None:
    print(json.dumps(row, ensure_ascii=False, default=str))


@departments_app.command("add")
def departments_add(
    department_id: Annotated[str, typer.Argument(help="A USCC (GB 32100) or a short code.")],
    name: Annotated[str, typer.Argument(help="The department's name.")],
    owns: Annotated[list[str] | None, typer.Option(help="A repository whose source it owns (repeatable).")] = None,
) -> None:
    """Register a department."""
    from mdm import audit
    from mdm.access.departments import add_department

    try:
        with _database().write() as session:
            row = add_department(session, department_id=department_id, name=name, owns=owns or [])
            audit.record(session, actor=None, action="department:add", target=row.id, detail={"name": row.name})
    except MdmError as exc:
        raise _fail(exc) from exc
    err.print(f"registered department {row.id} ({row.name})")


@departments_app.command("set-owner")
def departments_set_owner(
    repository: Annotated[str, typer.Argument(help="The repository id.")],
    department: Annotated[
        str | None, typer.Argument(help="The new owning department (id or name); leave out with --none.")
    ] = None,
    none: Annotated[bool, typer.Option("--none", help="Leave the repository without an owner (stewards).")] = False,
) -> None:
    """Make one department the owner of a repository's source, taking it from the previous owner (audited)."""
    from mdm.access.departments import set_owner

    if (department is None) == (not none):
        err.print("[red]error[/red] request.invalid: name the new owning department, or give --none")
        raise typer.Exit(EXIT["usage"])
    try:
        with _database().write() as session:
            result = set_owner(session, repository=repository, department=department, actor=None)
    except MdmError as exc:
        raise _fail(exc) from exc
    _print(result)
    previous = ", ".join(result["previous"]) or "nobody"
    err.print(f"{repository} is owned by {result['owner'] or 'nobody (stewards decide)'}; before: {previous}")


@departments_app.command("list")
def departments_list() -> None:
    """List departments, one JSON object a line."""
    from mdm.access.departments import list_departments

    with _database().read() as session:
        for row in list_departments(session):
            _print(row)


@purposes_app.command("add")
def purposes_add(
    code: Annotated[str, typer.Argument(help="Lower-case dotted words, e.g. tax.audit.")],
    title: Annotated[str, typer.Argument(help="Title.")],
    legal_basis: Annotated[str, typer.Option("--legal-basis", help="The rule that allows this use.")],
) -> None:
    """Register a purpose."""
    from mdm import audit
    from mdm.access.departments import add_purpose

    try:
        with _database().write() as session:
            row = add_purpose(session, code=code, title=title, legal_basis=legal_basis)
            audit.record(session, actor=None, action="purpose:add", target=row.code, detail={"title": row.title})
    except MdmError as exc:
        raise _fail(exc) from exc
    err.print(f"registered purpose {row.code}")


@purposes_app.command("list")
def purposes_list() -> None:
    """List purposes, one JSON object a line."""
    from mdm.access.departments import list_purposes

    with _database().read() as session:
        for row in list_purposes(session):
            _print(row)


def _moment(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@grants_app.command("add")
def grants_add(
    department: Annotated[str, typer.Option(help="Department id or name.")],
    repository: Annotated[str, typer.Option(help="Repository id.")],
    field: Annotated[list[str], typer.Option(help="A field, or * (repeatable).")],
    purpose: Annotated[list[str], typer.Option(help="A purpose code (repeatable).")],
    kind: Annotated[str, typer.Option(help="read or verify.")] = "read",
    unmasked: Annotated[list[str] | None, typer.Option(help="A sensitive field shown in clear (repeatable).")] = None,
    valid_from: Annotated[str | None, typer.Option(help="ISO 8601; default now.")] = None,
    valid_until: Annotated[str | None, typer.Option(help="ISO 8601; default open.")] = None,
    per_minute: Annotated[
        int | None, typer.Option(min=1, help="Metered calls (verifications, keys looked up) per UTC minute.")
    ] = None,
    per_day: Annotated[int | None, typer.Option(min=1, help="Metered calls per UTC day.")] = None,
) -> None:
    """Issue a grant; prints it as JSON. Without --per-minute/--per-day the service's metering defaults apply."""
    from mdm.access.grants import GrantSpec, grant_out, issue_grant
    from standards import default_registry

    try:
        standard = default_registry().get(repository)
    except KeyError:
        err.print(f"[red]error[/red] repository.unknown: no repository {repository!r}")
        raise typer.Exit(EXIT["usage"]) from None
    spec = GrantSpec(
        repository=repository,
        fields=tuple(field),
        purposes=tuple(purpose),
        kind=kind,
        unmasked=tuple(unmasked or ()),
        valid_from=_moment(valid_from),
        valid_until=_moment(valid_until),
        per_minute=per_minute,
        per_day=per_day,
    )
    try:
        with _database().write() as session:
            _print(grant_out(issue_grant(session, standard, department=department, spec=spec, issued_by="cli")))
    except MdmError as exc:
        raise _fail(exc) from exc


@grants_app.command("list")
def grants_list(department: Annotated[str | None, typer.Option(help="Only this department id.")] = None) -> None:
    """List grants (revoked ones too), one JSON object a line."""
    from mdm.access.grants import grant_out, list_grants

    with _database().read() as session:
        for row in list_grants(session, department=department):
            _print(grant_out(row))


@grants_app.command("revoke")
def grants_revoke(grant_id: Annotated[int, typer.Argument(help="The grant's id.")]) -> None:
    """Revoke a grant; it stops working on the next request."""
    from mdm.access.grants import revoke_grant

    try:
        with _database().write() as session:
            revoke_grant(session, grant_id, revoked_by="cli")
    except MdmError as exc:
        raise _fail(exc) from exc
    err.print(f"revoked grant {grant_id}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit hash chain; exit 1 naming the first broken row (edited, deleted or moved)."""
    from mdm.audit import verify_chain

    with _database().read() as session:
        result = verify_chain(session)
    if not result.ok:
        err.print(f"[red]error[/red] audit.chain_broken: event {result.broken_id}: {result.problem}")
        print(
            json.dumps(
                {"ok": False, "checked": result.checked, "broken_id": result.broken_id, "problem": result.problem}
            )
        )
        raise typer.Exit(EXIT["error"])
    print(json.dumps({"ok": True, "checked": result.checked, "head": result.head}))
    err.print(f"audit chain intact: {result.checked} events, head {result.head}")
