"""Login roles for GIS staff who edit the layers directly in QGIS (docs/qgis-editing.md).

Each editor is a LOGIN role in the NOLOGIN group ``gridgeo_editors``; migration
core/004 gives the group its rights and makes the database treat its members as
``gis_editor``, never as a trusted maintenance path. Roles are cluster-wide, so this
needs a role that may create roles: the private cluster's superuser, or the role in
``GRIDGEO_DATABASE_URL`` if it has CREATEROLE.
"""

from __future__ import annotations

import re
import secrets
import sys

import click
import psycopg
from psycopg import sql

GROUP = "gridgeo_editors"
MIN_PASSWORD = 8
# Lowercase only: QGIS and psql then never need to quote the user name.
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class EditorError(ValueError):
    """An editor cannot be created or removed; the message says what to fix."""


def check_name(name: str) -> str:
    """``name`` if it is a plain identifier that is not reserved, else an EditorError."""
    if not _NAME.fullmatch(name):
        raise EditorError(
            f"editor name {name!r} is not a plain identifier: use lowercase letters a-z, "
            "digits and _, start with a letter or _, at most 63 characters (e.g. wang_li).")
    if name == GROUP or name.startswith("pg_"):
        raise EditorError(f"{name!r} is reserved; choose another editor name.")
    return name


def _role_exists(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone() \
        is not None


def _is_member(conn: psycopg.Connection, name: str) -> bool:
    """Directly in the group: only such roles were made here and may be changed here."""
    return conn.execute(
        "SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid"
        " JOIN pg_roles r ON r.oid = m.member WHERE g.rolname = %s AND r.rolname = %s",
        (GROUP, name)).fetchone() is not None


def _require_createrole(conn: psycopg.Connection) -> None:
    row = conn.execute("SELECT current_user, rolsuper OR rolcreaterole FROM pg_roles"
                       " WHERE rolname = current_user").fetchone()
    if row is None or not row[1]:
        who = row[0] if row else "this role"
        raise EditorError(
            f"role {who} may not create roles: it needs the CREATEROLE privilege "
            f"(a superuser runs ALTER ROLE {who} CREATEROLE), or connect as a role that has it.")


def _grant_group(conn: psycopg.Connection, database: str) -> None:
    """Create the group if missing and (re)grant its rights in ``database``."""
    if conn.execute("SELECT current_database()").fetchone() != (database,):
        raise EditorError(f"connect to database {database} to add its editors.")
    if conn.execute("SELECT to_regprocedure('gridgeo.grant_editors()')").fetchone() == (None,):
        raise EditorError(f"database {database} lacks migration core/004; run "
                          "`gridgeo db migrate` first.")
    if not _role_exists(conn, GROUP):
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(GROUP)))
    # The migration could not grant if the group did not exist when it ran.
    conn.execute("SELECT gridgeo.grant_editors()")


def _scram(conn: psycopg.Connection, name: str, password: str) -> sql.Composable:
    """The password hashed on this side, so its clear text never reaches the server log."""
    hashed = conn.pgconn.encrypt_password(password.encode(), name.encode(), b"scram-sha-256")
    return sql.Literal(hashed.decode())


def create_editor(admin_conn: psycopg.Connection, database: str, name: str,
                  password: str) -> None:
    """Create the editor ``name`` (or set its password) and let it connect to ``database``.

    ``admin_conn`` is connected to ``database`` as a role that may create roles.
    """
    check_name(name)
    if len(password) < MIN_PASSWORD:
        raise EditorError(f"the password must have at least {MIN_PASSWORD} characters.")
    with admin_conn.transaction():
        _require_createrole(admin_conn)
        _grant_group(admin_conn, database)
        role = sql.Identifier(name)
        if _role_exists(admin_conn, name):
            if not _is_member(admin_conn, name):
                raise EditorError(f"a role named {name} exists and is not a QGIS editor; "
                                  "choose another name.")
            admin_conn.execute(sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(
                role, _scram(admin_conn, name, password)))
        else:
            admin_conn.execute(sql.SQL(
                "CREATE ROLE {} LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE"
                " NOREPLICATION NOBYPASSRLS PASSWORD {} IN ROLE {}").format(
                role, _scram(admin_conn, name, password), sql.Identifier(GROUP)))
        admin_conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
            sql.Identifier(database), role))


