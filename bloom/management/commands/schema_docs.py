"""Write docs/schema.md and one ER diagram per app (docs/schema/<app>.svg) from the models.

`schema.md` has one section per app and one line per table or view: the table name and
the first line of the model's docstring (every model's docstring starts by saying what
one row is). Views created by SQL in migrations without a model are listed too.

The diagrams are plain SVG laid out on a grid in pure Python (docs/adr/0050): a box per
table listing its columns with PK/FK markers, an arrow per foreign key, and small dashed
boxes for tables of other apps. Output depends only on the models and migrations, so
`--check` can fail the test run whenever the committed files drift from the code.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, models
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import RunSQL

_NAME = r'((?:"?\w+"?\.)?"?\w+"?)'
CREATE_VIEW = re.compile(
    r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:MATERIALIZED\s+)?VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?" + _NAME, re.IGNORECASE
)
DROP_VIEW = re.compile(r"DROP\s+(?:MATERIALIZED\s+)?VIEW\s+(?:IF\s+EXISTS\s+)?" + _NAME, re.IGNORECASE)
COMMENT_ON_VIEW = re.compile(
    r"COMMENT\s+ON\s+(?:MATERIALIZED\s+)?VIEW\s+" + _NAME + r"\s+IS\s+'((?:[^']|'')*)'", re.IGNORECASE
)
SHORT_TYPES = {"timestamp with time zone": "timestamptz", "double precision": "float8"}
NO_DESCRIPTION = "(no description: the model needs a docstring)"

# Layout, in SVG user units (pixels). A monospace character at 12px is about 7.2 wide.
CHAR_W = 7.4
LINE_H = 18
HEADER_H = 26
PAD_X = 10
GAP_X = 90
GAP_Y = 60
MARGIN = 20
MAX_COLUMNS = 4


@dataclass
class Column:
    name: str
    type: str
    marker: str = ""
    target: str | None = None  # table a foreign key points at
    target_app: str = ""


@dataclass
class Table:
    name: str
    description: str
    kind: str = "table"  # or "view"
    columns: list[Column] = field(default_factory=list)


@dataclass
class Box:
    table: str
    x: float
    y: float
    width: float
    height: float
    external: bool = False
    rows: list[Column] = field(default_factory=list)
    label: str = ""


# --- collecting ----------------------------------------------------------------------


def _first_docstring_line(model: type[models.Model]) -> str:
    if model._meta.auto_created:
        owner = model._meta.auto_created
        names = [f.related_model._meta.db_table for f in model._meta.local_fields if f.is_relation]
        return f"Join table of {owner.__name__} many-to-many ({' ↔ '.join(names)})."
    doc = (model.__doc__ or "").strip()
    if not doc or doc.startswith(f"{model.__name__}("):  # Django's generated placeholder
        return NO_DESCRIPTION
    return doc.splitlines()[0].strip()


def _column_type(model_field: models.Field) -> str:
    db_type = model_field.db_type(connection) or model_field.get_internal_type()
    db_type = SHORT_TYPES.get(db_type, db_type)
    return f"{db_type}?" if model_field.null else db_type


def _columns(model: type[models.Model]) -> list[Column]:
    columns = []
    for model_field in model._meta.local_concrete_fields:
        column = Column(name=model_field.column, type=_column_type(model_field))
        if model_field.primary_key:
            column.marker = "PK"
        if model_field.is_relation and model_field.related_model is not None:
            column.marker = "PK FK" if model_field.primary_key else "FK"
            column.target = model_field.related_model._meta.db_table
            column.target_app = model_field.related_model._meta.app_label
        elif model_field.unique and not model_field.primary_key:
            column.marker = "UQ"
        columns.append(column)
    return columns


def _sql_statements(operation: RunSQL) -> list[str]:
    sql = operation.sql
    if isinstance(sql, str):
        return [sql]
    return [item[0] if isinstance(item, list | tuple) else item for item in sql]


def _bare(name: str) -> str:
    return name.replace('"', "").split(".")[-1]


def views_in_sql(sql: str) -> tuple[list[str], list[str], dict[str, str]]:
    """(views created, views dropped, {view: comment}) in one SQL string."""
    created = [_bare(name) for name in CREATE_VIEW.findall(sql)]
    dropped = [_bare(name) for name in DROP_VIEW.findall(sql)]
    comments = {_bare(name): text.replace("''", "'") for name, text in COMMENT_ON_VIEW.findall(sql)}
    return created, dropped, comments


def _migration_views() -> dict[str, dict[str, str]]:
    """app label -> {view name: comment} for views that the app's migrations leave in place."""
    loader = MigrationLoader(None, ignore_no_migrations=True, load=True)
    views: dict[str, dict[str, str]] = {}
    for app_label, name in sorted(loader.disk_migrations):
        app_views = views.setdefault(app_label, {})
        for operation in loader.disk_migrations[(app_label, name)].operations:
            if not isinstance(operation, RunSQL):
                continue
            for sql in _sql_statements(operation):
                created, dropped, comments = views_in_sql(sql)
                for view in dropped:
                    app_views.pop(view, None)
                for view in created:
                    app_views[view] = ""
                for view, comment in comments.items():
                    if view in app_views:
                        app_views[view] = comment
    return views


