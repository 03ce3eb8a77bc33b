"""Flask-Migrate history: `flask db upgrade` builds every table on SQLite and PostgreSQL, and the
models and the migrations never drift apart."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from app import create_app
from app.extensions import db
from tests.conftest import POSTGRES_URL

pytestmark = pytest.mark.slow


def migrated_app(tmp_path, url):
    app = create_app(
        {
            "PORTAL_ENV": "testing",
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(tmp_path / "instance"),
        }
    )
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade()
    return app


def drift(app) -> list:
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def check(app):
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
    assert set(db.metadata.tables) <= tables, set(db.metadata.tables) - tables
    assert drift(app) == [], "models and migrations differ: run `flask db migrate` and review"


def test_upgrade_builds_every_table_on_sqlite_without_drift(tmp_path):
    check(migrated_app(tmp_path, f"sqlite:///{tmp_path / 'm.db'}"))


@pytest.mark.postgres
def test_upgrade_builds_every_table_on_postgres_without_drift(tmp_path):
    app = migrated_app(tmp_path, POSTGRES_URL)
    try:
        check(app)
    finally:
        with app.app_context():
            downgrade(revision="base")
            assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}


def test_downgrade_to_base_and_up_again_on_sqlite(tmp_path):
    app = migrated_app(tmp_path, f"sqlite:///{tmp_path / 'd.db'}")
    with app.app_context():
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
    check(app)


def test_the_history_is_linear():
    from alembic.script import ScriptDirectory

    app = create_app({"PORTAL_ENV": "testing", "PORTAL_PLUGINS": ""})
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        assert len(ScriptDirectory.from_config(config).get_heads()) == 1
