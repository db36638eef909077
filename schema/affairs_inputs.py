"""Inputs and payloads of village affairs disclosure and group accounts."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry import relay

from schema.affairs import (
    AccountEntry,
    AccountStatement,
    AffairsError,
    Direction,
    Notice,
    NoticeCategory,
    NoticeRead,
    NoticeReceipt,
    Question,
)


@strawberry.input
class AttachmentInput:
    name: str
    url: str
    size: int = 0
    type: str = "application/octet-stream"


@strawberry.input
class CreateNoticeInput:
    village_id: relay.GlobalID | None = strawberry.field(
        default=None, description="May be omitted by an admin of exactly one village."
    )
    category: NoticeCategory
    title: str
    body: str
    audience_unit_ids: list[relay.GlobalID] = strawberry.field(
        description="The village (everyone) or some of its areas, groups, …"
    )
    attachments: list[AttachmentInput] = strawberry.field(default_factory=list)
    minimum_seconds: int | None = strawberry.field(
        default=None, description="Defaults to one derived from the body's length."
    )
    pinned: bool = False
    publish: bool = strawberry.field(default=False, description="Publish at once (or at `publishAt`).")
    publish_at: datetime | None = None


@strawberry.input
class ReviseNoticeInput:
    notice_id: relay.GlobalID
    title: str | None = None
    body: str | None = None
    attachments: list[AttachmentInput] | None = None
    minimum_seconds: int | None = strawberry.field(
        default=None,
        description="Omitted: an explicit minimum stays; one derived from the body follows a new body.",
    )
    reason: str | None = strawberry.field(default=None, description="Required once published; readers see it.")


@strawberry.input
class PublishNoticeInput:
    notice_id: relay.GlobalID
    publish_at: datetime | None = None


@strawberry.input
class WithdrawNoticeInput:
    notice_id: relay.GlobalID


@strawberry.type
class NoticePayload:
    notice: Notice | None
    errors: list[AffairsError]


@strawberry.input
class OpenNoticeInput:
    notice_id: relay.GlobalID


@strawberry.type
class OpenNoticePayload:
    read: NoticeRead | None
    errors: list[AffairsError]


@strawberry.input
class FinishNoticeReadInput:
    read_id: relay.GlobalID


@strawberry.type
class FinishNoticeReadPayload:
    receipt: NoticeReceipt | None
    points_awarded: int
    errors: list[AffairsError]


@strawberry.input
class AddAccountEntryInput:
    unit_id: relay.GlobalID = strawberry.field(description="A group, or the village itself.")
    date: date
    direction: Direction
    category: str
    amount_fen: int = strawberry.field(description="In fen (分): 12.50 yuan is 1250.")
    description: str
    counterparty: str | None = None
    voucher_no: str | None = None


@strawberry.type
class AccountEntryPayload:
    entry: AccountEntry | None
    errors: list[AffairsError]


@strawberry.input
class DeleteAccountEntryInput:
    entry_id: relay.GlobalID


@strawberry.type
class DeleteAccountEntryPayload:
    deleted: bool
    errors: list[AffairsError]


@strawberry.input
class PublishStatementInput:
    unit_id: relay.GlobalID
    period: str = strawberry.field(description="YYYY-MM")
    correction_reason: str | None = strawberry.field(
        default=None, description="Required to publish a month again (a correction)."
    )


@strawberry.type
class StatementPayload:
    statement: AccountStatement | None
    carried_forward: list[AccountStatement] = strawberry.field(
        description="Later published months that opened from this one, republished with the new "
        "opening balance (their entries unchanged), oldest first."
    )
    errors: list[AffairsError]


@strawberry.input
class AskQuestionInput:
    notice_id: relay.GlobalID | None = None
    statement_id: relay.GlobalID | None = None
    text: str


@strawberry.input
class AnswerQuestionInput:
    question_id: relay.GlobalID
    answer: str


@strawberry.type
class QuestionPayload:
    question: Question | None
    errors: list[AffairsError]
