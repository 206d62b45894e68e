"""Feedback: a label or an outcome value sent for a request a gateway answered, joined to the
version that answered it (and, for a label, whether the answer matched it).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("version", sa.String(300), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("label_json", sa.Text, nullable=True),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("correct", sa.Boolean, nullable=True),
    )
    op.create_index("ix_feedback_lookup", "feedback", ["model_id", "version", "at"])


def downgrade() -> None:
    op.drop_table("feedback")
