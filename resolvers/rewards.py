"""Queries and mutations of points and the points store: thin adapters to `rewards`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay
from strawberry.types import Info

from app.errors import Forbidden
from app.pagination import Page
from grid import access
from identity.viewer import ADMIN_ROLES, Viewer
from models import EarningRule as RuleRow
from models import PointsAward, RankingSnapshot
from models import PointsEntry as EntryRow
from models import Redemption as RedemptionRow
from resolvers.ids import db_id
from resolvers.payload_errors import converter
from resolvers.transaction import in_transaction
from resolvers.villages import village_of
from rewards import (
    accounts,
    awards,
    claims,
    idempotency,
    queries,
    rankings,
    redemptions,
    rules,
)
from rewards import (
    catalog as catalog_domain,
)
from rewards.errors import RewardsError, RewardsErrorCode, invalid, not_found
from rewards.periods import period_bounds
from schema.relay import connection
from schema.rewards import (
    ClaimStatus,
    EarningRule,
    PointsClaim,
    PointsEntry,
    PointsOverview,
    PointsPolicy,
    Ranking,
    RankingKind,
    RankingPeriod,
    RankingRow,
    Redemption,
    RedemptionStatus,
    RewardItem,
)
from schema.rewards import RewardsError as RewardsErrorType
from schema.rewards import RewardsErrorCode as RewardsErrorCodeEnum
from schema.rewards_inputs import (
    AdjustPointsInput,
    AdjustStockInput,
    CancelRedemptionInput,
    ConfirmPickupInput,
    CreateEarningRuleInput,
    CreateRewardItemInput,
    EarningRulePayload,
    HouseholdPointsPayload,
    PointsClaimPayload,
    PointsPolicyPayload,
    PublishRankingInput,
    RankingPayload,
    RedeemRewardInput,
    RedemptionPayload,
    ReverseAwardInput,
    ReviewClaimInput,
    ReviseEarningRuleInput,
    RewardItemPayload,
    SetPointsPolicyInput,
    SubmitClaimInput,
    UpdateRewardItemInput,
)

STORE_ROLES = ADMIN_ROLES | {"store_clerk"}
# Refusals that depend on the state of things, so a retry must not be re-judged later.
# Input errors and unknown ids are not remembered: nothing was attempted.
REMEMBERED = {
    RewardsErrorCode.INSUFFICIENT_POINTS, RewardsErrorCode.OUT_OF_STOCK,
    RewardsErrorCode.LIMIT_REACHED, RewardsErrorCode.ITEM_INACTIVE,
    RewardsErrorCode.BUDGET_EXHAUSTED, RewardsErrorCode.CAP_REACHED,
    RewardsErrorCode.POINTS_ALREADY_SPENT,
}


errors = converter(RewardsErrorType, RewardsErrorCodeEnum)


def _admin_anywhere(viewer: Viewer) -> bool:
    """Chiefs and party members are residents too: without an admin role they get the
    resident's views (their household's claims, the published rankings)."""
    return any(g.role in ADMIN_ROLES for g in viewer.grants)


def _resident_household(viewer: Viewer) -> tuple[int, int]:
    if viewer.household_id is None or viewer.village_id is None:
        raise RewardsError(RewardsErrorCode.NO_HOUSEHOLD, "当前账号未关联农户")
    return viewer.village_id, viewer.household_id


# ---- queries -------------------------------------------------------------------------


async def catalog(
    info: Info, village_id: relay.GlobalID | None = None, category: str | None = None,
    first: int | None = None, after: str | None = None,
) -> relay.Connection[RewardItem]:
    """Residents see what is on sale in their village; store staff see the whole catalog."""
    ctx = info.context
    viewer = await ctx.require_viewer()
    async with ctx.db() as session:
        if village_id is None and viewer.village_id is not None:
            village, staff = viewer.village_id, any(
                g.role in STORE_ROLES and g.village_id == viewer.village_id for g in viewer.grants
            )
        else:
            village, staff = (await village_of(session, viewer, village_id, STORE_ROLES)).id, True
        page = await queries.catalog(
            session, village, first, after, now=ctx.now(), on_sale_only=not staff, category=category
        )
    return connection([RewardItem.from_row(r[0]) for r in page.rows], page)


async def my_redemptions(
    info: Info, status: RedemptionStatus | None = None, first: int | None = None,
    after: str | None = None,
) -> relay.Connection[Redemption]:
    viewer = await info.context.require_viewer()
    if viewer.household_id is None:
        return connection([], Page([], [], False))
    async with info.context.db() as session:
        page = await queries.redemptions(
            session, first, after, household_id=viewer.household_id,
            status=status.value if status else None,
        )
    return connection([Redemption.from_row(r[0]) for r in page.rows], page)


async def redemptions_query(
    info: Info, village_id: relay.GlobalID | None = None, status: RedemptionStatus | None = None,
    first: int | None = None, after: str | None = None,
) -> relay.Connection[Redemption]:
    viewer = await info.context.require_viewer()
    async with info.context.db() as session:
        village = await village_of(session, viewer, village_id, STORE_ROLES)
        page = await queries.redemptions(
            session, first, after, village_id=village.id, status=status.value if status else None
        )
    return connection([Redemption.from_row(r[0]) for r in page.rows], page)


async def points_overview(info: Info, village_id: relay.GlobalID | None = None) -> PointsOverview:
    viewer = await info.context.require_viewer()
    async with info.context.db() as session:
        village = await village_of(session, viewer, village_id)
        return PointsOverview(**await queries.overview(session, village.id, info.context.now()))


async def points_ledger(
    info: Info, village_id: relay.GlobalID | None = None, household_id: relay.GlobalID | None = None,
    rule_id: relay.GlobalID | None = None, since: datetime | None = None,
    until: datetime | None = None, first: int | None = None, after: str | None = None,
) -> relay.Connection[PointsEntry]:
    viewer = await info.context.require_viewer()
    async with info.context.db() as session:
        village = await village_of(session, viewer, village_id)
        page = await queries.ledger(
            session, village.id, first, after,
            household_id=db_id(household_id, "Household", "householdId") if household_id else None,
            rule_id=db_id(rule_id, "EarningRule", "ruleId") if rule_id else None,
            since=since, until=until,
        )
    return connection([PointsEntry.from_row(row) for row in page.rows], page)


async def earning_rules(
    info: Info, village_id: relay.GlobalID | None = None, first: int | None = None,
    after: str | None = None,
) -> relay.Connection[EarningRule]:
    """How to earn: residents see their village's rules, admins the village they manage."""
    ctx = info.context
    viewer = await ctx.require_viewer()
    async with ctx.db() as session:
        if village_id is None and viewer.village_id is not None:
            village = viewer.village_id
        else:
            village = (await village_of(session, viewer, village_id)).id
        page = await queries.rules(session, village, first, after)
        versions = [await rules.current_version(session, r[0].id) for r in page.rows]
    return connection(
        [EarningRule.from_rows(r[0].code, v) for r, v in zip(page.rows, versions, strict=True)], page
    )


