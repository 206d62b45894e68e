"""Tracking: runs, params, tags, metric series and points, datasets, run artifacts.

Revision ID: 0002
Revises: 0001

Runs have a UUID (``runs.uuid``, what users and ``versions.run_id`` see) and an integer key
that the child tables use. Metric points refer to a per-run series row (``metric_keys``),
which also carries the latest point, so filters on final metrics never scan the points.
A metric value of NaN is stored as NULL (SQLite turns NaN into NULL; PostgreSQL orders NaN
above every number): ``value IS NULL`` reads back as NaN on both databases.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# a rowid alias on SQLite (fast appends), a 64-bit identity on PostgreSQL
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("uuid", sa.String(36), nullable=False, unique=True),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("started_at", sa.String(40), nullable=False),
        sa.Column("ended_at", sa.String(40), nullable=True),
        sa.Column("heartbeat_at", sa.String(40), nullable=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=True),
        sa.Column("proc_start", sa.Float, nullable=True),
        sa.Column("environment_id", sa.String(64), nullable=True),
        sa.Column("code_json", sa.Text, nullable=True),
        sa.Column("pipeline_json", sa.Text, nullable=True),
        sa.Column("frameworks_json", sa.Text, nullable=True),
        sa.Column("command_json", sa.Text, nullable=True),
        sa.Column("exit_code", sa.Integer, nullable=True),
        sa.Column("output_tail", sa.Text, nullable=True),
    )
    op.create_index("ix_runs_status", "runs", ["status", "host"])
    op.create_index("ix_runs_model", "runs", ["model", "started_at"])
    op.create_table(
        "run_params",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value_json", sa.Text, nullable=False),
        sa.Column("value_num", sa.Float, nullable=True),
    )
    op.create_index("ix_run_params_key", "run_params", ["key", "value_num"])
    op.create_table(
        "run_tags",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "metric_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("last_step", sa.BigInteger, nullable=True),
        sa.Column("last_value", sa.Float, nullable=True),
        sa.Column("last_ts", sa.BigInteger, nullable=True),
        sa.UniqueConstraint("run_id", "name", name="uq_metric_keys_run_name"),
    )
    op.create_index("ix_metric_keys_name", "metric_keys", ["name", "last_value"])
    op.create_table(
        "metric_points",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("key_id", sa.Integer, nullable=False),  # no FK check per point: hot path
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("ts", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_metric_points_key_step", "metric_points", ["key_id", "step"])
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tree_id", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("files", sa.Integer, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
    )
    op.create_index("ix_datasets_name", "datasets", ["name"])
    op.create_table(
        "run_datasets",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), primary_key=True),
        sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id"), primary_key=True),
        sa.Column("role", sa.String(20), primary_key=True),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("source", sa.Text, nullable=True),
        sa.Column("preprocessing_json", sa.Text, nullable=False),
        sa.Column("augmentation_json", sa.Text, nullable=False),
        sa.Column("logged_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_run_datasets_dataset", "run_datasets", ["dataset_id"])
    op.create_table(
        "run_artifacts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("tree_id", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("files", sa.Integer, nullable=False),
        sa.Column("logged_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_run_artifacts_run", "run_artifacts", ["run_id"])
    op.create_index("ix_versions_run", "versions", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_versions_run", "versions")
    for table in ("run_artifacts", "run_datasets", "datasets", "metric_points", "metric_keys",
                  "run_tags", "run_params", "runs"):
        op.drop_table(table)
