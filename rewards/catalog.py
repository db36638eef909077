"""The points store's catalog: items, their stock and every movement of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import RewardItem, StockMovement
from models.rewards import PERIODS
from rewards import idempotency
from rewards.errors import RewardsError, RewardsErrorCode, invalid, not_found

MAX_PRICE = 1_000_000
MAX_STOCK = 1_000_000
ADJUST_STOCK = "adjustStock"
CREATE_ITEM = "createRewardItem"


@dataclass
class ItemTerms:
    name: str
    points_price: int
    description: str | None = None
    image_url: str | None = None
    category: str | None = None
    limit_quantity: int | None = None
    limit_period: str | None = None
    active_from: datetime | None = None
    active_to: datetime | None = None
    enabled: bool = True


def check_terms(terms: ItemTerms) -> None:
    name = (terms.name or "").strip()
    if not name or len(name) > 100:
        raise invalid("商品名称不能为空且不超过100字", "name")
    terms.name = name
    if not 1 <= terms.points_price <= MAX_PRICE:
        raise invalid(f"兑换积分为1到{MAX_PRICE}", "pointsPrice")
    if terms.description is not None and len(terms.description) > 2000:
        raise invalid("描述不超过2000字", "description")
    if terms.image_url is not None and (len(terms.image_url) > 500 or not terms.image_url.startswith(("https://", "http://"))):
        raise invalid("图片地址须为http(s)链接，不超过500字符", "imageUrl")
    if terms.category is not None and len(terms.category) > 50:
        raise invalid("分类不超过50字", "category")
    if (terms.limit_quantity is None) != (terms.limit_period is None):
        raise invalid("限购数量与周期须同时填写", "limitQuantity")
    if terms.limit_period is not None and terms.limit_period not in PERIODS:
        raise invalid("限购周期不正确", "limitPeriod")
    if terms.limit_quantity is not None and not 1 <= terms.limit_quantity <= 1000:
        raise invalid("限购数量为1到1000", "limitQuantity")
    if terms.active_from and terms.active_to and terms.active_to <= terms.active_from:
        raise invalid("下架时间须晚于上架时间", "activeTo")


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        raise invalid("请填写原因（不超过200字）", "reason")
    return reason


async def create_item(
    session: AsyncSession, village_id: int, terms: ItemTerms, stock: int, actor_user_id: int,
    now: datetime, idempotency_key: str | None = None,
) -> RewardItem:
    """A new item with its opening stock. With a key, a retry returns the item the first
    request created instead of putting a second one (and its stock) on the shelf."""
    check_terms(terms)
    if not 0 <= stock <= MAX_STOCK:
        raise invalid(f"库存为0到{MAX_STOCK}", "stock")
    request = idempotency.keyed(actor_user_id, CREATE_ITEM, idempotency_key, optional=True,
                                village_id=village_id, stock=stock, **vars(terms))
    earlier = await request.replay(session)
    if earlier is not None:
        return await session.get(RewardItem, earlier.result_id)
    item = RewardItem(village_id=village_id, stock_available=stock, created_at=now, **vars(terms))
    session.add(item)
    await session.flush()
    if stock:
        session.add(
            StockMovement(
                village_id=village_id, item_id=item.id, kind="receive", delta_available=stock,
                reason="上架入库", actor_user_id=actor_user_id, created_at=now,
            )
        )
        await session.flush()
    await request.remember(session, item.id)
    return item


_LOCK_ITEM = (
    select(RewardItem).where(RewardItem.id == bindparam("item_id")).with_for_update()
    .execution_options(populate_existing=True)
)


async def lock_item(session: AsyncSession, village_id: int, item_id: int) -> RewardItem:
    item = await session.scalar(_LOCK_ITEM, {"item_id": item_id})
    if item is None or item.village_id != village_id:
        raise not_found("商品", "itemId")
    return item


async def update_item(session: AsyncSession, item: RewardItem, changes: dict) -> RewardItem:
    terms = ItemTerms(**{k: getattr(item, k) for k in ItemTerms.__dataclass_fields__})
    for key, value in changes.items():
        setattr(terms, key, value)
    check_terms(terms)
    for key, value in vars(terms).items():
        setattr(item, key, value)
    await session.flush()
    return item


async def adjust_stock(
    session: AsyncSession, item: RewardItem, delta: int, reason: str, actor_user_id: int,
    now: datetime, idempotency_key: str | None = None,
) -> RewardItem:
    """Goods received (+) or written off (−), with a reason. Reserved goods are untouched.
    Call with the item locked (`lock_item`); with a key, a retry changes nothing again."""
    reason = _reason(reason)
    if delta == 0 or abs(delta) > MAX_STOCK:
        raise invalid(f"调整数量不能为0，绝对值不超过{MAX_STOCK}", "delta")
    request = idempotency.keyed(actor_user_id, ADJUST_STOCK, idempotency_key, optional=True,
                                item_id=item.id, delta=delta, reason=reason)
    if await request.replay(session) is not None:
        return item
    await request.remember(session, item.id)
    if item.stock_available + delta < 0:
        raise RewardsError(RewardsErrorCode.OUT_OF_STOCK, f"可用库存只有{item.stock_available}", field="delta")
    if item.stock_available + delta > MAX_STOCK:  # the shelf's ceiling, as for a new item
        raise invalid(f"库存不超过{MAX_STOCK}（现有{item.stock_available}）", "delta")
    item.stock_available += delta
    session.add(
        StockMovement(
            village_id=item.village_id, item_id=item.id, kind="receive" if delta > 0 else "adjust",
            delta_available=delta, reason=reason, actor_user_id=actor_user_id, created_at=now,
        )
    )
    await session.flush()
    return item


def is_on_sale(item: RewardItem, now: datetime) -> bool:
    return (
        item.enabled
        and (item.active_from is None or item.active_from <= now)
        and (item.active_to is None or now < item.active_to)
    )
