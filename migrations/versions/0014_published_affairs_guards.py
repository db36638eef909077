"""Published affairs kept by PostgreSQL, not only by the service: a notice only moves
draft → published → withdrawn (its village, category, author and times fixed once set),
its audience is fixed once it leaves draft, and a question is answered once, its text
and asker never changing. Neither notices nor questions are deleted.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUARD_NOTICE = """
CREATE FUNCTION guard_notice() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'notices cannot be deleted (withdraw one instead)';
    END IF;
    IF (NEW.id, NEW.village_id, NEW.category, NEW.created_by_id, NEW.created_at)
       IS DISTINCT FROM (OLD.id, OLD.village_id, OLD.category, OLD.created_by_id, OLD.created_at) THEN
        RAISE EXCEPTION 'notice %: its village, category and author are fixed', OLD.id;
    END IF;
    IF NEW.status = OLD.status THEN
        IF (NEW.published_at, NEW.withdrawn_at) IS DISTINCT FROM (OLD.published_at, OLD.withdrawn_at) THEN
            RAISE EXCEPTION 'notice %: its publication times change only with its status', OLD.id;
        END IF;
    ELSIF NOT ((OLD.status = 'draft' AND NEW.status = 'published' AND NEW.published_at IS NOT NULL
                AND NEW.withdrawn_at IS NULL)
            OR (OLD.status = 'published' AND NEW.status = 'withdrawn' AND NEW.withdrawn_at IS NOT NULL
                AND NEW.published_at IS NOT DISTINCT FROM OLD.published_at)) THEN
        RAISE EXCEPTION 'notice %: % cannot become %', OLD.id, OLD.status, NEW.status;
    END IF;
    RETURN NEW;
END $$"""

GUARD_NOTICE_AUDIENCE = """
CREATE FUNCTION guard_notice_audience() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    notice_status text;
BEGIN
    SELECT status INTO notice_status FROM notices
     WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.notice_id ELSE NEW.notice_id END;
    IF notice_status IS DISTINCT FROM 'draft' OR (TG_OP = 'UPDATE' AND NEW.notice_id <> OLD.notice_id) THEN
        RAISE EXCEPTION 'the audience of a notice is fixed once it is published';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$"""

GUARD_QUESTION = """
CREATE FUNCTION guard_question() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'questions cannot be deleted';
    END IF;
    IF (NEW.id, NEW.village_id, NEW.notice_id, NEW.statement_id, NEW.resident_id, NEW.text, NEW.asked_at)
       IS DISTINCT FROM (OLD.id, OLD.village_id, OLD.notice_id, OLD.statement_id, OLD.resident_id, OLD.text,
                         OLD.asked_at)
       OR OLD.answer IS NOT NULL OR NEW.answer IS NULL OR NEW.answered_at IS NULL THEN
        RAISE EXCEPTION 'question %: only answered, once', OLD.id;
    END IF;
    RETURN NEW;
END $$"""

# (trigger, table, events, function)
TRIGGERS = [
    ("notices_lifecycle", "notices", "UPDATE OR DELETE", "guard_notice"),
    ("notice_audiences_fixed", "notice_audiences", "INSERT OR UPDATE OR DELETE", "guard_notice_audience"),
    ("questions_answered_once", "questions", "UPDATE OR DELETE", "guard_question"),
]


def upgrade() -> None:
    for function in (GUARD_NOTICE, GUARD_NOTICE_AUDIENCE, GUARD_QUESTION):
        op.execute(function)
    for trigger, table, events, function in TRIGGERS:
        op.execute(f"CREATE TRIGGER {trigger} BEFORE {events} ON {table} FOR EACH ROW EXECUTE FUNCTION {function}()")


def downgrade() -> None:
    for trigger, table, _, function in TRIGGERS:
        op.execute(f"DROP TRIGGER {trigger} ON {table}")
        op.execute(f"DROP FUNCTION {function}()")
