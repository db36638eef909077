"""GraphQL types of village affairs disclosure and group accounts."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private, relay
from strawberry.types import Info

from affairs.errors import AffairsErrorCode as DomainAffairsErrorCode
from affairs.questions import mask_name
from models import AccountEntry as EntryRow
from models import AccountStatement as StatementRow
from models import Notice as NoticeRow
from models import NoticeRevision as RevisionRow
from models import Question as QuestionRow

if TYPE_CHECKING:
    from schema.grid import OrgUnit

OrgUnitRef = Annotated["OrgUnit", strawberry.lazy("schema.grid")]
AffairsErrorCode = strawberry.enum(DomainAffairsErrorCode, name="AffairsErrorCode")


@strawberry.type
class AffairsError:
    code: AffairsErrorCode
    field: str | None
    message: str


@strawberry.enum
class NoticeCategory(enum.Enum):
    PARTY_AFFAIRS = "party_affairs"
    VILLAGE_AFFAIRS = "village_affairs"
    FINANCE = "finance"
    POLICY = "policy"
    OTHER = "other"


@strawberry.enum
class NoticeStatus(enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


@strawberry.enum
class Direction(enum.Enum):
    INCOME = "income"
    EXPENSE = "expense"


@strawberry.enum
class DisclosureKind(enum.Enum):
    NOTICE = "notice"
    FINANCE = "finance"


@strawberry.type
class Attachment:
    name: str
    url: str
    size: int
    type: str


@strawberry.type
class NoticeRevision:
    revision: int
    title: str
    body: str
    attachments: list[Attachment]
    minimum_seconds: int
    change_reason: str | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: RevisionRow) -> NoticeRevision:
        return cls(
            revision=row.revision, title=row.title, body=row.body,
            attachments=[Attachment(**a) for a in row.attachments],
            minimum_seconds=row.min_read_seconds, change_reason=row.change_reason,
            created_at=row.created_at,
        )


@strawberry.type
class Notice(relay.Node):
    """村务公开: a notice; its title and body are the current revision's."""

    id: relay.NodeID[int]
    category: NoticeCategory
    status: NoticeStatus
    pinned: bool
    published_at: datetime | None
    withdrawn_at: datetime | None
    current: Private[RevisionRow]
    manageable: Private[bool]

    @classmethod
    def from_rows(cls, row: NoticeRow, current: RevisionRow, manageable: bool = False) -> Notice:
        return cls(
            id=row.id, category=NoticeCategory(row.category), status=NoticeStatus(row.status),
            pinned=row.pinned, published_at=row.published_at, withdrawn_at=row.withdrawn_at,
            current=current, manageable=manageable,
        )

    @strawberry.field
    def title(self) -> str:
        return self.current.title

    @strawberry.field
    def body(self) -> str:
        return self.current.body

    @strawberry.field
    def attachments(self) -> list[Attachment]:
        return [Attachment(**a) for a in self.current.attachments]

    @strawberry.field(description="Reading for at least this long earns the reading points.")
    def minimum_seconds(self) -> int:
        return self.current.min_read_seconds

    @strawberry.field
    def revision(self) -> int:
        return self.current.revision

    @strawberry.field(description="Changed after publication: see `changeReason` and `revisions`.")
    def revised(self) -> bool:
        return (
            self.published_at is not None and self.current.revision > 1
            and self.current.created_at > self.published_at
        )

    @strawberry.field
    def change_reason(self) -> str | None:
        return self.current.change_reason

    @strawberry.field
    def updated_at(self) -> datetime:
        return self.current.created_at

    @strawberry.field(description="Has the viewer read it effectively?")
    async def read(self, info: Info) -> bool:
        resident_id = info.context.loaded_viewer.resident_id
        if resident_id is None:
            return False
        return await info.context.loaders.notice_read.load((self.id, resident_id))

    @strawberry.field(description="Every revision since publication, oldest first (admins also see drafts).")
    async def revisions(self, info: Info) -> list[NoticeRevision]:
        rows = await info.context.loaders.notice_revisions.load(self.id)
        if not self.manageable:
            # what was written before publication stays between the editors: the first
            # revision residents see is the one that was published
            before = [r for r in rows if self.published_at is None or r.created_at <= self.published_at]
            rows = before[-1:] + [r for r in rows if r not in before]
        return [NoticeRevision.from_row(r) for r in rows]

    @strawberry.field(description="The units whose residents it is published to.")
    async def audience(self, info: Info) -> list[OrgUnitRef]:
        from schema.grid import OrgUnit

        ids = await info.context.loaders.notice_audience.load(self.id)
        return [OrgUnit.from_row(u) for u in await info.context.loaders.unit.load_many(ids) if u]

    @strawberry.field(description="Questions and answers, oldest first.")
    async def questions(self, info: Info) -> list[Question]:
        return [Question.from_rows(q, name) for q, name in await info.context.loaders.notice_questions.load(self.id)]


