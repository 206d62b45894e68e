"""Shadow tests: what copies of requests sent to a shadowing candidate did beside the stable
version's answers (counts and histograms, one row per gateway, rollout and interval), and a
bounded sample of disagreements (hashes; payloads only where payload logging allows).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shadow_stats",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("rollout", sa.String(64), nullable=False),
        sa.Column("stable", sa.String(300), nullable=False),
        sa.Column("candidate", sa.String(300), nullable=False),
        sa.Column("gateway", sa.String(64), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("stats_json", sa.Text, nullable=False),
    )
    op.create_index("ix_shadow_stats_lookup", "shadow_stats", ["model_id", "rollout"])
    op.create_table(
        "shadow_disagreements",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("rollout", sa.String(64), nullable=False),
        sa.Column("stable", sa.String(300), nullable=False),
        sa.Column("candidate", sa.String(300), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("sample_json", sa.Text, nullable=False),
    )
    op.create_index("ix_shadow_disagreements_lookup", "shadow_disagreements",
                    ["model_id", "rollout"])


def downgrade() -> None:
    op.drop_table("shadow_disagreements")
    op.drop_table("shadow_stats")
