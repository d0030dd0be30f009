-- Back to the decision of 2026-12-03-090000_gateway, which shows the caller's balance for a call
-- refused before any reservation.
CREATE OR REPLACE FUNCTION gatehouse_decide(
    p_request_id text, p_key_hash bytea, p_router bigint, p_outcome text,
    p_user_id bigint, p_organization_id bigint, p_project_id bigint, p_key_id bigint,
    p_role_id bigint, p_permissions text[], p_budget bigint, p_tokens bigint,
    p_payer_scope text, p_payer_id bigint, p_cost bigint, p_at_least bigint,
    p_quota_scopes text[], p_quota_holders bigint[], p_quota_types text[], p_quota_limits bigint[],
    p_created timestamptz, p_minute_start timestamptz, p_day_start timestamptz
) RETURNS TABLE (
    replayed boolean, id bigint, request_id text, key_hash bytea, router_id bigint, outcome text,
    retry_after bigint, user_id bigint, organization_id bigint, project_id bigint, key_id bigint,
    role_id bigint, permissions text[], budget_micros bigint, tokens bigint, payer_scope text,
    payer_id bigint, reserved_micros bigint, quota_scopes text[], quota_types text[],
    quota_limits bigint[], quota_used bigint[], created timestamptz
)
LANGUAGE plpgsql
-- Every statement here reaches rows by their key. PL/pgSQL keeps a session's plans: one made while
-- a table was empty (a fresh database, just analyzed) would scan the whole table for ever after,
-- however large it grows. An index scan is right at any size.
SET enable_seqscan = off
AS $$
#variable_conflict use_column
DECLARE
    v_outcome text := p_outcome;
    v_retry_after bigint;
    v_budget bigint := p_budget;
    v_reserved bigint := 0;
    v_used bigint[] := '{}';
    v_counters rate_counters[] := '{}';
    v_counter rate_counters;
    v_scope text;
    v_holder bigint;
    v_minute_live boolean;
    v_day_live boolean;
    v_amount bigint;
    v_reset timestamptz;
    v_full_until timestamptz;
    v_debited boolean := false;
    v_payer_exists boolean := true;
    v_known boolean;
