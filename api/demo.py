"""``mdm demo``: the embedded database with the built-in sample data, ready to try.

The samples (``api/demo/`` and :mod:`api.samples`):

* ``geo_feature`` — Suzhou and its county-level divisions, with codes and names from the statistics bureau's
  2023 division codes and coarse synthetic boundaries (marked as such);
* ``natural_person`` — 1,000 synthetic persons (address code 990102, which no real county holds), and a
  correction file of seven rows of which five are rejected (so the console's load pages have rejects to show);
* ``legal_entity`` — 300 synthetic companies with valid check characters and the ten government bodies that
  declare the demo's projects (:data:`api.samples.GOVERNMENT_BODIES`);
* ``credit_record`` — 300 credit records about them (loaded from JSON Lines);
* ``e_license`` — 500 licences they hold;
* e-government projects of 2025 (and 2024's O&M projects), see :mod:`api.demo_projects`;
* a few departments, purposes and grants (:mod:`api.demo_sharing`); each profile's source system belongs to one
  of the departments (公安局: persons; 市场监督管理局: companies, credit, licences; 大数据管理局: divisions), and the
  demo loads as the operator, a steward, on their behalf.

All from fixed seeds: running the demo again loads nothing new; each run issues fresh keys (stewards' admin key,
a 民政局 reader key with a grant). Every sample
file is written to ``<report dir>/../demo-data/`` (``./var/demo-data/`` by default), and the demo's profiles
(``api/demo/*.yaml``: ``suzhou-divisions``, ``persons``, ``entities``, ``credit``, ``licences``) are on the profile
path of the application ``mdm demo`` serves, so ``POST …/loads`` takes them by name. With Elasticsearch configured,
each load drains its batch into the index before the next one starts, as ``mdm load`` does.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from rich.console import Console

from api import samples
from api.demo_projects import seed_projects
from api.demo_sharing import DemoKeys, prepare_sharing, register_departments, tour
from loaders.pipeline import LoadOptions, load_file
from loaders.profiles import load_profile
from mdm.db import Database
from mdm.search import backend_for
from mdm.settings import Settings

SAMPLES = Path(__file__).parent / "demo"
COUNTS = {"persons": 1000, "entities": 300, "credit": 300, "licences": 500}


def write_samples(directory: Path) -> list[tuple[str, Path]]:
    """Write the synthetic sample files; returns (profile file, data file) in load order."""
    directory.mkdir(parents=True, exist_ok=True)
    people = list(samples.persons(COUNTS["persons"]))
    companies = list(samples.entities(COUNTS["entities"]))
    return [
        (
            "suzhou-divisions.yaml",
            Path(shutil.copyfile(SAMPLES / "suzhou-divisions.geojson", directory / "suzhou-divisions.geojson")),
        ),
        ("persons.yaml", samples.write_csv(directory / "persons.csv", people)),
        ("entities.yaml", samples.write_csv(directory / "entities.csv", [*samples.government_bodies(), *companies])),
        (
            "credit.yaml",
            samples.write_jsonl(
                directory / "credit.jsonl", list(samples.credit_records(COUNTS["credit"], companies, people))
            ),
        ),
        (
            "licences.yaml",
            samples.write_csv(
                directory / "licences.csv", list(samples.licences(COUNTS["licences"], companies, people))
            ),
        ),
    ]


def write_corrections(directory: Path) -> tuple[str, Path]:
    """The persons correction file (:func:`api.samples.corrections`: five of its seven rows are rejected)."""
    people = list(samples.persons(COUNTS["persons"]))
    return "persons.yaml", samples.write_csv(directory / "persons-corrections.csv", samples.corrections(people))


def demo_data_dir(settings: Settings) -> Path:
    """Where the demo writes its sample files: ``demo-data`` beside the report directory (``./var/demo-data``)."""
    return Path(settings.report_dir).parent / "demo-data"


def demo_settings(settings: Settings) -> Settings:
    """``settings`` with the demo's profiles (``api/demo``) last on the profile path, for the served app."""
    dirs = [str(d) for d in settings.profile_dirs]
    if str(SAMPLES) in dirs:
        return settings
    return settings.model_copy(update={"profile_path": os.pathsep.join([*dirs, str(SAMPLES)])})


def _credit() -> list[dict]:
    people = list(samples.persons(COUNTS["persons"]))
    return list(samples.credit_records(COUNTS["credit"], list(samples.entities(COUNTS["entities"])), people))


def prepare_demo(settings: Settings, *, console: Console | None = None) -> DemoKeys:
    """Migrate the database, load every sample, set up sharing, print the tour (with ``console``) and return
    new keys."""
    database = Database(settings.database_url)
    database.ensure_schema()
    search = backend_for(settings, database)
    options = LoadOptions.from_settings(settings)
    directory = demo_data_dir(settings)
    register_departments(database)  # the owners of the profiles' source systems; the demo loads as a steward
    for profile_file, data_file in [*write_samples(directory), write_corrections(directory)]:
        profile = load_profile(str(SAMPLES / profile_file), [])
        summary = load_file(database, profile, data_file, options=options, search=search)
        if console:
            line = (
                f"{profile.repository}: {summary.read} read, {summary.inserted} inserted, "
                f"{summary.updated} updated, {summary.unchanged} unchanged, "
                f"{summary.rejected} rejected, {summary.warnings} warnings"
            )
            if summary.get("index"):
                index = summary["index"]
                line += f"; search index: {index['indexed']} indexed, {index['pending']} pending"
            console.print(line, soft_wrap=True)
    seeded = seed_projects(database, samples.government_bodies(), list(samples.entities(COUNTS["entities"])), _credit())
    if console:
        what = f"{seeded} seeded" if seeded else "already seeded (a database that has projects gets none)"
        console.print(f"projects: {what} (see GET /projects/om-statistics?year=2025)", soft_wrap=True)
    keys = prepare_sharing(database)
    if console:
        console.print("the same records read with and without a grant:", soft_wrap=True)
        for line in tour(database, backend_for(settings, database)):
            console.print(line, soft_wrap=True, markup=False)
    database.dispose()
    return keys