def collect() -> dict[str, list[Table]]:
    """app label -> its tables and views, sorted by name."""
    views = _migration_views()
    modelled = {model._meta.db_table for model in apps.get_models(include_auto_created=True)}
    schema: dict[str, list[Table]] = {}
    for label in settings.LOCAL_APPS:
        app_views = views.get(label, {})
        tables = []
        for model in apps.get_app_config(label).get_models(include_auto_created=True):
            meta = model._meta
            if meta.proxy:
                continue
            # In this project an unmanaged model maps a view that a migration creates in SQL.
            kind = "table" if meta.managed else "view"
            tables.append(
                Table(name=meta.db_table, description=_first_docstring_line(model), kind=kind, columns=_columns(model))
            )
        for view, comment in app_views.items():
            if view not in modelled:
                tables.append(Table(name=view, description=comment or "(view defined in SQL)", kind="view"))
        schema[label] = sorted(tables, key=lambda t: t.name)
    return schema


# --- rendering -------------------------------------------------------------------------


def render_markdown(schema: dict[str, list[Table]]) -> str:
    lines = [
        "# Database schema",
        "",
        "Generated by `manage.py schema_docs` from the models (the first line of each model's",
        "docstring) and the views in migrations. Do not edit by hand: `manage.py schema_docs --check`",
        "fails when this file or a diagram is out of date.",
        "",
        "Diagram legend: PK primary key, FK foreign key (arrow to the table it points at),",
        "UQ unique, `?` after a type: nullable; dashed boxes are tables of other apps.",
        "",
        "The seed (`shared/seed/bloom-schema-analysis.md`) is the contract for table names, the",
        "section 3 columns, the section 4B indexes and the three views; its `auth.users` is the",
        "`users` table here. `tests/bloom/test_schema_catalog.py` checks all of it against the live",
        "database's catalog, and docs/adr/0080 says where each of the seed's missing components lives.",
        "",
        "## Commands",
        "",
        "- After a model change, `manage.py schema_docs` rewrites this file and the diagrams;",
        "  `manage.py schema_docs --check` exits 1 naming every file that is out of date (run by `make test`).",
        "- Orphans: `manage.py cleanup_orphans` reports orphaned rows (seed section 4C), one progress line per",
        "  check and a summary line; it changes nothing. `manage.py cleanup_orphans --fix` repairs them",
        "  (each check in its own transaction, saying what it did). An app adds checks in `<app>/orphans.py`",
        "  (see `bloom/orphans.py`). Archived rows are not orphans: members keep what they hold.",
    ]
    for label, tables in schema.items():
        lines += ["", f"## {label}", ""]
        if not tables:
            lines.append("_No tables._")
            continue
        lines += [f"![Entity-relationship diagram of {label}](schema/{label}.svg)", ""]
        for table in tables:
            suffix = " (view)" if table.kind == "view" else ""
            lines.append(f"- `{table.name}`{suffix} — {table.description}")
    return "\n".join(lines) + "\n"


