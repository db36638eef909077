"""Recompute every invariant of the ledger and the store from the rows themselves.

Each query returns the rows that break one invariant; `village rewards check` prints them
and exits non-zero if there are any. The tests run it after every rewards test."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

INVARIANTS: dict[str, str] = {
    "transaction legs sum to zero": """
        SELECT t.id AS transaction_id, coalesce(sum(e.points), 0) AS total, count(e.id) AS legs
        FROM points_transactions t LEFT JOIN points_entries e ON e.transaction_id = t.id
        GROUP BY t.id HAVING coalesce(sum(e.points), 0) <> 0 OR count(e.id) < 2""",
    "cached balance equals the ledger": """
        SELECT a.id AS account_id, a.balance, coalesce(sum(e.points), 0) AS ledger
        FROM points_accounts a LEFT JOIN points_entries e ON e.account_id = a.id
        GROUP BY a.id HAVING a.balance <> coalesce(sum(e.points), 0)""",
    "household balance equals its lots": """
        SELECT a.id AS account_id, a.balance, coalesce(sum(l.remaining), 0) AS lots
        FROM points_accounts a LEFT JOIN points_lots l ON l.account_id = a.id
        WHERE a.kind = 'household'
        GROUP BY a.id HAVING a.balance <> coalesce(sum(l.remaining), 0)""",
    "lot remainder equals its entries": """
        SELECT l.id AS lot_id, l.remaining, coalesce(sum(e.points), 0) AS ledger
        FROM points_lots l LEFT JOIN points_entries e ON e.lot_id = l.id
        GROUP BY l.id HAVING l.remaining <> coalesce(sum(e.points), 0)""",
    "household legs name their lot": """
        SELECT e.id AS entry_id FROM points_entries e JOIN points_accounts a ON a.id = e.account_id
        WHERE a.kind = 'household' AND e.lot_id IS NULL""",
    "household legs are posted in the household's village": """
        SELECT e.id AS entry_id, a.village_id AS account_village, t.village_id AS transaction_village
        FROM points_entries e
        JOIN points_transactions t ON t.id = e.transaction_id
        JOIN points_accounts a ON a.id = e.account_id
        WHERE a.kind = 'household' AND a.village_id <> t.village_id""",
    "village totals equal the ledger": """
        SELECT coalesce(l.village_id, v.village_id) AS village_id, coalesce(l.kind, v.kind) AS kind,
               coalesce(v.points, 0) AS totals, coalesce(l.points, 0) AS ledger
        FROM (
            SELECT t.village_id, t.kind, sum(e.points) AS points
            FROM points_entries e
            JOIN points_transactions t ON t.id = e.transaction_id
            JOIN points_accounts a ON a.id = e.account_id AND a.kind = 'household'
            GROUP BY t.village_id, t.kind
        ) l
        FULL JOIN points_village_totals v ON v.village_id = l.village_id AND v.kind = l.kind
        WHERE coalesce(v.points, 0) <> coalesce(l.points, 0)""",
    "lifetime earned equals credits kept": """
        SELECT a.id AS account_id, a.lifetime_earned, coalesce(c.total, 0) AS ledger
        FROM points_accounts a
        LEFT JOIN (
            SELECT e.account_id, sum(e.points) AS total
            FROM points_entries e JOIN points_transactions t ON t.id = e.transaction_id
            WHERE t.kind IN ('award', 'reversal') OR (t.kind = 'adjustment' AND e.points > 0)
            GROUP BY e.account_id
        ) c ON c.account_id = a.id
        WHERE a.kind = 'household' AND a.lifetime_earned <> coalesce(c.total, 0)""",
    "stock on hand equals its movements": """
        SELECT i.id AS item_id, i.stock_available, coalesce(sum(m.delta_available), 0) AS moved
        FROM reward_items i LEFT JOIN stock_movements m ON m.item_id = i.id
        GROUP BY i.id HAVING i.stock_available <> coalesce(sum(m.delta_available), 0)""",
    "reserved stock equals its movements and open redemptions": """
        SELECT i.id AS item_id, i.stock_reserved, coalesce(m.moved, 0) AS moved, coalesce(r.open, 0) AS open
        FROM reward_items i
        LEFT JOIN (SELECT item_id, sum(delta_reserved) AS moved FROM stock_movements GROUP BY item_id) m
               ON m.item_id = i.id
        LEFT JOIN (SELECT item_id, sum(quantity) AS open FROM redemptions WHERE status = 'reserved'
                   GROUP BY item_id) r ON r.item_id = i.id
        WHERE i.stock_reserved <> coalesce(m.moved, 0) OR i.stock_reserved <> coalesce(r.open, 0)""",
    "redemptions spent once and refunded once if closed unfulfilled": """
        SELECT r.id AS redemption_id, r.status,
               count(*) FILTER (WHERE t.kind = 'redemption') AS spends,
               count(*) FILTER (WHERE t.kind = 'refund') AS refunds
        FROM redemptions r LEFT JOIN points_transactions t ON t.redemption_id = r.id
        GROUP BY r.id, r.status
        HAVING count(*) FILTER (WHERE t.kind = 'redemption') <> 1
            OR count(*) FILTER (WHERE t.kind = 'refund')
               <> CASE WHEN r.status IN ('cancelled', 'expired') THEN 1 ELSE 0 END""",
    "a redemption spends its price": """
        SELECT r.id AS redemption_id, r.points, -sum(e.points) AS spent
        FROM redemptions r
        JOIN points_transactions t ON t.redemption_id = r.id AND t.kind = 'redemption'
        JOIN points_entries e ON e.transaction_id = t.id
        JOIN points_accounts a ON a.id = e.account_id AND a.kind = 'household'
        GROUP BY r.id, r.points HAVING -sum(e.points) <> r.points""",
    "a redemption's stock moves once to reserve and once to close": """
        SELECT r.id AS redemption_id, r.status,
               count(*) FILTER (WHERE m.kind = 'reserve') AS reserved,
               count(*) FILTER (WHERE m.kind = 'pickup') AS picked_up,
               count(*) FILTER (WHERE m.kind = 'release') AS released
        FROM redemptions r LEFT JOIN stock_movements m ON m.redemption_id = r.id
        GROUP BY r.id, r.status
        HAVING count(*) FILTER (WHERE m.kind = 'reserve') <> 1
            OR count(*) FILTER (WHERE m.kind = 'pickup') <> CASE WHEN r.status = 'picked_up' THEN 1 ELSE 0 END
            OR count(*) FILTER (WHERE m.kind = 'release')
               <> CASE WHEN r.status IN ('cancelled', 'expired') THEN 1 ELSE 0 END""",
    "no lot is drawn after it expired": """
        SELECT e.id AS entry_id, l.id AS lot_id, l.expires_at, t.created_at AS drawn_at
        FROM points_entries e
        JOIN points_lots l ON l.id = e.lot_id
        JOIN points_transactions t ON t.id = e.transaction_id
        WHERE e.points < 0 AND t.kind <> 'expiry' AND l.expires_at IS NOT NULL AND t.created_at >= l.expires_at""",
    "an approved claim has its award, and no other claim has one": """
        SELECT id AS claim_id, status, award_id FROM points_claims
        WHERE (status = 'approved') <> (award_id IS NOT NULL)""",
}


async def violations(session: AsyncSession) -> dict[str, list[dict]]:
    """Every broken invariant with the rows that break it; empty when all hold."""
    found: dict[str, list[dict]] = {}
    # every row is read: on a county that takes longer than a request may
    await session.execute(text("SET LOCAL statement_timeout = 0"))
    for name, query in INVARIANTS.items():
        rows = (await session.execute(text(query))).mappings().all()
        if rows:
            found[name] = [dict(row) for row in rows]
    return found
