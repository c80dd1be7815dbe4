"""Every example extracted from the scraped gateway docs gets exactly its recorded verdict."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from spec_helpers import FIXTURES, OPENAPI_DIR, error_paths, errors, load_document

SEED_DIR = FIXTURES / "seed_examples"
CLASSIFICATION: dict[str, dict[str, Any]] = yaml.safe_load(
    (SEED_DIR / "classification.yaml").read_text(encoding="utf-8"))
SEEDS = Path("/work/shared/seeds")


def _check(fixture: str, document: str, schema: str, expected: str,
           paths: list[str] | None) -> None:
    assert schema in load_document(document)["components"]["schemas"], schema
    instance = json.loads((SEED_DIR / fixture).read_text(encoding="utf-8"))
    errs = errors(document, schema, instance)
    if expected == "valid":
        assert not errs, f"{fixture} should be a valid {schema}:\n" + "\n".join(
            sorted(error_paths(errs)))
    else:
        assert errs, f"{fixture} should NOT be a valid {schema}"
        found = error_paths(errs)
        for path in paths or []:
            assert path in found, f"{fixture}: expected a failure at {path}, got {sorted(found)}"


def test_every_fixture_is_classified() -> None:
    files = {p.name for p in SEED_DIR.glob("*.json")}
    assert files == set(CLASSIFICATION)


def test_fixture_names_follow_convention() -> None:
    for name in CLASSIFICATION:
        assert re.fullmatch(r"\d{3}_[0-9a-f]{16}__[a-z_]+\.json", name), name


@pytest.mark.skipif(not SEEDS.is_dir(), reason="seed documents absent")
def test_every_seed_has_fixtures() -> None:
    stems = {p.stem for p in SEEDS.glob("*.txt")}
    assert stems == {name.split("__")[0] for name in CLASSIFICATION}


@pytest.mark.parametrize("fixture", sorted(CLASSIFICATION))
def test_classification(fixture: str) -> None:
    entry = CLASSIFICATION[fixture]
    assert entry["expected"] in ("valid", "invalid")
    if entry["expected"] == "invalid":
        assert entry.get("error_paths"), "invalid fixtures must say where they fail"
        assert entry.get("sources_ref"), "invalid fixtures must point at SOURCES.md"
    _check(fixture, entry["document"], entry["schema"], entry["expected"],
           entry.get("error_paths"))
    for extra in entry.get("cross_checks", []):
        _check(fixture, extra["document"], extra["schema"], extra["expected"],
               extra.get("error_paths"))


def test_reasons_are_recorded_in_sources_md() -> None:
    sources = (OPENAPI_DIR / "SOURCES.md").read_text(encoding="utf-8")
    for fixture, entry in CLASSIFICATION.items():
        ref = entry.get("sources_ref")
        if ref:
            assert re.search(rf"^\|\s*{ref}\s*\|", sources, re.M), f"{fixture}: {ref} not in table"
        assert fixture.split("__")[0] in sources or entry["expected"] == "valid", fixture
