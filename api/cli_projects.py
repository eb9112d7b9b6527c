"""``mdm projects …``: e-government projects on the command line. Thin: parse, call one ``mdm.projects``
service, print. Errors print ``error <code>: <detail>`` and exit 1 (2 for a usage error).

Commands: ``list``, ``show ID``, ``export --year Y [--format csv|json]``, ``import-payments FILE``,
``om-statistics --year Y [--json]``. The command line acts with the database's full trust; actions it records
carry the department given by ``--department`` and the key prefix ``cli``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from mdm.errors import MdmError

projects_app = typer.Typer(help="E-government projects (电子政务项目).", no_args_is_help=True)
err = Console(stderr=True)


def _out() -> Console:
    """The stdout console; as wide as a table needs when not a terminal (a pipe, a file, a test)."""
    console = Console(soft_wrap=True)
    return console if console.is_terminal else Console(soft_wrap=True, width=220)


def _database():
    from mdm.db import Database
    from mdm.settings import get_settings

    return Database(get_settings().database_url)


def _cli_caller(department: str = "command line"):
    """The command line's caller: the database's full trust (an admin), recorded with the key prefix ``cli``."""
    from mdm.keys import Caller

    return Caller(department=department, role="admin", key_prefix="cli")


def _fail(exc: MdmError) -> typer.Exit:
    err.print(f"[red]error[/red] {exc.code}: {exc.detail}")
    return typer.Exit(exc.exit_code)  # the error's class carries its exit code (mdm.errors)


def _json(value) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


@projects_app.command("list")
def list_projects(
    year: Annotated[int | None, typer.Option(help="Only this year.")] = None,
    kind: Annotated[str | None, typer.Option(help="construction or om.")] = None,
    status: Annotated[str | None, typer.Option(help="A stage, e.g. approved.")] = None,
    q: Annotated[str | None, typer.Option(help="Text in the name, scope or department.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List projects, newest first."""
    from mdm.projects.service import list_projects as run

    try:
        result = run(_database(), caller=_cli_caller(), year=year, kind=kind, status=status, q=q, limit=limit)
    except MdmError as exc:
        raise _fail(exc) from None
    if as_json:
        _json(result)
        return
    table = Table("id", "year", "kind", "status", "name", "department", "requested 万元", "approved 万元")
    for p in result["items"]:
        table.add_row(
            str(p["id"]),
            str(p["year"]),
            p["kind"],
            p["status"],
            p["name"],
            p["department_name"],
            p["requested_wan"],
            p["approved_wan"] or "",
        )
    out = _out()
    out.print(table)
    out.print(f"{result['total']} project(s)")


@projects_app.command("show")
def show(project_id: Annotated[int, typer.Argument(help="The project id.")]) -> None:
    """Print one project as JSON: fields, transitions, documents, evaluations, vendors, payments."""
    from mdm.projects.service import get_project

    try:
        _json(get_project(_database(), project_id, caller=_cli_caller()))
    except MdmError as exc:
        raise _fail(exc) from None


@projects_app.command("export")
def export(
    year: Annotated[int, typer.Option(help="The budget year.")],
    format: Annotated[str, typer.Option(help="csv or json.")] = "csv",
    output: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
) -> None:
    """Export the approved budget lines of a year for the budget system (docs/projects.md)."""
    from mdm.projects import finance

    if format not in ("csv", "json"):
        err.print("[red]error[/red] request.invalid: --format must be csv or json")
        raise typer.Exit(2)
    lines = finance.budget_lines(_database(), year=year)
    text = finance.budget_csv(lines) if format == "csv" else json.dumps({"lines": lines}, ensure_ascii=False)
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        typer.echo(text, nl=False)


@projects_app.command("import-payments")
def import_payments(
    file: Annotated[
        Path, typer.Argument(help="CSV voucher_no,project_id,paid_on,amount_wan[,override_reason] (UTF-8).")
    ],
    department: Annotated[str, typer.Option(help="Recorded as the acting department.")] = "finance (command line)",
) -> None:
    """Import the budget system's payment records (approved projects, within their years and the approved amount
    unless a row gives an override_reason); prints the import report as JSON."""
    from mdm.projects import finance

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        err.print(f"[red]error[/red] file.unreadable: {exc}")
        raise typer.Exit(3) from None
    caller = _cli_caller(department)
    try:
        report = finance.import_payments(_database(), caller=caller, text=text)
    except MdmError as exc:
        raise _fail(exc) from None
    _json(report)
    if report["rejected"]:
        raise typer.Exit(5 if not report["imported"] and not report["skipped"] else 0)


@projects_app.command("om-statistics")
def om_statistics(
    year: Annotated[int, typer.Option(help="The census year.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """The O&M census of a year per category: count, total, median, P25/P75, share, growth, standard."""
    from mdm.projects.census import om_statistics as run

    result = run(_database(), year=year, caller=_cli_caller())
    if as_json:
        _json(result)
        return
    table = Table(
        "category",
        "count",
        "total 万元",
        "P25",
        "median",
        "P75",
        "share of construction",
        "growth",
        "standard ratio",
        "above",
        title=f"运维普查 {year} — standard: {result['rule']}",
    )
    for c in result["categories"]:
        above = sum(1 for d in c["declarations"] if d["above_standard"])
        table.add_row(
            f"{c['title']} ({c['category']})",
            str(c["count"]),
            c["total_wan"],
            c["p25_wan"],
            c["median_wan"],
            c["p75_wan"],
            c["share_of_construction"] or "",
            c["growth"] or "",
            c["standard_ratio"] or "",
            str(above),
        )
    _out().print(table)