def _row_text(column: Column) -> str:
    return f"{column.marker:<5} {column.name}  {column.type}"


def _box_size(title: str, rows: list[Column]) -> tuple[float, float]:
    longest = max([len(title) + 2, *(len(_row_text(c)) for c in rows)])
    return round(longest * CHAR_W + 2 * PAD_X), HEADER_H + LINE_H * len(rows) + (6 if rows else 0)


def layout(tables: list[Table], app_tables: set[str]) -> list[Box]:
    """Boxes on a grid: the app's tables first (sorted), then other apps' tables in a last row."""
    columns = min(MAX_COLUMNS, max(1, math.ceil(math.sqrt(len(tables)))))
    sizes = [_box_size(t.name + (" (view)" if t.kind == "view" else ""), t.columns) for t in tables]
    col_w = [0.0] * columns
    row_h: list[float] = []
    for index, (width, height) in enumerate(sizes):
        row, col = divmod(index, columns)
        col_w[col] = max(col_w[col], width)
        if row == len(row_h):
            row_h.append(0.0)
        row_h[row] = max(row_h[row], height)
    boxes = []
    for index, table in enumerate(tables):
        row, col = divmod(index, columns)
        boxes.append(
            Box(
                table=table.name,
                x=MARGIN + sum(col_w[:col]) + GAP_X * col,
                y=MARGIN + sum(row_h[:row]) + GAP_Y * row,
                width=sizes[index][0],
                height=sizes[index][1],
                rows=table.columns,
            )
        )
    externals = sorted(
        {(c.target, c.target_app) for t in tables for c in t.columns if c.target and c.target not in app_tables}
    )
    y = MARGIN + sum(row_h) + GAP_Y * len(row_h)
    x = MARGIN
    for name, app_label in externals:
        label = f"{name} ({app_label})"
        width, height = _box_size(label, [])
        boxes.append(Box(table=name, x=x, y=y, width=width, height=height, external=True, label=label))
        x += width + GAP_X / 2
    return boxes


def _edge(source: Box, row_index: int, target: Box) -> str:
    sy = source.y + HEADER_H + LINE_H * row_index + LINE_H / 2 + 3
    ty = target.y + HEADER_H / 2
    if source is target:
        sx = source.x + source.width
        return f"M{sx:.0f},{sy:.0f} C{sx + 40:.0f},{sy:.0f} {sx + 40:.0f},{ty:.0f} {sx:.0f},{ty:.0f}"
    source_mid, target_mid = source.x + source.width / 2, target.x + target.width / 2
    if target.y > source.y + source.height:
        # Target lies below: leave by the nearer side, enter through the top of its header.
        sx = source.x + source.width if target_mid >= source_mid else source.x
        bend = 40 if target_mid >= source_mid else -40
        tx, ty = target_mid, target.y
        return f"M{sx:.0f},{sy:.0f} C{sx + bend:.0f},{sy:.0f} {tx:.0f},{ty - 40:.0f} {tx:.0f},{ty:.0f}"
    if abs(source_mid - target_mid) < 1 or (source.x < target.x + target.width and target.x < source.x + source.width):
        sx, tx, bend_s, bend_t = source.x + source.width, target.x + target.width, 40, 40
    elif target_mid > source_mid:
        sx, tx, bend_s, bend_t = source.x + source.width, target.x, 40, -40
    else:
        sx, tx, bend_s, bend_t = source.x, target.x + target.width, -40, 40
    return f"M{sx:.0f},{sy:.0f} C{sx + bend_s:.0f},{sy:.0f} {tx + bend_t:.0f},{ty:.0f} {tx:.0f},{ty:.0f}"


