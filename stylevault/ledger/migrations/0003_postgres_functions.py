"""PostgreSQL: reserve and capture as one server-side call each (one round trip, plans cached).

They apply a plan computed by ledger.services (which accounts, how much, to whom) with the
same rules as the portable path used on SQLite: account rows locked in id order after the
hold, conditional balance updates, a hold leaving ``pending`` exactly once.
"""

from django.db import migrations

RESERVE = """
CREATE OR REPLACE FUNCTION ledger_reserve(
    p_user bigint, p_amount bigint, p_grant_code text, p_wallet_code text,
    p_expires timestamptz, p_key text, p_fingerprint text, p_description text,
    p_metadata jsonb, p_now timestamptz
) RETURNS TABLE (status text, hold_id bigint, from_grant bigint, available bigint)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    v_grant bigint; v_wallet bigint;
    v_grant_avail bigint := 0; v_wallet_avail bigint := 0;
    v_from_grant bigint; v_from_wallet bigint; v_hold bigint;
BEGIN
    FOR r IN SELECT a.id, a.code, a.posted - a.pending AS avail FROM ledger_account a
             WHERE a.code IN (p_grant_code, p_wallet_code) ORDER BY a.id FOR NO KEY UPDATE LOOP
        IF r.code = p_grant_code THEN
            v_grant := r.id; v_grant_avail := GREATEST(r.avail, 0);
        ELSE
            v_wallet := r.id; v_wallet_avail := GREATEST(r.avail, 0);
        END IF;
    END LOOP;
    IF p_key IS NOT NULL THEN
        SELECT h.id INTO v_hold FROM ledger_hold h WHERE h.idempotency_key = p_key;
        IF FOUND THEN
            RETURN QUERY SELECT 'replay'::text, v_hold, 0::bigint, 0::bigint;
            RETURN;
        END IF;
    END IF;
    v_from_grant := LEAST(v_grant_avail, p_amount);
    v_from_wallet := p_amount - v_from_grant;
    IF v_from_wallet > v_wallet_avail THEN
        RETURN QUERY SELECT 'insufficient'::text, NULL::bigint, 0::bigint,
            v_grant_avail + v_wallet_avail;
        RETURN;
    END IF;
    INSERT INTO ledger_hold (user_id, amount, state, captured, from_grant, expires_at,
                             idempotency_key, fingerprint, description, metadata, created_at)
    VALUES (p_user, p_amount, 'pending', 0, v_from_grant, p_expires, p_key, p_fingerprint,
            p_description, p_metadata, p_now)
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id INTO v_hold;
    IF v_hold IS NULL THEN
        SELECT h.id INTO v_hold FROM ledger_hold h WHERE h.idempotency_key = p_key;
        RETURN QUERY SELECT 'replay'::text, v_hold, 0::bigint, 0::bigint;
        RETURN;
    END IF;
    IF v_from_grant > 0 THEN
        INSERT INTO ledger_transfer (debit_id, credit_id, amount, kind, state, hold_id,
                                     beneficiary_id, idempotency_key, description, metadata,
                                     created_at)
        VALUES (v_grant, NULL, v_from_grant, 'hold', 'pending', v_hold, NULL, NULL,
                p_description, '{}'::jsonb, p_now);
        UPDATE ledger_account SET pending = pending + v_from_grant
        WHERE id = v_grant AND posted >= pending + v_from_grant;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'insufficient credits' USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    IF v_from_wallet > 0 THEN
        INSERT INTO ledger_transfer (debit_id, credit_id, amount, kind, state, hold_id,
                                     beneficiary_id, idempotency_key, description, metadata,
                                     created_at)
        VALUES (v_wallet, NULL, v_from_wallet, 'hold', 'pending', v_hold, NULL, NULL,
                p_description, '{}'::jsonb, p_now);
        UPDATE ledger_account SET pending = pending + v_from_wallet
        WHERE id = v_wallet AND (allow_negative OR posted >= pending + v_from_wallet);
        IF NOT FOUND THEN
            RAISE EXCEPTION 'insufficient credits' USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN QUERY SELECT 'ok'::text, v_hold, v_from_grant, 0::bigint;
END
$$
"""

