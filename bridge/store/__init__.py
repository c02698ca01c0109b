"""The loyalty store: SQLAlchemy models, the engine for a configured URL, and migrations."""

from bridge.store.engine import StoreUnavailable, make_engine
from bridge.store.migrations import migrate
from bridge.store.models import Account, Base, ClaimCode, Customer, EntryKind, LedgerEntry

__all__ = [
    "Account",
    "Base",
    "ClaimCode",
    "Customer",
    "EntryKind",
    "LedgerEntry",
    "StoreUnavailable",
    "make_engine",
    "migrate",
]
