"""The points engine: ledger, earning rules and awards, claims, catalog and stock,
redemptions, expiry, invariant checks and rankings.

Other modules award points through one call, `rewards.awards.award_for_event`, inside
their own transaction. This package imports neither strawberry nor starlette.
"""
