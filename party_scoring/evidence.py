"""The evidence of a period's standings, as one SQL query: every number of a standing is a
count or a sum over these rows, so a breakdown lists exactly what the score is made of.

- contact: one row per household-month a person answered for (a party member through the
  link in force at the month's reference moment, while holding the post in the village, a chief through the unit they headed
  then), with the visit that met the duty, or none;
- problem: one row per problem found on a visit the person logged in the period;
- points: one row per award of points in the period to a household the person answered
  for at the moment of the award. Earned points only: redemptions, expiry and reversed
  awards never count, so spending points lowers nobody's standing.

Months and responsibilities follow `household_links.coverage` (the same reference moment);
a household belongs to the unit it was placed in at that moment (household_placements)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, String, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql import Subquery

from household_links.coverage import months_between

COLUMNS = {
    "user_id": BigInteger, "role": String, "kind": String, "household_id": BigInteger,
    "month_start": DateTime(timezone=True), "living_status": String, "visit_id": BigInteger,
    "problem_id": BigInteger, "award_id": BigInteger, "points": Integer,
    "occurred_at": DateTime(timezone=True), "sort_at": DateTime(timezone=True), "ref_id": BigInteger,
}

EVIDENCE_SQL = """
WITH months AS (
    SELECT * FROM unnest(:month_starts, :month_ends, :month_ats) AS m(month_start, month_end, at)
),
household_months AS (
    SELECT m.month_start, m.month_end, m.at, h.id AS household_id, u.path AS unit_path,
           COALESCE(s.living_status, h.living_status) AS living_status
    FROM months m
    JOIN households h ON h.village_id = :village_id AND h.created_at <= m.at
    LEFT JOIN household_placements p ON p.household_id = h.id
         AND p.valid_from <= m.at AND (p.valid_to IS NULL OR p.valid_to > m.at)
    JOIN org_units u ON u.id = COALESCE(p.unit_id, h.unit_id)
    LEFT JOIN household_living_statuses s ON s.household_id = h.id
         AND s.valid_from <= m.at AND (s.valid_to IS NULL OR s.valid_to > m.at)
),
serving AS (  -- party-member posts in the village: a link counts only while its member serves
    SELECT a.user_id, a.valid_from, a.valid_to
    FROM appointments a JOIN org_units u ON u.id = a.unit_id
    WHERE a.role = 'party_member' AND u.village_id = :village_id
),
chiefs AS (
    SELECT a.user_id, a.valid_from, a.valid_to, u.path
    FROM appointments a JOIN org_units u ON u.id = a.unit_id
    WHERE a.role = 'chief' AND u.village_id = :village_id
),
duties AS (
    SELECT l.member_user_id AS user_id, 'party_member' AS role, hm.*
    FROM household_months hm
    JOIN household_links l ON l.household_id = hm.household_id
         AND l.valid_from <= hm.at AND (l.valid_to IS NULL OR l.valid_to > hm.at)
    WHERE EXISTS (SELECT 1 FROM serving s WHERE s.user_id = l.member_user_id
                  AND s.valid_from <= hm.at AND (s.valid_to IS NULL OR s.valid_to > hm.at))
    UNION ALL
    SELECT c.user_id, 'chief', hm.*
    FROM household_months hm
    JOIN LATERAL (
        SELECT DISTINCT c.user_id FROM chiefs c
        WHERE starts_with(hm.unit_path, c.path)
          AND c.valid_from <= hm.at AND (c.valid_to IS NULL OR c.valid_to > hm.at)
    ) c ON true
)
SELECT d.user_id, d.role, 'contact' AS kind, d.household_id, d.month_start, d.living_status,
       mv.id AS visit_id, NULL::bigint AS problem_id, NULL::bigint AS award_id, 0 AS points,
       mv.occurred_at, d.month_start AS sort_at, d.household_id AS ref_id
FROM duties d
LEFT JOIN LATERAL (
    SELECT v.id, v.occurred_at FROM visits v
    WHERE v.household_id = d.household_id
      AND v.occurred_at >= d.month_start AND v.occurred_at < d.month_end
      AND (d.living_status <> 'at_home' OR v.mode = 'in_person')
    ORDER BY v.occurred_at, v.id
    LIMIT 1
) mv ON true
UNION ALL
SELECT v.author_user_id, v.author_role, 'problem', v.household_id, NULL, NULL, v.id, p.id, NULL, 0,
       v.occurred_at, v.occurred_at, p.id
FROM visit_problems p
JOIN visits v ON v.id = p.visit_id
WHERE v.village_id = :village_id
  AND v.occurred_at >= :period_start AND v.occurred_at < :period_end AND v.occurred_at <= :now
UNION ALL
SELECT r.user_id, r.role, 'points', a.household_id, NULL, NULL, NULL, NULL, a.id, a.points,
       a.created_at, a.created_at, a.id
FROM points_awards a
JOIN households h ON h.id = a.household_id
LEFT JOIN household_placements p ON p.household_id = h.id
     AND p.valid_from <= a.created_at AND (p.valid_to IS NULL OR p.valid_to > a.created_at)
JOIN org_units u ON u.id = COALESCE(p.unit_id, h.unit_id)
JOIN LATERAL (
    SELECT l.member_user_id AS user_id, 'party_member' AS role FROM household_links l
    WHERE l.household_id = a.household_id
      AND l.valid_from <= a.created_at AND (l.valid_to IS NULL OR l.valid_to > a.created_at)
      AND EXISTS (SELECT 1 FROM serving s WHERE s.user_id = l.member_user_id
                  AND s.valid_from <= a.created_at AND (s.valid_to IS NULL OR s.valid_to > a.created_at))
    UNION
    SELECT c.user_id, 'chief' FROM chiefs c
    WHERE starts_with(u.path, c.path)
      AND c.valid_from <= a.created_at AND (c.valid_to IS NULL OR c.valid_to > a.created_at)
) r ON true
WHERE a.village_id = :village_id
  AND a.created_at >= :period_start AND a.created_at < :period_end AND a.created_at <= :now
  AND a.points > 0
  AND NOT EXISTS (SELECT 1 FROM points_transactions t WHERE t.reverses_id = a.transaction_id)
"""

_STATEMENT = text(EVIDENCE_SQL).bindparams(
    bindparam("month_starts", type_=ARRAY(DateTime(timezone=True))),
    bindparam("month_ends", type_=ARRAY(DateTime(timezone=True))),
    bindparam("month_ats", type_=ARRAY(DateTime(timezone=True))),
).columns(**COLUMNS)


def live(village_id: int, start: datetime, end: datetime, now: datetime) -> Subquery:
    """The evidence of [start, end) as it stands at `now`, as a subquery `e`."""
    months = months_between(start, end, now)
    return _STATEMENT.bindparams(
        village_id=village_id, period_start=start, period_end=end, now=now,
        month_starts=[m.start for m in months], month_ends=[m.end for m in months],
        month_ats=[m.at for m in months],
    ).subquery("e")
