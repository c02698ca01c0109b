"""The loyalty store: SQLAlchemy models, the engine for a configured URL, and migrations."""

from bridge.store.engine import StoreUnavailable, checkpoint, make_engine, sqlite_file
from bridge.store.identity import StoreMarker, StoreRefused, current_store_id, open_store
from bridge.store.migrations import migrate
from bridge.store.models import (
    Account,
    Base,
    ClaimCode,
    Customer,
    EntryKind,
    LedgerEntry,
    StoreIdentity,
)

__all__ = [
    "Account",
    "Base",
    "ClaimCode",
    "Customer",
    "EntryKind",
    "LedgerEntry",
    "StoreIdentity",
    "StoreMarker",
    "StoreRefused",
    "StoreUnavailable",
    "checkpoint",
    "current_store_id",
    "make_engine",
    "migrate",
    "open_store",
    "sqlite_file",
]