BEGIN
    PERFORM pg_advisory_xact_lock(1, hashtext(p_request_id));
    RETURN QUERY SELECT true, d.* FROM access_decisions d WHERE d.request_id = p_request_id;
    IF FOUND THEN
        RETURN;
    END IF;

    IF v_outcome = 'allowed' THEN
        -- Lock this call's counters, creating those that do not exist yet.
        FOR v_scope, v_holder IN
            SELECT DISTINCT q.s, q.h FROM unnest(p_quota_scopes, p_quota_holders) AS q (s, h)
            ORDER BY q.s, q.h
        LOOP
            LOOP
                SELECT * INTO v_counter FROM rate_counters c
                WHERE c.scope = v_scope AND c.holder_id = v_holder AND c.router_id = p_router
                FOR UPDATE;
                EXIT WHEN FOUND;
                -- Absent, or swept away while this call waited for it: (re)created, then locked.
                INSERT INTO rate_counters (scope, holder_id, router_id, minute_start, day_start)
                VALUES (v_scope, v_holder, p_router, p_minute_start, p_day_start)
                ON CONFLICT DO NOTHING;
            END LOOP;
            v_counters := v_counters || v_counter;
        END LOOP;

        -- What each quota's window holds, and whether this call fits in it. A row whose window
        -- is later than the caller's (another instance's clock is ahead) counts in its own.
        FOR i IN 1 .. coalesce(cardinality(p_quota_scopes), 0) LOOP
            FOREACH v_counter IN ARRAY v_counters LOOP
                EXIT WHEN v_counter.scope = p_quota_scopes[i]
                    AND v_counter.holder_id = p_quota_holders[i];
            END LOOP;
            v_minute_live := v_counter.minute_start >= p_minute_start;
            v_day_live := v_counter.day_start >= p_day_start;
            v_used[i] := CASE p_quota_types[i]
                WHEN 'rpm' THEN CASE WHEN v_minute_live THEN v_counter.minute_requests ELSE 0 END
                WHEN 'tpm' THEN CASE WHEN v_minute_live THEN v_counter.minute_tokens ELSE 0 END
                WHEN 'rpd' THEN CASE WHEN v_day_live THEN v_counter.day_requests ELSE 0 END
                ELSE CASE WHEN v_day_live THEN v_counter.day_tokens ELSE 0 END
            END;
            v_amount := CASE WHEN p_quota_types[i] IN ('tpm', 'tpd') THEN p_tokens ELSE 1 END;
            IF v_used[i] + v_amount > p_quota_limits[i] THEN
                v_reset := CASE WHEN p_quota_types[i] IN ('rpm', 'tpm')
                    THEN greatest(v_counter.minute_start, p_minute_start) + interval '1 minute'
                    ELSE greatest(v_counter.day_start, p_day_start) + interval '1 day'
                END;
                v_full_until := greatest(v_full_until, v_reset);
            END IF;
        END LOOP;
        IF v_full_until IS NOT NULL THEN
            v_outcome := 'rate_limited';
            v_retry_after := greatest(ceil(extract(epoch FROM v_full_until - p_created)), 1);
        END IF;
    END IF;

    IF v_outcome = 'allowed' AND p_cost IS NOT NULL THEN
        -- A budget without limit (NULL) matches no row here: it is read, not written.
        IF p_payer_scope = 'user' THEN
            UPDATE users u SET budget_micros = u.budget_micros - p_cost
            WHERE u.id = p_payer_id AND u.budget_micros >= p_at_least
            RETURNING u.budget_micros INTO v_budget;
            v_debited := FOUND;
            IF NOT v_debited THEN
                SELECT u.budget_micros INTO v_budget FROM users u WHERE u.id = p_payer_id;
                v_payer_exists := FOUND;
            END IF;
        ELSE
            UPDATE projects p SET budget_micros = p.budget_micros - p_cost
            WHERE p.id = p_payer_id AND p.budget_micros >= p_at_least
            RETURNING p.budget_micros INTO v_budget;
            v_debited := FOUND;
            IF NOT v_debited THEN
                SELECT p.budget_micros INTO v_budget FROM projects p WHERE p.id = p_payer_id;
                v_payer_exists := FOUND;
            END IF;
        END IF;
        IF v_debited THEN
            v_reserved := p_cost;
        ELSIF NOT v_payer_exists THEN
            -- The key's owner or project was deleted since the key was read: so was the key.
            v_outcome := 'invalid_key';
        ELSIF v_budget IS NOT NULL THEN
            v_outcome := 'insufficient_budget';
        END IF;
    END IF;

    IF v_outcome = 'allowed' THEN
        FOREACH v_counter IN ARRAY v_counters LOOP
            -- SET reads the row as it was: a window found over restarts from zero.
            UPDATE rate_counters c SET
                minute_requests = CASE WHEN c.minute_start >= p_minute_start
                    THEN c.minute_requests ELSE 0 END + 1,
                minute_tokens = CASE WHEN c.minute_start >= p_minute_start
                    THEN c.minute_tokens ELSE 0 END + p_tokens,
                minute_start = greatest(c.minute_start, p_minute_start),
                day_requests = CASE WHEN c.day_start >= p_day_start
                    THEN c.day_requests ELSE 0 END + 1,
                day_tokens = CASE WHEN c.day_start >= p_day_start
                    THEN c.day_tokens ELSE 0 END + p_tokens,
                day_start = greatest(c.day_start, p_day_start)
            WHERE c.scope = v_counter.scope AND c.holder_id = v_counter.holder_id
                AND c.router_id = p_router;
        END LOOP;
        FOR i IN 1 .. coalesce(cardinality(p_quota_scopes), 0) LOOP
            v_used[i] := v_used[i]
                + CASE WHEN p_quota_types[i] IN ('tpm', 'tpd') THEN p_tokens ELSE 1 END;
        END LOOP;
    END IF;

    v_known := v_outcome <> 'invalid_key';
    RETURN QUERY
    INSERT INTO access_decisions AS d (
        request_id, key_hash, router_id, outcome, retry_after, user_id, organization_id,
        project_id, key_id, role_id, permissions, budget_micros, tokens, payer_scope, payer_id,
        reserved_micros, quota_scopes, quota_types, quota_limits, quota_used, created
    ) VALUES (
        p_request_id, p_key_hash, p_router, v_outcome, v_retry_after,
        CASE WHEN v_known THEN p_user_id END, CASE WHEN v_known THEN p_organization_id END,
        CASE WHEN v_known THEN p_project_id END, CASE WHEN v_known THEN p_key_id END,
        CASE WHEN v_known THEN p_role_id END,
        CASE WHEN v_known THEN p_permissions ELSE '{}' END,
        CASE WHEN v_known THEN v_budget END, p_tokens,
        CASE WHEN v_known THEN p_payer_scope END, CASE WHEN v_known THEN p_payer_id END,
        v_reserved,
        CASE WHEN v_known THEN coalesce(p_quota_scopes, '{}') ELSE '{}' END,
        CASE WHEN v_known THEN coalesce(p_quota_types, '{}') ELSE '{}' END,
        CASE WHEN v_known THEN coalesce(p_quota_limits, '{}') ELSE '{}' END,
        CASE WHEN v_known THEN v_used ELSE '{}' END,
        p_created
    )
    RETURNING false, d.*;
END;
$$;
