"""The Query and Mutation roots and the Schema."""

from __future__ import annotations

from datetime import datetime
from functools import cache

import strawberry
from strawberry import relay
from strawberry.schema.config import StrawberryConfig

from app.settings import Settings, get_settings
from resolvers import affairs, grid, identity, jobs, node, party_scoring, rewards
from resolvers import household_links as links
from resolvers import requests as resident_requests
from schema.affairs import (
    AccountEntry,
    AccountStatement,
    Notice,
    NoticeRead,
    NoticeReceipt,
    Question,
)
from schema.execution import let_siblings_settle
from schema.extensions import build_extensions
from schema.grid import Appointment, Hamlet, Household, OrgUnit, Resident, User
from schema.household_links import Visit
from schema.identity import Me
from schema.jobs import Employer, JobApplication, JobPosting, ReturnReport
from schema.requests import ResidentRequest
from schema.rewards import EarningRule, PointsClaim, PointsEntry, Redemption, RewardItem
from schema.scalars import DateTime

REWARD_TYPES = [EarningRule, PointsClaim, PointsEntry, Redemption, RewardItem]
REQUEST_TYPES = [ResidentRequest]
JOB_TYPES = [Employer, JobApplication, JobPosting, ReturnReport]
AFFAIRS_TYPES = [AccountEntry, AccountStatement, Notice, NoticeRead, NoticeReceipt, Question]


@strawberry.type
class Query:
    me: Me | None = strawberry.field(
        resolver=identity.me, description="The logged-in viewer; null without a token."
    )
    node: relay.Node = strawberry.field(
        resolver=node.node, description="Any object by id; NOT_FOUND if the viewer may not see it."
    )
    org_units: relay.Connection[OrgUnit] = strawberry.field(
        resolver=grid.org_units,
        description="Where the viewer starts browsing the grid: the units of their roles, or their village.",
    )
    org_unit: OrgUnit = strawberry.field(resolver=grid.org_unit)
    household: Household = strawberry.field(resolver=grid.household)
    resident: Resident = strawberry.field(resolver=grid.resident)
    residents: relay.Connection[Resident] = strawberry.field(
        resolver=grid.search_residents,
        description="Admins: residents below a unit, by part of the name, a phone or an ID number.",
    )

    catalog = strawberry.field(
        resolver=rewards.catalog,
        description="The points store: residents see what is on sale in their village.",
    )
    my_redemptions = strawberry.field(resolver=rewards.my_redemptions)
    redemptions = strawberry.field(
        resolver=rewards.redemptions_query, description="Store staff: a village's redemptions."
    )
    points_overview = strawberry.field(resolver=rewards.points_overview)
    points_ledger = strawberry.field(
        resolver=rewards.points_ledger,
        description="Admins: a village's ledger, by household, rule and time; newest first.",
    )
    earning_rules = strawberry.field(resolver=rewards.earning_rules)
    points_claims = strawberry.field(resolver=rewards.points_claims)
    points_policy = strawberry.field(resolver=rewards.points_policy)
    notices = strawberry.field(
        resolver=affairs.notices_query,
        description="村务公开: residents see their units' notices, pinned and newest first.",
    )
    unread_notice_count = strawberry.field(resolver=affairs.unread_notice_count)
    notice_reach = strawberry.field(resolver=affairs.notice_reach)
    unreached_households = strawberry.field(resolver=affairs.unreached_households)
    account_entries = strawberry.field(resolver=affairs.account_entries)
    statements = strawberry.field(
        resolver=affairs.statements, description="小组账务公开: published statements, every version."
    )
    verify_statements = strawberry.field(resolver=affairs.verify_statements)
    disclosure_cadence = strawberry.field(resolver=affairs.disclosure_cadence)
    job_postings = strawberry.field(resolver=jobs.job_postings)
    job_seekers = strawberry.field(resolver=jobs.seekers)
    job_applications = strawberry.field(resolver=jobs.job_applications)
    my_labour_profile = strawberry.field(resolver=jobs.my_labour_profile)
    return_reports = strawberry.field(resolver=jobs.return_reports)
    employment_figures = strawberry.field(resolver=jobs.employment_figures)
    labour_profiles = strawberry.field(
        resolver=jobs.labour_profiles, description="The people behind employmentFigures, by status."
    )
    my_requests = strawberry.field(resolver=resident_requests.my_requests)
    requests = strawberry.field(resolver=resident_requests.requests_query)
    request_figures = strawberry.field(resolver=resident_requests.request_figures)
    points_ranking = strawberry.field(
        resolver=rewards.points_ranking, description="红黑榜: live for admins, published for residents."
    )
    linked_households = strawberry.field(resolver=links.linked_households)
    household_links = strawberry.field(resolver=links.household_links)
    visits = strawberry.field(resolver=links.visits_query)
    contact_coverage = strawberry.field(resolver=links.contact_coverage)
    member_coverage = strawberry.field(resolver=links.member_coverage)
    contacts_due = strawberry.field(resolver=links.contacts_due)
    party_members = strawberry.field(resolver=links.party_members)
    party_scores = strawberry.field(resolver=party_scoring.party_scores)
    score_breakdown = strawberry.field(resolver=party_scoring.score_breakdown)
    neighbour_chief_nominees = strawberry.field(resolver=party_scoring.neighbour_chief_nominees)
    chief_honours = strawberry.field(resolver=party_scoring.chief_honours)


