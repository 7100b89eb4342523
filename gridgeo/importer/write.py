"""Writing prepared layers: staged with COPY, then one upsert by natural code.

Re-importing the same file changes nothing (rows equal in every imported column are not
touched, so no grid version is closed and no audit row written); a changed row is
updated in place, and the grids' trigger closes the old boundary into grid_versions.
The caller owns the transaction. When the database refuses the set-based write, each row
is tried alone under a savepoint so the report names the rows and the rule they break.
"""

from __future__ import annotations

from typing import Any

import psycopg
import shapely
from psycopg import sql

from .prepare import PreparedLayer
from .problems import Reject

_GEOM_SQL = {"MultiPolygon": "ST_Multi(geom)", "Polygon": "geom", "Point": "geom"}


def _stage(conn: psycopg.Connection, layer: PreparedLayer, columns: list[str]) -> None:
    shape, target = layer.shape, layer.target
    defs: list[sql.Composable] = [sql.SQL("row_no integer")]
    for name in columns:
        udt = "text" if name == "staff_no" else shape.columns[name].type
        defs.append(sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(udt)))
    if target.geometry:
        defs.append(sql.SQL("geom geometry"))
    conn.execute("DROP TABLE IF EXISTS import_stage")
    conn.execute(sql.SQL("CREATE TEMP TABLE import_stage ({}) ON COMMIT DROP").format(
        sql.SQL(", ").join(defs)))
    names = ["row_no", *columns, *(["geom"] if target.geometry else [])]
    wkb = (shapely.to_wkb(shapely.set_srid(layer.geoms, 4490), hex=True, include_srid=True)
           if target.geometry and len(layer.geoms) else [])
    copy = sql.SQL("COPY import_stage ({}) FROM STDIN").format(
        sql.SQL(", ").join(map(sql.Identifier, names)))
    with conn.cursor() as cur, cur.copy(copy) as pipe:
        for i, row in enumerate(layer.rows):  # row_no: the source row, for the report
            values = [layer.row_numbers[i], *(row.get(c) for c in columns)]
            if target.geometry:
                values.append(wkb[i])
            pipe.write_row(values)


# A boundary that moved by less than this (metres) has not moved: a file re-exported
# through another CRS (a Gauss–Krüger zone, UTM, Web Mercator) comes back with
# millimetre differences, which must not close a grid version or count as a change.
# Measured in the deployment's metric CRS, so the tolerance is the same at any latitude
# and whatever CRS the file came in (a tolerance in degrees is not).
SAME_GEOMETRY_M = 0.005


def _same_geom(new: str) -> sql.Composable:
    return sql.SQL(
        "(t.geom = {n}.geom OR (ST_GeometryType(t.geom) = ST_GeometryType({n}.geom)"
        " AND ST_HausdorffDistance(ST_Transform(t.geom, gridgeo.metric_srid()),"
        " ST_Transform({n}.geom, gridgeo.metric_srid())) < {tol}))").format(
        n=sql.Identifier(new), tol=sql.Literal(SAME_GEOMETRY_M))


def _changed(updated: list[str], new: str) -> sql.Composable:
    """Whether the stored row ``t`` differs from the new one (``EXCLUDED`` or the stage)."""
    plain = [c for c in updated if c != "geom"]
    changed: list[sql.Composable] = []
    if plain:
        changed.append(sql.SQL("ROW({}) IS DISTINCT FROM ROW({})").format(
            sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in plain),
            sql.SQL(", ").join(sql.SQL("{}.{}").format(sql.Identifier(new), sql.Identifier(c))
                               for c in plain)))
    if "geom" in updated:
        changed.append(sql.SQL("NOT {}").format(_same_geom(new)))
    return sql.SQL("({})").format(sql.SQL(" OR ").join(changed))


def _update_changed(updated: list[str]) -> sql.Composable:
    """ON CONFLICT action: update only rows that changed; a geometry within tolerance
    keeps the stored one."""
    targets = sql.SQL(", ").join(map(sql.Identifier, updated))
    values = sql.SQL(", ").join(
        sql.SQL("CASE WHEN {} THEN t.geom ELSE EXCLUDED.geom END").format(_same_geom("excluded"))
        if c == "geom" else sql.SQL("EXCLUDED.{}").format(sql.Identifier(c)) for c in updated)
    return sql.SQL("DO UPDATE SET ({}) = ROW({}) WHERE {}").format(
        targets, values, _changed(updated, "excluded"))


def _table_columns(layer: PreparedLayer, columns: list[str]) -> tuple[list[str], list[str]]:
    """The table's columns the stage feeds, and its key columns (staff_no is staff_id)."""
    target, staff = layer.target, layer.target.staff_column
    cols = [staff if staff and c == "staff_no" else c for c in columns]
    if target.geometry:
        cols.append("geom")
    return cols, [staff if staff and k == "staff_no" else k for k in target.key]


