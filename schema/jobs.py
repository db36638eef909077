"""GraphQL types, inputs and payloads of employment information."""

from __future__ import annotations

import enum
from datetime import date, datetime

import strawberry
from strawberry import Private, relay
from strawberry.types import Info

from identity.phones import mask_phone
from identity.viewer import ADMIN_ROLES
from jobs.errors import JobsErrorCode as DomainJobsErrorCode
from models import Employer as EmployerRow
from models import JobApplication as ApplicationRow
from models import JobPosting as PostingRow
from models import LabourProfile as ProfileRow
from models import ReturnReport as ReturnRow

JobsErrorCode = strawberry.enum(DomainJobsErrorCode, name="JobsErrorCode")


@strawberry.type
class JobsError:
    code: JobsErrorCode
    field: str | None
    message: str


@strawberry.enum
class EmployerKind(enum.Enum):
    BUSINESS = "business"
    COOPERATIVE = "cooperative"
    FARM = "farm"
    PUBLIC_POST = "public_post"


@strawberry.enum
class PayUnit(enum.Enum):
    MONTH = "month"
    DAY = "day"
    PIECE = "piece"


@strawberry.enum
class PostingStatus(enum.Enum):
    DRAFT = "draft"
    OPEN = "open"
    FILLED = "filled"
    CLOSED = "closed"


@strawberry.enum
class LabourStatus(enum.Enum):
    WORKING_LOCALLY = "working_locally"
    WORKING_AWAY = "working_away"
    LOOKING = "looking"
    UNABLE = "unable"
    STUDENT = "student"
    RETIRED = "retired"


@strawberry.enum
class ApplicationStatus(enum.Enum):
    SUBMITTED = "submitted"
    CONTACTED = "contacted"
    HIRED = "hired"
    DECLINED = "declined"


@strawberry.enum
class ReturnPlan(enum.Enum):
    STAY = "stay"
    LOOK_FOR_WORK = "look_for_work"
    START_BUSINESS = "start_business"
    TEMPORARY = "temporary"


@strawberry.type
class Employer(relay.Node):
    id: relay.NodeID[int]
    name: str
    kind: EmployerKind
    contact_name: str
    address: str | None
    raw_phone: Private[str]
    scope_path: Private[str]

    @classmethod
    def from_row(cls, row: EmployerRow) -> Employer:
        return cls(id=row.id, name=row.name, kind=EmployerKind(row.kind), contact_name=row.contact_name,
                   address=row.address, raw_phone=row.contact_phone, scope_path=row.scope_path)

    @strawberry.field(description="The contact's phone: jobs are there to be called about.")
    def contact_phone(self) -> str:
        return self.raw_phone


@strawberry.type
class JobPosting(relay.Node):
    id: relay.NodeID[int]
    title: str
    category: str
    description: str
    skills: list[str]
    pay_min: int = strawberry.field(description="In yuan per `payUnit`.")
    pay_max: int
    pay_unit: PayUnit
    place: str
    headcount: int
    starts_on: date | None
    ends_on: date | None
    status: PostingStatus
    created_at: datetime
    employer_id: Private[int]

    @classmethod
    def from_row(cls, row: PostingRow) -> JobPosting:
        return cls(
            id=row.id, title=row.title, category=row.category, description=row.description,
            skills=list(row.skills), pay_min=row.pay_min, pay_max=row.pay_max, pay_unit=PayUnit(row.pay_unit),
            place=row.place, headcount=row.headcount, starts_on=row.starts_on, ends_on=row.ends_on,
            status=PostingStatus(row.status), created_at=row.created_at, employer_id=row.employer_id,
        )

    @strawberry.field
    async def employer(self, info: Info) -> Employer:
        return Employer.from_row(await info.context.loaders.employer.load(self.employer_id))


@strawberry.type
class LabourProfile:
    status: LabourStatus
    away_place: str | None
    trade: str | None
    skills: list[str]
    wanted_categories: list[str]
    available_from: date | None
    updated_at: datetime

    @classmethod
    def from_row(cls, row: ProfileRow) -> LabourProfile:
        return cls(status=LabourStatus(row.status), away_place=row.away_place, trade=row.trade,
                   skills=list(row.skills), wanted_categories=list(row.wanted_categories),
                   available_from=row.available_from, updated_at=row.updated_at)


