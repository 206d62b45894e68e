"""Append-only registry: the database itself refuses to change or delete versions, their
appended records and alias moves (DESIGN: a registered version is immutable; later facts are
appended). A bug or a hand-written UPDATE then fails loudly instead of rewriting history.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ("versions", "version_records", "alias_moves")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION modelkeep_append_only() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION '% rows are append-only in modelkeep', TG_TABLE_NAME; END; "
            "$$ LANGUAGE plpgsql"
        )
    for table in TABLES:
        for event in ("UPDATE", "DELETE"):
            name = f"{table}_no_{event.lower()}"
            if dialect == "postgresql":
                op.execute(f"CREATE TRIGGER {name} BEFORE {event} ON {table} "
                           "FOR EACH ROW EXECUTE FUNCTION modelkeep_append_only()")
            else:
                op.execute(f"CREATE TRIGGER {name} BEFORE {event} ON {table} BEGIN "
                           f"SELECT RAISE(ABORT, '{table} rows are append-only in modelkeep'); END")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in TABLES:
        for event in ("update", "delete"):
            if dialect == "postgresql":
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event} ON {table}")
            else:
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS modelkeep_append_only()")