def _drop_present(conn: psycopg.Connection, layer: PreparedLayer, columns: list[str]) -> None:
    """Rows gridgeo already holds as they are leave the stage before the upsert: the
    table's insert triggers (grid lookups, the nearest address) would otherwise run for
    every row of a re-import, only for ON CONFLICT to throw the row away."""
    cols, keys = _table_columns(layer, columns)
    stage = "import_stage_ready" if layer.target.staff_column else "import_stage"
    match = sql.SQL(" AND ").join(sql.SQL("t.{c} = s.{c}").format(c=sql.Identifier(k))
                                  for k in keys)
    updated = [c for c in cols if c not in keys]
    if layer.target.update and updated:
        match = sql.SQL("{} AND NOT {}").format(match, _changed(updated, "s"))
    conn.execute(sql.SQL("DELETE FROM {} s USING {} t WHERE {}").format(
        sql.Identifier(stage), sql.Identifier("gridgeo", layer.target.table), match))


def _upsert(layer: PreparedLayer, columns: list[str], where: sql.Composable) -> sql.Composed:
    target = layer.target
    table = sql.Identifier("gridgeo", target.table)
    staff = target.staff_column
    cols, keys = _table_columns(layer, columns)
    select: list[sql.Composable] = [
        sql.SQL("s.staff_id") if staff and c == "staff_no"
        else sql.SQL("s.{}").format(sql.Identifier(c)) for c in columns]
    if target.geometry:
        select.append(sql.SQL(_GEOM_SQL[target.geometry].replace("geom", "s.geom")))
    source = sql.SQL("import_stage_ready s") if staff else sql.SQL("import_stage s")
    updated = [c for c in cols if c not in keys]
    if target.update and updated:
        action: sql.Composable = _update_changed(updated)
    else:
        action = sql.SQL("DO NOTHING")
    return sql.SQL(
        "WITH up AS (INSERT INTO {table} AS t ({cols}) SELECT {select} FROM {source} "
        "WHERE {where} ORDER BY s.row_no ON CONFLICT ({keys}) {action} "
        "RETURNING (xmax = 0) AS inserted) "
        "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up"
    ).format(table=table, cols=sql.SQL(", ").join(map(sql.Identifier, cols)),
             select=sql.SQL(", ").join(select), source=source, where=where,
             keys=sql.SQL(", ").join(map(sql.Identifier, keys)), action=action)


def _resolve_staff(conn: psycopg.Connection, layer: PreparedLayer) -> list[Reject]:
    """Staff numbers to staff ids; rows naming unknown staff are rejected."""
    conn.execute("DROP TABLE IF EXISTS import_stage_ready")
    conn.execute("CREATE TEMP TABLE import_stage_ready ON COMMIT DROP AS "
                 "SELECT s.*, st.id AS staff_id FROM import_stage s "
                 "JOIN gridgeo.staff st ON st.staff_no = s.staff_no")
    missing = conn.execute(
        "SELECT s.row_no, s.staff_no FROM import_stage s WHERE NOT EXISTS "
        "(SELECT 1 FROM gridgeo.staff st WHERE st.staff_no = s.staff_no) ORDER BY 1").fetchall()
    return [Reject(layer.report.name, n, no, f"staff_no {no} is not in gridgeo's staff; "
                   "import the staff first") for n, no in missing]


def _missing_references(conn: psycopg.Connection, layer: PreparedLayer, columns: list[str],
                        rejected: dict[str, Reject]) -> list[Reject]:
    """Rows naming a code the referenced table lacks (one query per foreign key), taken out
    of the stage: cheaper and clearer than letting the upsert fail. A code missing because
    its own row was rejected in this import is that row's fault: said once, as its cause."""
    fks = conn.execute(
        "SELECT a.attname, c.confrelid::regclass::text, r.attname FROM pg_constraint c"
        " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]"
        " JOIN pg_attribute r ON r.attrelid = c.confrelid AND r.attnum = c.confkey[1]"
        " WHERE c.conrelid = ('gridgeo.' || %s)::regclass AND c.contype = 'f'"
        " AND cardinality(c.conkey) = 1", (layer.target.table,)).fetchall()
    rejects, keys = [], dict(zip(layer.row_numbers, layer.keys(), strict=True))
    for column, referenced, ref_column in fks:
        if column not in columns:
            continue
        self_ref = referenced.split(".")[-1] == layer.target.table
        query = sql.SQL(
            "DELETE FROM import_stage s WHERE s.{col} IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM {ref} r WHERE r.{refcol} = s.{col}) {also} RETURNING s.row_no, s.{col}"
        ).format(col=sql.Identifier(column), ref=sql.SQL(referenced),
                 refcol=sql.Identifier(ref_column),
                 also=sql.SQL("AND NOT EXISTS (SELECT 1 FROM import_stage o WHERE o.{} = s.{})"
                              ).format(sql.Identifier(ref_column), sql.Identifier(column))
                 if self_ref else sql.SQL(""))
        table = referenced.split(".")[-1]
        for row_no, value in conn.execute(query).fetchall():
            root = rejected.get(str(value))
            if root is None:
                rejects.append(Reject(layer.report.name, row_no, keys.get(row_no),
                                      f"{column} {value} is not in {table}"))
                continue
            rejects.append(Reject(
                layer.report.name, row_no, keys.get(row_no),
                f"{column} {value} was rejected ({root.sentence()})",
                f"their {column} {value} was rejected ({root.sentence()}): fix that row first"))
    return rejects