def render_svg(label: str, tables: list[Table]) -> str:
    boxes = layout(tables, {t.name for t in tables})
    by_name = {box.table: box for box in boxes}
    width = max(box.x + box.width for box in boxes) + MARGIN + 40
    height = max(box.y + box.height for box in boxes) + MARGIN
    kinds = {t.name: t.kind for t in tables}
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-labelledby="title">',
        f'<title id="title">Entity-relationship diagram of the {escape(label)} app</title>',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#5c2d50"/></marker></defs>',
        "<style>text{font:12px ui-monospace,Menlo,Consolas,monospace;fill:#1f2a37}"
        ".title{font-weight:bold;fill:#fff}.ext .title{fill:#1f2a37;font-weight:normal}"
        ".edge{fill:none;stroke:#7a3e6b;stroke-width:1.2;opacity:.75}</style>",
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="#fbf8f6"/>',
    ]
    for box in boxes:
        if box.external:
            continue
        for index, column in enumerate(box.rows):
            if column.target and column.target in by_name:
                out.append(
                    f'<path class="edge" d="{_edge(box, index, by_name[column.target])}" marker-end="url(#arrow)">'
                    f"<title>{escape(box.table)}.{escape(column.name)} → {escape(column.target)}</title></path>"
                )
    for box in boxes:
        title = box.label or box.table + (" (view)" if kinds.get(box.table) == "view" else "")
        group_class = "ext" if box.external else "table"
        out.append(f"<g class={quoteattr(group_class)} id={quoteattr('t-' + box.table)}>")
        if box.external:
            out.append(
                f'<rect x="{box.x:.0f}" y="{box.y:.0f}" width="{box.width:.0f}" height="{box.height:.0f}" rx="4" '
                'fill="#fff" stroke="#9ca3af" stroke-dasharray="4 3"/>'
            )
        else:
            fill = "#4b5563" if kinds.get(box.table) == "view" else "#7a3e6b"
            out.append(
                f'<rect x="{box.x:.0f}" y="{box.y:.0f}" width="{box.width:.0f}" height="{box.height:.0f}" rx="4" '
                'fill="#fff" stroke="#5c2d50"/>'
            )
            out.append(
                f'<rect x="{box.x:.0f}" y="{box.y:.0f}" width="{box.width:.0f}" height="{HEADER_H}" rx="4" fill="{fill}"/>'
            )
        out.append(f'<text class="title" x="{box.x + PAD_X:.0f}" y="{box.y + 17:.0f}">{escape(title)}</text>')
        for index, column in enumerate(box.rows):
            y = box.y + HEADER_H + LINE_H * index + 16
            out.append(
                f'<text x="{box.x + PAD_X:.0f}" y="{y:.0f}" xml:space="preserve">{escape(_row_text(column))}</text>'
            )
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def generate() -> dict[str, str]:
    """Relative path under docs/ -> file content, for every generated file."""
    schema = collect()
    files = {"schema.md": render_markdown(schema)}
    for label, tables in schema.items():
        if tables:
            files[f"schema/{label}.svg"] = render_svg(label, tables)
    return files


class Command(BaseCommand):
    help = "Write docs/schema.md and docs/schema/<app>.svg from the models; --check only compares."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="exit non-zero if the files are out of date")
        parser.add_argument("--docs-dir", default=str(Path(settings.BASE_DIR) / "docs"), help="where docs/ lives")

    def handle(self, *args, check: bool = False, docs_dir: str = "", **options):
        root = Path(docs_dir)
        files = generate()
        stale = sorted(
            str(path.relative_to(root))
            for path in (root / "schema").glob("*.svg")
            if str(path.relative_to(root)) not in files
        )
        differing = [name for name, content in files.items() if _read(root / name) != content]
        if check:
            if differing or stale:
                problems = [f"out of date: docs/{name}" for name in differing]
                problems += [f"no longer generated: docs/{name}" for name in stale]
                raise CommandError("\n".join([*problems, "Run `manage.py schema_docs` and commit the result."]))
            self.stdout.write(self.style.SUCCESS(f"Schema docs are up to date ({len(files)} files)."))
            return
        for name in differing:
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(files[name], encoding="utf-8")
            self.stdout.write(f"  wrote docs/{name}")
        for name in stale:
            (root / name).unlink()
            self.stdout.write(f"  removed docs/{name}")
        self.stdout.write(
            self.style.SUCCESS(f"{len(files)} schema files, {len(differing)} written, {len(stale)} removed.")
        )


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
