"""Payloads: the request and response of an answered request, redacted, stored only when the
project turned payload logging on (docs/privacy.md). Rows are deleted when they expire and by
``modelkeep purge``; nothing else refers to them, and push/pull never carry them.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payloads",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("version", sa.String(300), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("request_json", sa.Text, nullable=False),
        sa.Column("response_json", sa.Text, nullable=True),
        sa.Column("error", sa.Text, nullable=True),  # a code, or a shadow copy's failure
    )
    op.create_index("ix_payloads_at", "payloads", ["at"])
    op.create_index("ix_payloads_model", "payloads", ["model_id", "at"])


def downgrade() -> None:
    op.drop_table("payloads")