async def points_claims(
    info: Info, village_id: relay.GlobalID | None = None, status: ClaimStatus | None = None,
    first: int | None = None, after: str | None = None,
) -> relay.Connection[PointsClaim]:
    """Admins: a village's claims to review. Residents (no villageId): their household's."""
    ctx = info.context
    viewer = await ctx.require_viewer()
    async with ctx.db() as session:
        if village_id is None and viewer.household_id is not None and not _admin_anywhere(viewer):
            filters = {"household_id": viewer.household_id}
        else:
            filters = {"village_id": (await village_of(session, viewer, village_id)).id}
        page = await queries.claims(
            session, first, after, status=status.value if status else None, **filters
        )
    return connection([PointsClaim.from_row(r[0]) for r in page.rows], page)


async def points_policy(info: Info, village_id: relay.GlobalID | None = None) -> PointsPolicy:
    viewer = await info.context.require_viewer()
    async with info.context.db() as session:
        village = await village_of(session, viewer, village_id)
        return await _policy(session, village.id)


async def _policy(session: AsyncSession, village_id: int) -> PointsPolicy:
    row = await accounts.policy(session, village_id)
    issuance = await accounts.system_account(session, village_id, "issuance")
    return PointsPolicy(
        budget=None if issuance.min_balance is None else -issuance.min_balance,
        default_validity_days=row.default_validity_days,
        expire_end_of_next_year=row.expire_end_of_next_year, pickup_days=row.pickup_days,
        rankings_public=row.rankings_public,
    )


