"""Costs of hosted versions: aggregated call counts, tokens and spend per version, A/B arm,
day and gateway (no payload text), and budgets with the spend and in-flight reservations that
hold them under concurrency (docs/hosted.md).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_costs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("version", sa.String(300), nullable=False),
        sa.Column("arm", sa.String(64), nullable=False),
        sa.Column("gateway", sa.String(64), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("calls", sa.BigInteger, nullable=False),
        sa.Column("errors", sa.BigInteger, nullable=False),
        sa.Column("input_tokens", sa.BigInteger, nullable=False),
        sa.Column("output_tokens", sa.BigInteger, nullable=False),
        sa.Column("cost_micros", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_call_costs_lookup", "call_costs", ["model_id", "version", "day"])
    op.create_table(
        "budgets",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("version", sa.String(300), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("limit_micros", sa.BigInteger, nullable=False),
        sa.Column("spent_micros", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("reserved_micros", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("model_id", "version", name="uq_budgets_version"),
    )


def downgrade() -> None:
    op.drop_table("budgets")
    op.drop_table("call_costs")
