"""The database itself refuses to rewrite history: a transfer never changes, except a hold leg
leaving ``pending`` once; a hold's amount and owner never change and it leaves ``pending`` once.
(On SQLite deletes stay possible, because Django's test flush deletes rows; on PostgreSQL
the flush truncates, which row triggers do not see.)"""

from django.db import migrations

PG_SQL = ["""
CREATE OR REPLACE FUNCTION ledger_transfer_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'ledger transfers are immutable: cannot delete transfer %', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.id <> OLD.id OR NEW.debit_id <> OLD.debit_id
       OR NEW.credit_id IS DISTINCT FROM OLD.credit_id OR NEW.amount <> OLD.amount
       OR NEW.kind <> OLD.kind OR NEW.hold_id IS DISTINCT FROM OLD.hold_id
       OR NEW.beneficiary_id IS DISTINCT FROM OLD.beneficiary_id
       OR NEW.idempotency_key IS DISTINCT FROM OLD.idempotency_key
       OR NEW.description <> OLD.description OR NEW.metadata::text <> OLD.metadata::text
       OR NEW.created_at <> OLD.created_at
       OR (NEW.state <> OLD.state
           AND NOT (OLD.state = 'pending' AND NEW.state IN ('posted', 'voided'))) THEN
        RAISE EXCEPTION 'ledger transfers are immutable: cannot change transfer %', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql""", """
CREATE TRIGGER ledger_transfer_guard BEFORE UPDATE OR DELETE ON ledger_transfer
    FOR EACH ROW EXECUTE FUNCTION ledger_transfer_guard()""", """
CREATE OR REPLACE FUNCTION ledger_hold_guard() RETURNS trigger AS $$
BEGIN
    IF NEW.id <> OLD.id OR NEW.user_id <> OLD.user_id OR NEW.amount <> OLD.amount
       OR NEW.from_grant <> OLD.from_grant
       OR NEW.idempotency_key IS DISTINCT FROM OLD.idempotency_key
       OR (NEW.state <> OLD.state AND OLD.state <> 'pending')
       OR (NEW.captured <> OLD.captured AND OLD.state <> 'pending') THEN
        RAISE EXCEPTION 'a closed hold cannot change: hold %', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql""", """
CREATE TRIGGER ledger_hold_guard BEFORE UPDATE ON ledger_hold
    FOR EACH ROW EXECUTE FUNCTION ledger_hold_guard()"""]

PG_REVERSE = [
    "DROP TRIGGER IF EXISTS ledger_transfer_guard ON ledger_transfer",
    "DROP FUNCTION IF EXISTS ledger_transfer_guard()",
    "DROP TRIGGER IF EXISTS ledger_hold_guard ON ledger_hold",
    "DROP FUNCTION IF EXISTS ledger_hold_guard()",
]

SQLITE_SQL = [
    """
    CREATE TRIGGER ledger_transfer_guard BEFORE UPDATE ON ledger_transfer
    WHEN NEW.id IS NOT OLD.id OR NEW.debit_id IS NOT OLD.debit_id
      OR NEW.credit_id IS NOT OLD.credit_id OR NEW.amount IS NOT OLD.amount
      OR NEW.kind IS NOT OLD.kind OR NEW.hold_id IS NOT OLD.hold_id
      OR NEW.beneficiary_id IS NOT OLD.beneficiary_id
      OR NEW.idempotency_key IS NOT OLD.idempotency_key
      OR NEW.description IS NOT OLD.description OR NEW.metadata IS NOT OLD.metadata
      OR NEW.created_at IS NOT OLD.created_at
      OR (NEW.state IS NOT OLD.state
          AND NOT (OLD.state = 'pending' AND NEW.state IN ('posted', 'voided')))
    BEGIN
        SELECT RAISE(ABORT, 'ledger transfers are immutable');
    END
    """,
    """
    CREATE TRIGGER ledger_hold_guard BEFORE UPDATE ON ledger_hold
    WHEN NEW.id IS NOT OLD.id OR NEW.user_id IS NOT OLD.user_id OR NEW.amount IS NOT OLD.amount
      OR NEW.from_grant IS NOT OLD.from_grant
      OR NEW.idempotency_key IS NOT OLD.idempotency_key
      OR (NEW.state IS NOT OLD.state AND OLD.state <> 'pending')
      OR (NEW.captured IS NOT OLD.captured AND OLD.state <> 'pending')
    BEGIN
        SELECT RAISE(ABORT, 'a closed hold cannot change');
    END
    """,
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS ledger_transfer_guard",
    "DROP TRIGGER IF EXISTS ledger_hold_guard",
]


def _run(schema_editor, statements: dict) -> None:
    for statement in statements.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement, params=None)


def forward(apps, schema_editor):
    _run(schema_editor, {"postgresql": PG_SQL, "sqlite": SQLITE_SQL})


def backward(apps, schema_editor):
    _run(schema_editor, {"postgresql": PG_REVERSE, "sqlite": SQLITE_REVERSE})


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