async def points_ranking(
    info: Info, kind: RankingKind, period: RankingPeriod, at: datetime | None = None,
    village_id: relay.GlobalID | None = None,
) -> Ranking:
    """Admins see the live ranking of any period; residents see published rankings of
    their village, if the village makes them public."""
    ctx = info.context
    viewer = await ctx.require_viewer()
    start, end = period_bounds(period.value, at or ctx.now())
    async with ctx.db() as session:
        if village_id is None and viewer.village_id is not None and not _admin_anywhere(viewer):
            village, admin = viewer.village_id, False
        else:
            village, admin = (await village_of(session, viewer, village_id)).id, True
        snapshot = await session.scalar(
            select(RankingSnapshot).where(
                RankingSnapshot.village_id == village, RankingSnapshot.kind == kind.value,
                RankingSnapshot.period_start == start, RankingSnapshot.period_end == end,
            )
        )
        if not admin:
            public = (await accounts.policy(session, village)).rankings_public
            if not public or snapshot is None:
                raise not_found("榜单", "period")
        rows = snapshot.rows if snapshot else await rankings.compute(session, village, kind.value, start, end)
    return Ranking(
        kind=kind, period_start=start, period_end=end, published=snapshot is not None,
        rows=[RankingRow(rank=r["rank"], household_number=r["number"], points=r["points"],
                         household_id=r["household_id"]) for r in rows],
    )


# ---- mutations: residents ------------------------------------------------------------


async def redeem_reward(info: Info, input: RedeemRewardInput) -> RedemptionPayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        village_id, household_id = _resident_household(viewer)
        return await redemptions.redeem(
            session, user_id=viewer.user_id, village_id=village_id, household_id=household_id,
            resident_id=viewer.resident_id, item_id=db_id(input.item_id, "RewardItem", "itemId"),
            quantity=input.quantity, idempotency_key=input.idempotency_key, now=ctx.now(),
        )

    row, errs = await in_transaction(info, action)
    await _remember_refusal(info, errs)
    return RedemptionPayload(redemption=row and Redemption.from_row(row), errors=errors(errs))


async def _remember_refusal(info: Info, errs) -> None:
    """A request refused after its key was checked is answered the same way on every retry
    with that key: the refusal is remembered under the key, the operation and the request's
    hash as the operation computed them."""
    unanswered = idempotency.take_unanswered(info.context.session)
    if unanswered is None or not errs or not isinstance(errs[0], RewardsError) or errs[0].code not in REMEMBERED:
        return

    async def remember(session: AsyncSession):
        await unanswered.remember(session, error=errs[0])

    await in_transaction(info, remember)


async def cancel_redemption(info: Info, input: CancelRedemptionInput) -> RedemptionPayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        row = await _visible_redemption(session, viewer, input.redemption_id, "redemptionId")
        return await redemptions.cancel(session, row, user_id=viewer.user_id, now=ctx.now())

    row, errs = await in_transaction(info, action)
    return RedemptionPayload(redemption=row and Redemption.from_row(row), errors=errors(errs))