def drop_editor(admin_conn: psycopg.Connection, database: str, name: str) -> None:
    """Remove the editor ``name``; its audit log entries stay."""
    check_name(name)
    with admin_conn.transaction():
        _require_createrole(admin_conn)
        if not _role_exists(admin_conn, name):
            raise EditorError(f"there is no editor named {name}.")
        if not _is_member(admin_conn, name):
            raise EditorError(f"role {name} is not a QGIS editor; it is left alone.")
        role = sql.Identifier(name)
        admin_conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM {}").format(
            sql.Identifier(database), role))
        try:
            with admin_conn.transaction():
                admin_conn.execute(sql.SQL("DROP ROLE {}").format(role))
        except psycopg.errors.DependentObjectsStillExist as exc:
            raise EditorError(
                f"editor {name} still has rights elsewhere ({exc.diag.message_detail}); "
                f"run DROP OWNED BY {name} in those databases, then remove it again.") from None


def list_editors(admin_conn: psycopg.Connection) -> list[str]:
    """The group's direct members, by name."""
    rows = admin_conn.execute(
        "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid"
        " JOIN pg_roles r ON r.oid = m.member WHERE g.rolname = %s ORDER BY 1", (GROUP,))
    return [row[0] for row in rows]


# -- the `gridgeo db editor` command ------------------------------------------------


def _admin() -> tuple[psycopg.Connection, dict[str, str]]:
    """A connection that may create roles, and the app URL's parts (for QGIS)."""
    from gridgeo.db.cluster import ClusterError, admin_url, database_url
    from gridgeo.settings import get_settings

    settings = get_settings()
    try:
        app = psycopg.conninfo.conninfo_to_dict(database_url(settings))
    except ClusterError as exc:
        raise click.ClickException(str(exc)) from exc
    params = {k: str(v) for k, v in app.items() if v is not None}
    params.setdefault("sslmode", "prefer" if settings.database_url else "disable")
    url = admin_url(settings, params["dbname"])
    try:
        conn = psycopg.connect(url, autocommit=True)
    except psycopg.OperationalError as exc:
        raise click.ClickException(f"cannot connect as the database admin: {exc}") from exc
    return conn, params


def _fail(exc: EditorError) -> click.ClickException:
    """The sentence; a missing privilege also says where the role came from."""
    from gridgeo.settings import get_settings

    message = str(exc)
    if "CREATEROLE" in message and get_settings().database_url:
        message += " That role is the one in GRIDGEO_DATABASE_URL."
    return click.ClickException(message)


def _password(given: str | None) -> tuple[str, bool]:
    """The password and whether it was generated (then it is shown once)."""
    if given:
        return given, False
    if sys.stdin.isatty():
        typed = click.prompt("Password (empty: generate one)", default="", hide_input=True,
                             confirmation_prompt=True, show_default=False)
        if typed:
            return typed, False
    return secrets.token_urlsafe(15), True


@click.group("editor")
def editor_command() -> None:
    """QGIS editors: PostgreSQL roles with which GIS staff edit the layers directly."""


@editor_command.command("add")
@click.argument("name")
@click.option("--password", help="The editor's password; prompted (or generated) if left out.")
def add_editor(name: str, password: str | None) -> None:
    """Create editor NAME (or give it a new password).

    Prints the parameters QGIS connects with; a generated password is shown only here.
    """
    try:
        check_name(name)
    except EditorError as exc:
        raise click.ClickException(str(exc)) from None
    secret, generated = _password(password)
    conn, params = _admin()
    with conn:
        try:
            create_editor(conn, params["dbname"], name, secret)
        except EditorError as exc:
            raise _fail(exc) from None
    click.echo(f"editor {name} may edit database {params['dbname']}. In QGIS 3.22: "
               "Data Source Manager > PostgreSQL > New:")
    for key, label in (("host", "Host"), ("port", "Port"), ("dbname", "Database")):
        click.echo(f"  {label:<9}{params.get(key, '')}")
    click.echo(f"  {'User':<9}{name}")
    click.echo(f"  {'SSL mode':<9}{params['sslmode']}")
    if generated:
        click.echo(f"  {'Password':<9}{secret}   (shown once; `add {name}` again sets a new one)")


@editor_command.command("remove")
@click.argument("name")
def remove_editor(name: str) -> None:
    """Remove editor NAME (what it did stays in the audit log)."""
    conn, params = _admin()
    with conn:
        try:
            drop_editor(conn, params["dbname"], name)
        except EditorError as exc:
            raise _fail(exc) from None
    click.echo(f"editor {name} removed")


@editor_command.command("list")
def list_command() -> None:
    """List the QGIS editors (cluster-wide)."""
    conn, _params = _admin()
    with conn:
        names = list_editors(conn)
    click.echo("\n".join(names) if names else "no QGIS editors yet; add one with "
               "`gridgeo db editor add NAME`")