def refusal_sentence(exc: psycopg.Error) -> str:
    """What the database refused, in a sentence (never a raw trace)."""
    diag = exc.diag
    if isinstance(exc, psycopg.errors.ForeignKeyViolation):
        return (f"refers to something gridgeo does not have ({diag.message_detail or ''})"
                .replace("Key ", "").replace(" is not present in table", " is not in"))
    if isinstance(exc, psycopg.errors.CheckViolation):
        return f"breaks the rule {diag.constraint_name} of the table"
    if isinstance(exc, psycopg.errors.UniqueViolation):
        return f"duplicates a row gridgeo already has ({diag.message_detail or ''})"
    return (diag.message_primary or "was refused by the database").rstrip(".")


def _row_by_row(conn: psycopg.Connection, layer: PreparedLayer, columns: list[str]
                ) -> tuple[list[Reject], dict[str, int]]:
    rejects, inserted, updated = [], 0, 0
    for n, row in zip(layer.row_numbers, layer.rows, strict=True):
        try:
            with conn.transaction():
                result = conn.execute(_upsert(layer, columns, sql.SQL("s.row_no = {}").format(
                    sql.Literal(n)))).fetchone()
        except psycopg.Error as exc:
            key = "/".join(str(row.get(k)) for k in layer.target.key)
            rejects.append(Reject(layer.report.name, n, key, refusal_sentence(exc)))
            continue
        assert result is not None
        inserted, updated = inserted + result[0], updated + result[1]
    return rejects, {"inserted": inserted, "updated": updated}


def write_layer(conn: psycopg.Connection, layer: PreparedLayer,
                rejected: dict[str, Reject] | None = None) -> list[Reject]:
    """Write the layer's rows; counts go to its report, refused rows are returned.
    ``rejected``: the rows this import rejected so far, by key (root causes)."""
    if not layer.rows:
        layer.report.counts.update(inserted=0, updated=0, unchanged=0)
        return []
    columns = sorted({c for row in layer.rows for c in row if row.get(c) is not None}
                     | set(layer.target.key), key=_column_order(layer))
    _stage(conn, layer, columns)
    rejects = _missing_references(conn, layer, columns, rejected or {})
    if layer.target.staff_column:
        rejects += _resolve_staff(conn, layer)
    _drop_present(conn, layer, columns)
    try:
        with conn.transaction():
            result = conn.execute(_upsert(layer, columns, sql.SQL("true"))).fetchone()
        assert result is not None
        counts = {"inserted": result[0], "updated": result[1]}
    except psycopg.Error:
        more, counts = _row_by_row(conn, layer, columns)
        rejects += more
    # Later layers' triggers look rows of this one up (incidents: the nearest address);
    # fresh statistics keep those lookups on the indexes.
    conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier("gridgeo", layer.target.table)))
    written = len(layer.rows) - len(rejects)
    counts["unchanged"] = written - counts["inserted"] - counts["updated"]
    if not layer.target.update:
        counts["kept"] = counts.pop("unchanged")  # already in gridgeo, left to its workflow
    layer.report.counts.update(counts)
    if layer.mapping.retire_missing and layer.target.retirable:
        layer.report.counts["retired"] = _retire(conn, layer, [*layer.report.rejects, *rejects])
    return rejects


def _column_order(layer: PreparedLayer) -> Any:
    order = {name: i for i, name in enumerate(layer.shape.importable(layer.target))}
    return lambda name: order.get(name, len(order))


def _retire(conn: psycopg.Connection, layer: PreparedLayer, rejects: list[Reject]) -> int:
    """Rows of the table whose code the source no longer has are deleted (grids: closed
    into grid_versions by their trigger). A rejected row is still in the source: its
    grid stays as it was."""
    key = layer.target.key[0]
    in_source = [*layer.keys(), *(r.key for r in rejects if r.key)]
    cur = conn.execute(sql.SQL("DELETE FROM {} t WHERE NOT (t.{} = ANY(%s))").format(
        sql.Identifier("gridgeo", layer.target.table), sql.Identifier(key)), (in_source,))
    return cur.rowcount