async def _visible_redemption(session, viewer: Viewer, global_id, field: str) -> RedemptionRow:
    """The viewer's household's redemption, or one of a village they run the store of."""
    row = await session.get(RedemptionRow, db_id(global_id, "Redemption", field))
    if row is None:
        raise not_found("兑换", field)
    if row.household_id != viewer.household_id:
        village = await access.get_unit(session, viewer, row.village_id, field=field)
        if not viewer.may(STORE_ROLES, village.path):
            raise not_found("兑换", field)
    return row


async def submit_claim(info: Info, input: SubmitClaimInput) -> PointsClaimPayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        if input.household_id is None:
            village_id, household_id = _resident_household(viewer)
            resident_id = viewer.resident_id
        else:  # a grid worker or chief on behalf of a household they serve
            household, _ = await access.get_household(
                session, viewer, db_id(input.household_id, "Household", "householdId"),
                field="householdId",
            )
            village_id, household_id, resident_id = household.village_id, household.id, None
        rule = await rules.get_rule(session, village_id, db_id(input.rule_id, "EarningRule", "ruleId"))
        return await claims.submit_claim(
            session, rule=rule, household_id=household_id, resident_id=resident_id,
            submitted_by=viewer.user_id, note=input.note, photo_urls=input.photo_urls, now=ctx.now(),
            idempotency_key=input.idempotency_key,
        )

    row, errs = await in_transaction(info, action)
    await _remember_refusal(info, errs)
    return PointsClaimPayload(claim=row and PointsClaim.from_row(row), errors=errors(errs))


# ---- mutations: store staff ----------------------------------------------------------


async def confirm_pickup(info: Info, input: ConfirmPickupInput) -> RedemptionPayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        village = await village_of(session, viewer, input.village_id, STORE_ROLES)
        row = await redemptions.find_by_code(session, village.id, input.code)
        return await redemptions.confirm_pickup(session, row, clerk_user_id=viewer.user_id, now=ctx.now())

    row, errs = await in_transaction(info, action)
    return RedemptionPayload(redemption=row and Redemption.from_row(row), errors=errors(errs))


# ---- mutations: admins ---------------------------------------------------------------


async def create_reward_item(info: Info, input: CreateRewardItemInput) -> RewardItemPayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        village = await village_of(session, viewer, input.village_id)
        terms = catalog_domain.ItemTerms(
            name=input.name, points_price=input.points_price, description=input.description,
            image_url=input.image_url, category=input.category, limit_quantity=input.limit_quantity,
            limit_period=input.limit_period.value if input.limit_period else None,
            active_from=input.active_from, active_to=input.active_to,
        )
        return await catalog_domain.create_item(
            session, village.id, terms, input.stock, viewer.user_id, ctx.now(), input.idempotency_key
        )

    row, errs = await in_transaction(info, action)
    return RewardItemPayload(item=row and RewardItem.from_row(row), errors=errors(errs))


async def _managed_item(session, viewer: Viewer, global_id, roles=ADMIN_ROLES):
    item_id = db_id(global_id, "RewardItem", "itemId")
    from models import RewardItem as ItemRow

    row = await session.get(ItemRow, item_id)
    if row is None:
        raise not_found("商品", "itemId")
    village = await access.get_unit(session, viewer, row.village_id, field="itemId")
    if not viewer.may(roles, village.path):
        raise Forbidden()
    return await catalog_domain.lock_item(session, row.village_id, item_id)


async def update_reward_item(info: Info, input: UpdateRewardItemInput) -> RewardItemPayload:
    viewer = await info.context.require_viewer()

    async def action(session: AsyncSession):
        item = await _managed_item(session, viewer, input.item_id)
        changes = {
            key: getattr(input, key)
            for key in ("name", "points_price", "description", "image_url", "category",
                        "limit_quantity", "active_from", "active_to", "enabled")
            if getattr(input, key) is not None
        }
        if input.limit_period is not None:
            changes["limit_period"] = input.limit_period.value
        return await catalog_domain.update_item(session, item, changes)

    row, errs = await in_transaction(info, action)
    return RewardItemPayload(item=row and RewardItem.from_row(row), errors=errors(errs))