CAPTURE = """
CREATE OR REPLACE FUNCTION ledger_capture(
    p_hold bigint, p_amount bigint, p_from_grant bigint, p_captured bigint, p_now timestamptz,
    p_grant_code text, p_wallet_code text,
    p_src text[], p_to text[], p_to_kind text[], p_to_owner bigint[], p_amounts bigint[],
    p_kinds text[], p_beneficiaries bigint[], p_description text
) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    v_grant bigint; v_wallet bigint;
    v_from_wallet bigint := p_amount - p_from_grant;
    v_spent_grant bigint; v_spent_wallet bigint;
    v_expected integer; v_changed integer;
BEGIN
    UPDATE ledger_hold SET state = 'captured', captured = p_captured, closed_at = p_now
    WHERE id = p_hold AND state = 'pending' AND amount = p_amount
      AND from_grant = p_from_grant AND p_captured <= amount;
    IF NOT FOUND THEN
        RETURN 'closed';
    END IF;
    -- open the destinations used for the first time (in code order), then lock in id order
    IF (SELECT count(*) FROM ledger_account WHERE code = ANY(p_to))
       < (SELECT count(DISTINCT c) FROM unnest(p_to) AS c) THEN
        INSERT INTO ledger_account (code, kind, owner_id, allow_negative, posted, pending,
                                    created_at)
        SELECT DISTINCT ON (t.code) t.code, t.kind, t.owner, false, 0, 0, p_now
        FROM unnest(p_to, p_to_kind, p_to_owner) AS t(code, kind, owner)
        ORDER BY t.code
        ON CONFLICT (code) DO NOTHING;
    END IF;
    FOR r IN SELECT a.id, a.code FROM ledger_account a
             WHERE a.code = ANY(p_to) OR a.code IN (p_grant_code, p_wallet_code)
             ORDER BY a.id FOR NO KEY UPDATE LOOP
        IF r.code = p_grant_code THEN v_grant := r.id; END IF;
        IF r.code = p_wallet_code THEN v_wallet := r.id; END IF;
    END LOOP;
    UPDATE ledger_transfer SET state = 'posted'
    WHERE hold_id = p_hold AND state = 'pending';
    SELECT COALESCE(sum(s.amount) FILTER (WHERE s.src = 'grant'), 0),
           COALESCE(sum(s.amount) FILTER (WHERE s.src = 'wallet'), 0)
    INTO v_spent_grant, v_spent_wallet
    FROM unnest(p_src, p_amounts) AS s(src, amount);
    IF v_spent_grant + v_spent_wallet <> p_captured OR v_spent_grant > p_from_grant
       OR v_spent_wallet > v_from_wallet THEN
        RAISE EXCEPTION 'capture plan does not match hold %', p_hold
            USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO ledger_transfer (debit_id, credit_id, amount, kind, state, hold_id,
                                 beneficiary_id, idempotency_key, description, metadata,
                                 created_at)
    SELECT CASE WHEN s.src = 'grant' THEN v_grant ELSE v_wallet END, a.id, s.amount, s.kind,
           'posted', p_hold, s.beneficiary, NULL, p_description, '{}'::jsonb, p_now
    FROM unnest(p_src, p_to, p_amounts, p_kinds, p_beneficiaries)
         WITH ORDINALITY AS s(src, code, amount, kind, beneficiary, n)
    JOIN ledger_account a ON a.code = s.code
    ORDER BY s.n;
    WITH d(id, dp, dq) AS (
        SELECT v_grant, -v_spent_grant, -p_from_grant WHERE p_from_grant > 0
        UNION ALL SELECT v_wallet, -v_spent_wallet, -v_from_wallet WHERE v_from_wallet > 0
        UNION ALL SELECT a.id, s.amount, 0::bigint
            FROM unnest(p_to, p_amounts) AS s(code, amount) JOIN ledger_account a ON a.code = s.code
    ), agg AS (
        SELECT id, sum(dp)::bigint AS dp, sum(dq)::bigint AS dq FROM d GROUP BY id
    )
    UPDATE ledger_account a SET posted = a.posted + agg.dp, pending = a.pending + agg.dq
    FROM agg
    WHERE a.id = agg.id AND (a.allow_negative OR a.posted + agg.dp >= a.pending + agg.dq);
    GET DIAGNOSTICS v_changed = ROW_COUNT;
    v_expected := (p_from_grant > 0)::int + (v_from_wallet > 0)::int
                  + (SELECT count(DISTINCT c) FROM unnest(p_to) AS c);
    IF v_changed <> v_expected THEN
        RAISE EXCEPTION 'insufficient credits' USING ERRCODE = 'check_violation';
    END IF;
    RETURN 'ok';
END
$$
"""

DROP = [
    "DROP FUNCTION IF EXISTS ledger_reserve(bigint, bigint, text, text, timestamptz, text, "
    "text, text, jsonb, timestamptz)",
    "DROP FUNCTION IF EXISTS ledger_capture(bigint, bigint, bigint, bigint, timestamptz, text, "
    "text, text[], text[], text[], bigint[], bigint[], text[], bigint[], text)",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(RESERVE, params=None)
        schema_editor.execute(CAPTURE, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_immutable_transfers")]

    operations = [migrations.RunPython(forward, backward)]
