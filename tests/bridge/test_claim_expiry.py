"""Claim codes expire a set number of days after their sale (the programme's
``claim_codes_expire_after_days``); a code inside its days claims as before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bridge.loyalty import ExpiredClaimCode, Ledger, PointsRule
from bridge.loyalty.earning import Policy
from bridge.store import make_engine, migrate

from .conftest import ReceiptFactory

PRINTED = datetime(2026, 11, 2, 18, 0, tzinfo=UTC)
CARD = "4000123412341234"
THIRTY_DAYS = Policy(claim_codes_expire_after_days=30)


def test_a_code_claims_within_its_days_and_not_after(
    tmp_path: Path, make_receipt: ReceiptFactory
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        migrate(engine)
        ledger = Ledger(engine)
        late = ledger.award(
            make_receipt(total="12.00", number="1", customer=None), PointsRule(), PRINTED
        )
        on_time = ledger.award(
            make_receipt(total="8.00", number="2", customer=None), PointsRule(), PRINTED
        )
        assert late.claim_code and on_time.claim_code
        with pytest.raises(ExpiredClaimCode, match=r"expired on 2026-12-02: codes can be claimed"):
            ledger.claim(late.claim_code, CARD, PRINTED + timedelta(days=30), policy=THIRTY_DAYS)
        almost = PRINTED + timedelta(days=30) - timedelta(seconds=1)
        claimed = ledger.claim(on_time.claim_code, CARD, almost, policy=THIRTY_DAYS)
        assert (claimed.points, claimed.balance) == (8, 8)
        # With no expiry in the programme, an old code still claims.
        years = PRINTED + timedelta(days=900)
        assert ledger.claim(late.claim_code, CARD, years, policy=Policy()).balance == 20
    finally:
        engine.dispose()