async def adjust_stock(info: Info, input: AdjustStockInput) -> RewardItemPayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        item = await _managed_item(session, viewer, input.item_id)
        return await catalog_domain.adjust_stock(
            session, item, input.delta, input.reason, viewer.user_id, ctx.now(),
            idempotency_key=input.idempotency_key,
        )

    row, errs = await in_transaction(info, action)
    await _remember_refusal(info, errs)
    return RewardItemPayload(item=row and RewardItem.from_row(row), errors=errors(errs))


def _not_their_own_household(viewer: Viewer, household_id: int) -> None:
    """An admin does not move, or approve, points for the household they live in: another
    admin of the village (or the town) does."""
    if viewer.household_id == household_id:
        raise Forbidden("本户的积分须由其他管理员处理")


async def adjust_points(info: Info, input: AdjustPointsInput) -> HouseholdPointsPayload:
    from schema.grid import Household

    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        household, path = await access.get_household(
            session, viewer, db_id(input.household_id, "Household", "householdId"), manage=True,
            field="householdId",
        )
        _not_their_own_household(viewer, household.id)
        await awards.adjust_points(
            session, village_id=household.village_id, household_id=household.id,
            points=input.points, reason=input.reason, actor_user_id=viewer.user_id, now=ctx.now(),
            idempotency_key=input.idempotency_key,
        )
        return household, path

    result, errs = await in_transaction(info, action)
    await _remember_refusal(info, errs)
    return HouseholdPointsPayload(household=result and Household.from_row(*result), errors=errors(errs))


async def reverse_award(info: Info, input: ReverseAwardInput) -> HouseholdPointsPayload:
    from schema.grid import Household

    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        entry = await session.get(EntryRow, db_id(input.entry_id, "PointsEntry", "entryId"))
        award = entry and (await session.execute(
            select(PointsAward.id, PointsAward.household_id).where(PointsAward.transaction_id == entry.transaction_id)
        )).first()
        if award is None:
            raise not_found("积分记录", "entryId")
        award_id = award.id
        village = await access.get_unit(session, viewer, entry.village_id, field="entryId")
        if not viewer.may(ADMIN_ROLES, village.path):
            raise Forbidden()
        _not_their_own_household(viewer, award.household_id)
        transaction = await awards.reverse_award(
            session, village_id=entry.village_id, award_id=award_id, reason=input.reason,
            actor_user_id=viewer.user_id, now=ctx.now(), idempotency_key=input.idempotency_key,
        )
        return await access.get_household(session, viewer, transaction.household_id)

    result, errs = await in_transaction(info, action)
    await _remember_refusal(info, errs)
    return HouseholdPointsPayload(household=result and Household.from_row(*result), errors=errors(errs))


def _terms_from(input: CreateEarningRuleInput) -> rules.RuleTerms:
    return rules.RuleTerms(
        name=input.name, points=input.points, trigger=input.trigger.value,
        event_type=input.event_type, description=input.description,
        cap_period=input.cap_period.value if input.cap_period else None, cap_count=input.cap_count,
        cap_scope=input.cap_scope.value, once_per_household=input.once_per_household,
        active_from=input.active_from, active_to=input.active_to, validity_days=input.validity_days,
    )


async def create_earning_rule(info: Info, input: CreateEarningRuleInput) -> EarningRulePayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        village = await village_of(session, viewer, input.village_id)
        version = await rules.create_rule(session, village.id, input.code, _terms_from(input), viewer.user_id, ctx.now())
        return input.code.strip(), version

    result, errs = await in_transaction(info, action)
    return EarningRulePayload(rule=result and EarningRule.from_rows(*result), errors=errors(errs))


