"""Serving stats: what each gateway's requests to each version did, one row per gateway,
version and interval (about a second), summed to judge a canary step's gates.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "serving_stats",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("version", sa.String(300), nullable=False),
        sa.Column("gateway", sa.String(64), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("stats_json", sa.Text, nullable=False),
    )
    op.create_index("ix_serving_stats_lookup", "serving_stats", ["model_id", "version", "at"])


def downgrade() -> None:
    op.drop_table("serving_stats")