@strawberry.type
class Seeker:
    """A resident looking for work, for an employer or admin matching a posting."""

    name: str
    fit: int = strawberry.field(description="Higher fits better: wanted category, then shared skills.")
    profile: LabourProfile
    raw_phone: Private[str | None]
    unit_path: Private[str]

    @strawberry.field(description="Masked unless the viewer administers where the seeker lives.")
    def phone(self, info: Info) -> str | None:
        if self.raw_phone is None or info.context.loaded_viewer.may(ADMIN_ROLES, self.unit_path):
            return self.raw_phone
        return mask_phone(self.raw_phone)


@strawberry.type
class JobApplication(relay.Node):
    id: relay.NodeID[int]
    status: ApplicationStatus
    note: str | None
    created_at: datetime
    updated_at: datetime
    posting_id: Private[int]

    @classmethod
    def from_row(cls, row: ApplicationRow) -> JobApplication:
        return cls(id=row.id, status=ApplicationStatus(row.status), note=row.note, created_at=row.created_at,
                   updated_at=row.updated_at, posting_id=row.posting_id)

    @strawberry.field
    async def posting(self, info: Info) -> JobPosting:
        return JobPosting.from_row(await info.context.loaders.job_posting.load(self.posting_id))


@strawberry.type
class ReturnReport(relay.Node):
    id: relay.NodeID[int]
    from_place: str
    returned_on: date
    plan: ReturnPlan
    points_awarded: int
    created_at: datetime

    @classmethod
    def from_row(cls, row: ReturnRow) -> ReturnReport:
        return cls(id=row.id, from_place=row.from_place, returned_on=row.returned_on, plan=ReturnPlan(row.plan),
                   points_awarded=row.points_awarded, created_at=row.created_at)


@strawberry.type
class EmploymentFigures:
    labour_force: int
    working_locally: int
    working_away: int
    looking: int
    employment_rate: float
    open_postings: int
    open_positions: int
    hires: int = strawberry.field(description="Hired in the period asked for.")


@strawberry.input
class CreateEmployerInput:
    scope_id: relay.GlobalID = strawberry.field(description="The village or town it is registered for.")
    name: str
    kind: EmployerKind
    contact_name: str
    contact_phone: str
    address: str | None = None


@strawberry.type
class EmployerPayload:
    employer: Employer | None
    errors: list[JobsError]


@strawberry.input
class CreateJobPostingInput:
    employer_id: relay.GlobalID
    title: str
    category: str
    description: str
    pay_min: int
    pay_max: int
    pay_unit: PayUnit
    place: str
    headcount: int
    skills: list[str] = strawberry.field(default_factory=list)
    starts_on: date | None = None
    ends_on: date | None = None
    open: bool = strawberry.field(default=False, description="Open it at once (else a draft).")


@strawberry.input
class SetJobPostingStatusInput:
    posting_id: relay.GlobalID
    status: PostingStatus


@strawberry.type
class JobPostingPayload:
    posting: JobPosting | None
    errors: list[JobsError]


@strawberry.input
class SaveLabourProfileInput:
    status: LabourStatus
    resident_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Admins recording a resident; residents omit it."
    )
    away_place: str | None = None
    trade: str | None = None
    skills: list[str] = strawberry.field(default_factory=list)
    wanted_categories: list[str] = strawberry.field(default_factory=list)
    available_from: date | None = None


@strawberry.type
class LabourProfilePayload:
    profile: LabourProfile | None
    errors: list[JobsError]


@strawberry.input
class ApplyForJobInput:
    posting_id: relay.GlobalID
    note: str | None = None


@strawberry.input
class MoveJobApplicationInput:
    application_id: relay.GlobalID
    status: ApplicationStatus


@strawberry.type
class JobApplicationPayload:
    application: JobApplication | None
    errors: list[JobsError]


@strawberry.input
class ReportReturnInput:
    from_place: str
    returned_on: date
    plan: ReturnPlan


@strawberry.type
class ReturnReportPayload:
    report: ReturnReport | None
    already_reported: bool = strawberry.field(description="This return was reported before: nothing new.")
    errors: list[JobsError]
