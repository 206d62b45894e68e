"""A/B tallies: what each gateway's requests and feedback did per arm of an A/B/n test, one
row per gateway, test, arm, keyed-or-not and interval (about a second), summed by the report;
and the users each arm has seen since the split last changed (a keyed hash of the --by key,
never the key itself), for the sample-ratio check.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ab_tallies",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("test", sa.String(64), nullable=False),  # the test's seed
        sa.Column("arm", sa.String(32), nullable=False),
        sa.Column("keyed", sa.Boolean, nullable=False),  # routed by the --by key, or at random
        sa.Column("gateway", sa.String(64), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("tally_json", sa.Text, nullable=False),
    )
    op.create_index("ix_ab_tallies_lookup", "ab_tallies", ["model_id", "test", "at"])
    op.create_table(
        "ab_users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("test", sa.String(64), nullable=False),
        sa.Column("since", sa.String(40), nullable=False),  # when the split took effect
        sa.Column("user_hash", sa.String(32), nullable=False),
        sa.Column("arm", sa.String(32), nullable=False),
        sa.UniqueConstraint("test", "since", "user_hash", name="uq_ab_users"),
    )


def downgrade() -> None:
    op.drop_table("ab_users")
    op.drop_table("ab_tallies")