@strawberry.type
class Mutation:
    request_login_code = strawberry.mutation(
        resolver=identity.request_login_code,
        description="Send a one-time code by SMS (valid 5 minutes; rate-limited per phone).",
    )
    login_with_code = strawberry.mutation(resolver=identity.login_with_code)
    login_with_password = strawberry.mutation(
        resolver=identity.login_with_password, description="For staff with a password."
    )
    login_with_wechat = strawberry.mutation(
        resolver=identity.login_with_wechat,
        description="Mini-program login; the first time, bind a phone with an SMS code.",
    )
    refresh_token = strawberry.mutation(resolver=identity.refresh_token)
    logout = strawberry.mutation(
        resolver=identity.logout, description="Revoke a refresh token and every token rotated from it."
    )
    set_password = strawberry.mutation(
        resolver=identity.set_password, description="Set or change your own password (for `loginWithPassword`)."
    )

    create_village = strawberry.mutation(resolver=grid.create_village)
    set_village_levels = strawberry.mutation(resolver=grid.set_village_levels)
    create_org_unit = strawberry.mutation(resolver=grid.create_org_unit)
    update_org_unit = strawberry.mutation(resolver=grid.update_org_unit)
    create_hamlet = strawberry.mutation(resolver=grid.create_hamlet)
    create_household = strawberry.mutation(resolver=grid.create_household)
    update_household = strawberry.mutation(resolver=grid.update_household)
    create_resident = strawberry.mutation(resolver=grid.create_resident)
    update_resident = strawberry.mutation(resolver=grid.update_resident)
    move_resident = strawberry.mutation(
        resolver=grid.move_resident, description="Marriage, a split: end one membership, start another."
    )
    appoint = strawberry.mutation(
        resolver=grid.appoint, description="Appointing a chief ends the term of the chief before."
    )
    end_appointment = strawberry.mutation(resolver=grid.end_appointment)

    create_notice = strawberry.mutation(resolver=affairs.create_notice)
    revise_notice = strawberry.mutation(
        resolver=affairs.revise_notice, description="A new revision; readers see it changed, and why."
    )
    publish_notice = strawberry.mutation(resolver=affairs.publish_notice)
    withdraw_notice = strawberry.mutation(resolver=affairs.withdraw_notice)
    open_notice = strawberry.mutation(
        resolver=affairs.open_notice, description="Start reading, on the server's clock."
    )
    finish_notice_read = strawberry.mutation(
        resolver=affairs.finish_notice_read,
        description="After the minimum time: a receipt, and the reading points (once).",
    )
    add_account_entry = strawberry.mutation(resolver=affairs.add_account_entry)
    delete_account_entry = strawberry.mutation(resolver=affairs.delete_account_entry)
    publish_statement = strawberry.mutation(
        resolver=affairs.publish_statement,
        description="Freeze a month; publishing it again is a correction with a reason.",
    )
    ask_question = strawberry.mutation(resolver=affairs.ask_question)
    answer_question = strawberry.mutation(resolver=affairs.answer_question)

    create_employer = strawberry.mutation(resolver=jobs.create_employer)
    create_job_posting = strawberry.mutation(resolver=jobs.create_job_posting)
    set_job_posting_status = strawberry.mutation(resolver=jobs.set_job_posting_status)
    save_labour_profile = strawberry.mutation(resolver=jobs.save_labour_profile)
    apply_for_job = strawberry.mutation(resolver=jobs.apply_for_job)
    move_job_application = strawberry.mutation(
        resolver=jobs.move_job_application, description="Contacted, hired or declined."
    )
    report_return = strawberry.mutation(
        resolver=jobs.report_return,
        description="返乡报备: once per return; marks the household at home and awards points.",
    )

    submit_request = strawberry.mutation(
        resolver=resident_requests.submit_request, description="民情诉求: a resident, or a worker for a household."
    )
    act_on_request = strawberry.mutation(
        resolver=resident_requests.act_on_request,
        description="Accept, start, escalate, resolve, mark duplicate or add a note.",
    )
    set_request_deadline = strawberry.mutation(resolver=resident_requests.set_request_deadline)
    rate_request = strawberry.mutation(
        resolver=resident_requests.rate_request, description="The household's verdict; not satisfied reopens it."
    )

    redeem_reward = strawberry.mutation(
        resolver=rewards.redeem_reward,
        description="Spend points on an item; show the pickup code at the store.",
    )
    cancel_redemption = strawberry.mutation(resolver=rewards.cancel_redemption)
    confirm_pickup = strawberry.mutation(
        resolver=rewards.confirm_pickup, description="Store clerks: hand over goods against the code."
    )
    submit_claim = strawberry.mutation(resolver=rewards.submit_claim)
    create_reward_item = strawberry.mutation(resolver=rewards.create_reward_item)
    update_reward_item = strawberry.mutation(resolver=rewards.update_reward_item)
    adjust_stock = strawberry.mutation(resolver=rewards.adjust_stock)
    adjust_points = strawberry.mutation(resolver=rewards.adjust_points)
    reverse_award = strawberry.mutation(resolver=rewards.reverse_award)
    create_earning_rule = strawberry.mutation(resolver=rewards.create_earning_rule)
    revise_earning_rule = strawberry.mutation(
        resolver=rewards.revise_earning_rule, description="A new version; past awards keep theirs."
    )
    review_claim = strawberry.mutation(resolver=rewards.review_claim)
    set_points_policy = strawberry.mutation(resolver=rewards.set_points_policy)
    publish_ranking = strawberry.mutation(
        resolver=rewards.publish_ranking, description="Freeze a finished period's ranking for good."
    )

    link_households = strawberry.mutation(resolver=links.link_households)
    unlink_households = strawberry.mutation(resolver=links.unlink_households)
    log_visit = strawberry.mutation(resolver=links.log_visit)
    correct_visit = strawberry.mutation(resolver=links.correct_visit)
    set_scoring_weights = strawberry.mutation(resolver=party_scoring.set_scoring_weights)
    publish_scores = strawberry.mutation(resolver=party_scoring.publish_scores)
    honour_neighbour_chief = strawberry.mutation(
        resolver=party_scoring.honour_neighbour_chief,
        description="最美邻长: record a neighbour chief the village honoured for a finished quarter.",
    )


class Schema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        """Client errors are answers, not incidents; unexpected ones are logged (with the
        request id) where they are masked, in `MaskUnexpectedErrors`."""


def build_schema(settings: Settings) -> strawberry.Schema:
    let_siblings_settle()
    return Schema(
        query=Query,
        mutation=Mutation,
        types=[Appointment, Hamlet, Household, OrgUnit, Resident, User, *REWARD_TYPES, *AFFAIRS_TYPES, *REQUEST_TYPES, *JOB_TYPES, Visit],
        extensions=build_extensions(settings),
        config=StrawberryConfig(scalar_map={datetime: DateTime}),
    )


@cache
def default_schema() -> strawberry.Schema:
    return build_schema(get_settings())


def export_sdl() -> str:
    return build_schema(Settings(environment="development")).as_str() + "\n"