async def revise_earning_rule(info: Info, input: ReviseEarningRuleInput) -> EarningRulePayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        rule = await session.get(RuleRow, db_id(input.rule_id, "EarningRule", "ruleId"))
        if rule is None:
            raise not_found("积分规则", "ruleId")
        village = await access.get_unit(session, viewer, rule.village_id, field="ruleId")
        if not viewer.may(ADMIN_ROLES, village.path):
            raise Forbidden()
        changes = {
            key: getattr(input, key)
            for key in ("name", "points", "description", "cap_count", "once_per_household",
                        "active_from", "active_to", "enabled", "validity_days")
            if getattr(input, key) is not None
        }
        if input.cap_period is not None:
            changes["cap_period"] = input.cap_period.value
        if input.cap_scope is not None:
            changes["cap_scope"] = input.cap_scope.value
        if input.remove_cap:
            changes.update(cap_period=None, cap_count=None)
        return rule.code, await rules.revise_rule(session, rule, changes, viewer.user_id, ctx.now())

    result, errs = await in_transaction(info, action)
    return EarningRulePayload(rule=result and EarningRule.from_rows(*result), errors=errors(errs))


async def review_claim(info: Info, input: ReviewClaimInput) -> PointsClaimPayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        from models import PointsClaim as ClaimRow

        claim = await session.get(ClaimRow, db_id(input.claim_id, "PointsClaim", "claimId"))
        if claim is None:
            raise not_found("申报", "claimId")
        village = await access.get_unit(session, viewer, claim.village_id, field="claimId")
        if not viewer.may(ADMIN_ROLES, village.path):
            raise Forbidden()
        _not_their_own_household(viewer, claim.household_id)
        return await claims.review_claim(
            session, village_id=claim.village_id, claim_id=claim.id, approve=input.approve,
            reason=input.reason, reviewer_id=viewer.user_id, now=ctx.now(),
            idempotency_key=input.idempotency_key,
        )

    row, errs = await in_transaction(info, action)
    await _remember_refusal(info, errs)
    return PointsClaimPayload(claim=row and PointsClaim.from_row(row), errors=errors(errs))


async def set_points_policy(info: Info, input: SetPointsPolicyInput) -> PointsPolicyPayload:
    import strawberry

    viewer = await info.context.require_viewer()

    async def action(session: AsyncSession):
        village = await village_of(session, viewer, input.village_id)
        row = await accounts.policy(session, village.id)
        if input.budget is not strawberry.UNSET:
            await accounts.set_budget(session, village.id, input.budget)
        if input.default_validity_days is not strawberry.UNSET:
            if input.default_validity_days is not None and not 1 <= input.default_validity_days <= 3650:
                raise invalid("有效天数为1到3650", "defaultValidityDays")
            row.default_validity_days = input.default_validity_days
        if input.expire_end_of_next_year is not None:
            row.expire_end_of_next_year = input.expire_end_of_next_year
        if input.pickup_days is not None:
            if not 1 <= input.pickup_days <= 90:
                raise invalid("领取期限为1到90天", "pickupDays")
            row.pickup_days = input.pickup_days
        if input.rankings_public is not None:
            row.rankings_public = input.rankings_public
        row.updated_at = info.context.now()
        await session.flush()
        return await _policy(session, village.id)

    result, errs = await in_transaction(info, action)
    return PointsPolicyPayload(policy=result, errors=errors(errs))


async def publish_ranking(info: Info, input: PublishRankingInput) -> RankingPayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        village = await village_of(session, viewer, input.village_id)
        start, end = period_bounds(input.period.value, input.at)
        snapshot = await rankings.publish(
            session, village.id, input.kind.value, start, end, viewer.user_id, ctx.now()
        )
        return Ranking(
            kind=input.kind, period_start=start, period_end=end, published=True,
            rows=[RankingRow(rank=r["rank"], household_number=r["number"], points=r["points"],
                             household_id=r["household_id"]) for r in snapshot.rows],
        )

    result, errs = await in_transaction(info, action)
    return RankingPayload(ranking=result, errors=errors(errs))
