"""Alembic migrations for the loyalty store, run from Python: no alembic.ini at run time.

For development, ``alembic -x url=sqlite:///dev.sqlite revision --autogenerate -m "..."``
works with ``-c`` pointing at any ini whose ``script_location`` is this folder.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from bridge.store.engine import outages_as_unavailable

SCRIPT_LOCATION = Path(__file__).resolve().parent


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database behind ``engine`` to ``revision``, in one transaction.

    Raises ``StoreUnavailable`` when the database cannot be reached or written now."""
    config = alembic_config()
    with outages_as_unavailable(), engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
