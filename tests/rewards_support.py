"""GraphQL documents and helpers shared by the rewards tests."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from grid import appointments
from models import User
from rewards import check

HOME = """query { me { household { id points { balance lifetimeEarned
  expiringSoon(days: 30) { points expiresAt }
  entries(first: 20) { edges { node { id points reason createdAt kind memberName } } } } } } }"""
CATALOG = "query { catalog(first: 20) { edges { node { id name pointsPrice stockAvailable } } } }"
REDEEM = """mutation($item: ID!, $q: Int!, $key: String!) {
  redeemReward(input: {itemId: $item, quantity: $q, idempotencyKey: $key}) {
    redemption { id status pickupCode points quantity } errors { code field message } } }"""
CANCEL = """mutation($id: ID!) { cancelRedemption(input: {redemptionId: $id}) {
  redemption { id status } errors { code message } } }"""
PICKUP = """mutation($code: String!) { confirmPickup(input: {code: $code}) {
  redemption { id status } errors { code message } } }"""
CREATE_ITEM = """mutation($input: CreateRewardItemInput!) { createRewardItem(input: $input) {
  item { id name pointsPrice stockAvailable } errors { code field message } } }"""
ADJUST_STOCK = """mutation($item: ID!, $delta: Int!, $reason: String!, $key: String!) {
  adjustStock(input: {itemId: $item, delta: $delta, reason: $reason, idempotencyKey: $key}) {
    item { id stockAvailable } errors { code message } } }"""
ADJUST_POINTS = """mutation($h: ID!, $p: Int!, $reason: String!, $key: String!) {
  adjustPoints(input: {householdId: $h, points: $p, reason: $reason, idempotencyKey: $key}) {
    household { id points { balance } } errors { code message } } }"""
CREATE_RULE = """mutation($input: CreateEarningRuleInput!) { createEarningRule(input: $input) {
  rule { id code version name points } errors { code field message } } }"""


async def store_clerk(session: AsyncSession, village, phone: str) -> User:
    clerk = User(phone=phone, display_name="店员")
    session.add(clerk)
    await session.flush()
    await appointments.appoint(session, village.village, clerk, "store_clerk", appointed_by=None,
                               now=datetime.now(UTC))
    return clerk


async def assert_ledger_consistent(session: AsyncSession) -> None:
    """`village rewards check`'s invariants, all of them."""
    assert await check.violations(session) == {}
