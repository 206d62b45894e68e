"""Drills: each rollback drill run against a live gateway (docs/loadtest.md), append-only.

A row holds the drill's whole result as JSON, and, for the first drill that restored a version,
that version's reference outputs (its example inputs run through it), which later drills
compare against.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drills",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("restored", sa.String(300), nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("result_json", sa.Text, nullable=False),
        sa.Column("reference_json", sa.Text, nullable=True),
    )
    op.create_index("ix_drills_model", "drills", ["model_id", "id"])
    dialect = op.get_bind().dialect.name
    for event in ("UPDATE", "DELETE"):  # a drill's record is never rewritten
        name = f"drills_no_{event.lower()}"
        if dialect == "postgresql":
            op.execute(f"CREATE TRIGGER {name} BEFORE {event} ON drills "
                       "FOR EACH ROW EXECUTE FUNCTION modelkeep_append_only()")
        else:
            op.execute(f"CREATE TRIGGER {name} BEFORE {event} ON drills BEGIN "
                       "SELECT RAISE(ABORT, 'drills rows are append-only in modelkeep'); END")


def downgrade() -> None:
    op.drop_table("drills")
