"""`manage.py schema_docs` writes docs/schema.md and per-app SVG diagrams; `--check` catches drift."""

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from xml.etree import ElementTree

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from bloom.management.commands import schema_docs

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def docs(tmp_path):
    call_command("schema_docs", docs_dir=str(tmp_path), stdout=open(os.devnull, "w"))  # noqa: SIM115
    return tmp_path


def test_schema_md_has_a_section_per_app_and_a_line_per_table(docs):
    text = (docs / "schema.md").read_text()
    for label in settings.LOCAL_APPS:
        assert f"\n## {label}\n" in text
    assert (
        "- `workshop_registrations` — A member's sign-up for one workshop: a seat, a waitlist place, or a cancelled claim."
        in text
    )
    assert "- `zoom_webhook_events` — One delivery from Zoom's webhook, stored once and processed by a worker." in text
    assert "![Entity-relationship diagram of workshops](schema/workshops.svg)" in text
    for model in apps.get_models():
        if model._meta.app_label in settings.LOCAL_APPS:
            assert f"`{model._meta.db_table}`" in text


def test_schema_md_has_exactly_one_line_per_table_and_view(docs):
    lines = [line for line in (docs / "schema.md").read_text().splitlines() if line.startswith("- `")]
    described = [line.split("`")[1] for line in lines]
    assert len(described) == len(set(described)), "a table is described twice"
    tables = {
        model._meta.db_table
        for label in settings.LOCAL_APPS
        for model in apps.get_app_config(label).get_models(include_auto_created=True)
    }
    # Views without a model (the reporting views) are described from their migrations' SQL.
    views = {view for app_views in schema_docs._migration_views().values() for view in app_views}
    assert set(described) == tables | views
    assert all(" — " in line and not line.endswith(schema_docs.NO_DESCRIPTION) for line in lines)


def test_unmanaged_models_are_marked_as_views(docs):
    text = (docs / "schema.md").read_text()
    unmanaged = [m for m in apps.get_models() if not m._meta.managed and m._meta.app_label in settings.LOCAL_APPS]
    for model in unmanaged:
        assert f"- `{model._meta.db_table}` (view) — " in text
    managed_line = next(line for line in text.splitlines() if line.startswith("- `workshops` "))
    assert "(view)" not in managed_line


def test_svg_has_boxes_columns_markers_fk_edges_and_external_boxes(docs):
    root = ElementTree.parse(docs / "schema" / "workshops.svg").getroot()  # noqa: S314 (our own output)
    groups = {g.get("id"): g for g in root.iter(f"{SVG}g")}
    for table in ["workshops", "workshop_registrations", "workshop_waitlist", "zoom_webhook_events"]:
        assert f"t-{table}" in groups
    rows = [t.text for t in groups["t-workshop_registrations"].iter(f"{SVG}text")]
    assert rows[0] == "workshop_registrations"
    assert any(r.startswith("PK") and " id  uuid" in r for r in rows)
    assert any(r.startswith("FK") and "workshop_id  uuid" in r for r in rows)
    assert any(r.startswith("FK") and "payment_id  uuid?" in r for r in rows)
    # Other apps' tables appear as small dashed boxes, never as full tables.
    assert groups["t-users"].get("class") == "ext"
    assert [t.text for t in groups["t-payment_intents"].iter(f"{SVG}text")] == ["payment_intents (billing)"]
    edges = {p.find(f"{SVG}title").text for p in root.iter(f"{SVG}path") if p.get("class") == "edge"}
    assert "workshop_registrations.workshop_id → workshops" in edges
    assert "workshop_registrations.payment_id → payment_intents" in edges
    assert "workshops.facilitator_id → users" in edges


def test_apps_without_tables_get_no_diagram(docs):
    generated = {p.stem for p in (docs / "schema").glob("*.svg")}
    with_tables = {label for label in settings.LOCAL_APPS if any(True for _ in apps.get_app_config(label).get_models())}
    assert generated == with_tables
    text = (docs / "schema.md").read_text()
    for label in set(settings.LOCAL_APPS) - with_tables:
        assert f"## {label}\n\n_No tables._" in text


def test_output_is_deterministic():
    assert schema_docs.generate() == schema_docs.generate()


def test_check_passes_on_fresh_output_and_fails_on_drift(docs):
    call_command("schema_docs", check=True, docs_dir=str(docs), stdout=open(os.devnull, "w"))  # noqa: SIM115

    svg = docs / "schema" / "workshops.svg"
    svg.write_text(svg.read_text().replace("workshop_waitlist", "old_waitlist"))
    with pytest.raises(CommandError, match="out of date: docs/schema/workshops.svg"):
        call_command("schema_docs", check=True, docs_dir=str(docs))

    (docs / "schema.md").unlink()
    (docs / "schema" / "removed_app.svg").write_text("<svg/>")
    with pytest.raises(CommandError) as excinfo:
        call_command("schema_docs", check=True, docs_dir=str(docs))
    assert "out of date: docs/schema.md" in str(excinfo.value)
    assert "no longer generated: docs/schema/removed_app.svg" in str(excinfo.value)

    call_command("schema_docs", docs_dir=str(docs), stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert not (docs / "schema" / "removed_app.svg").exists()
    call_command("schema_docs", check=True, docs_dir=str(docs), stdout=open(os.devnull, "w"))  # noqa: SIM115


def test_check_exits_non_zero_from_the_command_line(docs):
    (docs / "schema.md").write_text("stale\n")
    manage = Path(settings.BASE_DIR) / "manage.py"
    result = subprocess.run(
        [sys.executable, str(manage), "schema_docs", "--check", "--docs-dir", str(docs)],
        capture_output=True,
        text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "bloom.settings.test"},
        check=False,
    )
    assert result.returncode != 0
    assert "out of date: docs/schema.md" in result.stderr


def test_docstring_first_line_and_missing_docstring():
    documented = SimpleNamespace(
        __name__="Thing", __doc__="One thing.\n\nMore detail.", _meta=SimpleNamespace(auto_created=False)
    )
    generated = SimpleNamespace(__name__="Thing", __doc__="Thing(id, name)", _meta=SimpleNamespace(auto_created=False))
    assert schema_docs._first_docstring_line(documented) == "One thing."
    assert schema_docs._first_docstring_line(generated) == schema_docs.NO_DESCRIPTION


def test_views_created_in_sql_are_found_with_their_comment():
    sql = (
        "CREATE OR REPLACE VIEW user_totals AS SELECT 1;\n"
        "COMMENT ON VIEW user_totals IS 'One member''s totals.';\n"
        'CREATE MATERIALIZED VIEW IF NOT EXISTS "public"."daily" AS SELECT 2;\n'
        "DROP VIEW IF EXISTS old_totals;"
    )
    created, dropped, comments = schema_docs.views_in_sql(sql)
    assert created == ["user_totals", "daily"]
    assert dropped == ["old_totals"]
    assert comments == {"user_totals": "One member's totals."}
