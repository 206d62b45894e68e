"""Registry: models, versions, appended version records, alias history.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
    )
    op.create_table(
        "versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("version", sa.String(300), nullable=False),
        sa.Column("major", sa.BigInteger, nullable=False),
        sa.Column("minor", sa.BigInteger, nullable=False),
        sa.Column("patch", sa.BigInteger, nullable=False),
        sa.Column("prerelease", sa.String(300), nullable=False, server_default=""),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("tree_id", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("files", sa.Integer, nullable=False),
        sa.Column("run_id", sa.String(36), nullable=True),
        sa.Column("metadata_json", sa.Text, nullable=False),
        sa.UniqueConstraint("model_id", "version", name="uq_versions_model_version"),
    )
    op.create_index("ix_versions_model", "versions", ["model_id", "major", "minor", "patch"])
    op.create_index("ix_versions_tree", "versions", ["tree_id"])
    op.create_table(
        "version_records",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value_json", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
    )
    op.create_index("ix_version_records_version", "version_records", ["version_id", "kind"])
    op.create_table(
        "alias_moves",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("alias", sa.String(100), nullable=False),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=True),
        sa.Column("moved_at", sa.String(40), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_alias_moves_lookup", "alias_moves", ["model_id", "alias", "id"])


def downgrade() -> None:
    op.drop_table("alias_moves")
    op.drop_table("version_records")
    op.drop_table("versions")
    op.drop_table("models")