@strawberry.type
class NoticeRead(relay.Node):
    id: relay.NodeID[int]
    started_at: datetime
    minimum_seconds: int


@strawberry.type
class NoticeReceipt(relay.Node):
    id: relay.NodeID[int]
    seconds: int
    read_at: datetime


@strawberry.type(
    description="Households counted where they are placed now: one that moved out of the audience "
    "leaves the figures, one that moved in counts as not yet reached."
)
class UnitReach:
    unit: OrgUnitRef
    audience_households: int
    reached_households: int = strawberry.field(description="Audience households of which someone has read it.")
    rate: float = strawberry.field(description="Reached over audience households (0 to 1).")


@strawberry.type
class NoticeReach:
    total: UnitReach
    units: list[UnitReach] = strawberry.field(description="The units one level below.")


@strawberry.type
class Question(relay.Node):
    id: relay.NodeID[int]
    text: str
    asker_name: str = strawberry.field(description="Masked: 李**.")
    asked_at: datetime
    answer: str | None
    answered_at: datetime | None

    @classmethod
    def from_rows(cls, row: QuestionRow, asker: str) -> Question:
        return cls(
            id=row.id, text=row.text, asker_name=mask_name(asker), asked_at=row.asked_at,
            answer=row.answer, answered_at=row.answered_at,
        )


@strawberry.type
class AccountEntry(relay.Node):
    """One income or expense in the working draft of a month (amounts in fen)."""

    id: relay.NodeID[int]
    date: date
    direction: Direction
    category: str
    amount_fen: int
    counterparty: str | None
    description: str
    voucher_no: str | None

    @classmethod
    def from_row(cls, row: EntryRow) -> AccountEntry:
        return cls(
            id=row.id, date=row.entry_date, direction=Direction(row.direction), category=row.category,
            amount_fen=row.amount_fen, counterparty=row.counterparty, description=row.description,
            voucher_no=row.voucher_no,
        )


@strawberry.type
class CategoryTotal:
    direction: Direction
    category: str
    amount_fen: int


@strawberry.type
class StatementEntry:
    date: str
    direction: Direction
    category: str
    amount_fen: int
    counterparty: str | None
    description: str
    voucher_no: str | None


@strawberry.type
class AccountStatement(relay.Node):
    """A published month of a unit's accounts, frozen. A correction is a later version."""

    id: relay.NodeID[int]
    period: str
    version: int
    opening_balance_fen: int
    income_fen: int
    expense_fen: int
    closing_balance_fen: int
    by_category: list[CategoryTotal]
    entries: list[StatementEntry]
    digest: str = strawberry.field(description="SHA-256 of the content, chained to the previous statement's digest.")
    previous_digest: str | None
    correction_reason: str | None
    published_at: datetime
    unit_id: Private[int]

    @classmethod
    def from_row(cls, row: StatementRow) -> AccountStatement:
        c = row.content
        return cls(
            id=row.id, period=row.period, version=row.version,
            opening_balance_fen=c["opening_balance_fen"], income_fen=c["income_fen"],
            expense_fen=c["expense_fen"], closing_balance_fen=c["closing_balance_fen"],
            by_category=[CategoryTotal(direction=Direction(t["direction"]), category=t["category"],
                                       amount_fen=t["amount_fen"]) for t in c["by_category"]],
            entries=[StatementEntry(direction=Direction(e.pop("direction")), **e) for e in
                     (dict(e) for e in c["entries"])],
            digest=row.digest, previous_digest=row.previous_digest,
            correction_reason=row.correction_reason, published_at=row.published_at, unit_id=row.unit_id,
        )

    @strawberry.field
    async def unit(self, info: Info) -> OrgUnitRef:
        from schema.grid import OrgUnit

        return OrgUnit.from_row(await info.context.loaders.unit.load(self.unit_id))

    @strawberry.field
    async def questions(self, info: Info) -> list[Question]:
        rows = await info.context.loaders.statement_questions.load(self.id)
        return [Question.from_rows(q, name) for q, name in rows]


@strawberry.type
class BrokenStatement:
    statement_id: relay.GlobalID
    period: str
    version: int
    problem: str


@strawberry.type
class OverdueDisclosure:
    unit: OrgUnitRef
    kind: DisclosureKind
    last: str | None = strawberry.field(description="The last notice's date or statement's period.")
    due: str
