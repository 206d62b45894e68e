"""Deployments: every change of a model's serving state (deploy, rollout steps, pause, abort,
rollback), append-only. Each row holds the whole state reached, so the latest row per model
is what gateways route by and the rows in order replay what served when.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployment_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("state_json", sa.Text, nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_deployment_events_model", "deployment_events", ["model_id", "id"])
    dialect = op.get_bind().dialect.name
    for event in ("UPDATE", "DELETE"):  # history is never rewritten (as 0003 does for versions)
        name = f"deployment_events_no_{event.lower()}"
        if dialect == "postgresql":
            op.execute(f"CREATE TRIGGER {name} BEFORE {event} ON deployment_events "
                       "FOR EACH ROW EXECUTE FUNCTION modelkeep_append_only()")
        else:
            op.execute(f"CREATE TRIGGER {name} BEFORE {event} ON deployment_events BEGIN "
                       "SELECT RAISE(ABORT, 'deployment_events rows are append-only in modelkeep'); END")


def downgrade() -> None:
    op.drop_table("deployment_events")
