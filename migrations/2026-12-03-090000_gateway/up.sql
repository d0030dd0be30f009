-- Access decisions for LLM gateways: rate limit counters, the decisions themselves, and usage
-- records, with the two functions that take counts and budgets atomically.
--
-- Why functions: a decision locks its counters, checks them, debits a budget, counts and records
-- itself, all in one transaction. Driven from Gatehouse statement by statement, that is eight
-- round trips, each a context switch on both sides: the decision rate would be bound by them, not
-- by the work. As one function call it is one round trip. The rules that are not about atomicity
-- (which quotas apply, who pays, the order of the checks before counting) stay in the application
-- crate, which passes this function what to take.

-- The `gateway` permission.
ALTER TABLE role_permissions
    DROP CONSTRAINT role_permissions_permission_check,
    ADD CONSTRAINT role_permissions_permission_check CHECK (
        permission IN ('admin', 'create_public_collection', 'read_metric', 'provide_models', 'gateway')
    );

-- One row per holder (a user, for their role's limits; a project, for its own) and router, with
-- the counts of the current minute and of the current day. A row is reset in place when a call
-- finds its window over, so past windows leave no rows behind; rows untouched since before today
-- are swept away (`gatehouse_sweep_counters`), those of deleted users and projects with them.
-- No foreign keys: a delete of a user or project would then lock these rows after the user's or
-- project's row, the opposite of a decision's order, and could deadlock with one.
CREATE TABLE rate_counters (
    scope text NOT NULL,
    holder_id bigint NOT NULL,
    router_id bigint NOT NULL,
    minute_start timestamptz NOT NULL,
    minute_requests bigint NOT NULL DEFAULT 0,
    minute_tokens bigint NOT NULL DEFAULT 0,
    day_start timestamptz NOT NULL,
    day_requests bigint NOT NULL DEFAULT 0,
    day_tokens bigint NOT NULL DEFAULT 0,
    CONSTRAINT rate_counters_pkey PRIMARY KEY (scope, holder_id, router_id),
    CONSTRAINT rate_counters_scope_check CHECK (scope IN ('user', 'project'))
) WITH (fillfactor = 50); -- Room on each page for the next versions of its rows: updates stay HOT.

-- Every decision, allowed or refused, under the gateway's request id: asked again, it is answered
-- as the first time. A record of history: no foreign keys, so that it outlives what it names.
CREATE TABLE access_decisions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id text NOT NULL,
    -- SHA-256 of the key asked about (as api_keys.hash), to tell a retry from a reuse of the id.
    key_hash bytea NOT NULL,
    router_id bigint NOT NULL,
    outcome text NOT NULL,
    retry_after bigint,
    -- Who the key acts for (user 0: the master key); NULL for an invalid key.
    user_id bigint,
    organization_id bigint,
    project_id bigint,
    key_id bigint,
    role_id bigint,
    permissions text[] NOT NULL,
    -- What the budget that pays held after the decision; NULL for no limit.
    budget_micros bigint,
    tokens bigint NOT NULL,
    -- Whose budget pays ('user' or 'project', and its id), and what the call reserved from it.
    payer_scope text,
    payer_id bigint,
    reserved_micros bigint NOT NULL,
    -- The quotas the call was held to, as they stood after it: parallel arrays.
    quota_scopes text[] NOT NULL,
    quota_types text[] NOT NULL,
    quota_limits bigint[] NOT NULL,
    quota_used bigint[] NOT NULL,
    created timestamptz NOT NULL,
    CONSTRAINT access_decisions_request_id_key UNIQUE (request_id),
    CONSTRAINT access_decisions_outcome_check CHECK (outcome IN (
        'allowed', 'invalid_key', 'account_expired', 'router_forbidden', 'rate_limited',
        'insufficient_budget'
    )),
    CONSTRAINT access_decisions_payer_scope_check CHECK (payer_scope IN ('user', 'project')),
    CONSTRAINT access_decisions_reserved_check CHECK (reserved_micros >= 0)
);

-- What each call used and cost, once per request id.
CREATE TABLE usage_records (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id text NOT NULL,
    key_hash bytea NOT NULL,
    user_id bigint NOT NULL,
    organization_id bigint,
    project_id bigint,
    key_id bigint,
    router_id bigint NOT NULL,
    prompt_tokens bigint NOT NULL,
    completion_tokens bigint NOT NULL,
    cost_micros bigint NOT NULL,
    charged_micros bigint NOT NULL,
    overrun_micros bigint NOT NULL,
    budget_micros bigint,
    created timestamptz NOT NULL,
    CONSTRAINT usage_records_request_id_key UNIQUE (request_id),
    CONSTRAINT usage_records_tokens_check CHECK (prompt_tokens >= 0 AND completion_tokens >= 0),
    CONSTRAINT usage_records_amounts_check
        CHECK (cost_micros >= 0 AND charged_micros >= 0 AND overrun_micros >= 0)
);

-- A page of one user's, project's or organization's usage, by id (the default order), is read
-- straight from its index however many records there are; time ranges over everyone use the last.
CREATE INDEX usage_records_user_id_idx ON usage_records (user_id, id);
CREATE INDEX usage_records_project_id_idx ON usage_records (project_id, id)
    WHERE project_id IS NOT NULL;
CREATE INDEX usage_records_organization_id_idx ON usage_records (organization_id, id)
    WHERE organization_id IS NOT NULL;
CREATE INDEX usage_records_created_idx ON usage_records (created, id);

-- Records a decision under its request id, once; for a call allowed so far (`p_outcome` =
-- 'allowed'), first takes its quotas and its reservation, all or nothing. See the AccessLedger
-- port for the contract. Returns the decision, and whether it was recorded earlier.
--
-- Quotas come as parallel arrays (scope, holder, type, limit); the reservation as the payer, the
-- cost and the least the budget must hold (`p_cost` NULL: none). Windows are the caller's (its
-- clock): the minute and the day holding `p_created`.
--
-- Locks are taken in one order by every function here: the request id (an advisory lock, so that
-- a concurrent retry waits for this decision and then finds it), the counters ('project' before
-- 'user', then by id), then the payer's budget row. Concurrent calls queue; none deadlocks.
CREATE FUNCTION gatehouse_decide(
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

-- Decides several admissions in one transaction, in order, each as gatehouse_decide does, and
-- returns each decision with its ordinal (1-based). Gatehouse sends the decisions that wait at the
-- same moment as one batch: with many calls on one key, each decision locks the same counter and
-- budget rows until its commit, so one commit (and its WAL flush) per decision would bound them to
-- one key's commits per second; a batch shares one commit.
--
-- Admissions come as parallel arrays, one element each (permissions joined by commas); their
-- quotas as parallel arrays too, admission i's being elements p_quota_first[i] ..
-- p_quota_first[i] + p_quota_count[i] - 1.
--
-- Every lock the batch needs is taken first, in the order every transaction here takes them:
-- the request ids (by hash), the counters ('project' before 'user', then by holder and router),
-- the users that pay, the projects that pay. Two batches, or a batch and a settlement, then queue
-- on their first common row instead of deadlocking.
CREATE FUNCTION gatehouse_decide_batch(
    p_request_ids text[], p_key_hashes bytea[], p_routers bigint[], p_outcomes text[],
    p_user_ids bigint[], p_organization_ids bigint[], p_project_ids bigint[], p_key_ids bigint[],
    p_role_ids bigint[], p_permissions text[], p_budgets bigint[], p_tokens bigint[],
    p_payer_scopes text[], p_payer_ids bigint[], p_costs bigint[], p_at_leasts bigint[],
    p_quota_first int[], p_quota_count int[],
    p_quota_scopes text[], p_quota_holders bigint[], p_quota_types text[], p_quota_limits bigint[],
    p_created timestamptz[], p_minute_starts timestamptz[], p_day_starts timestamptz[]
) RETURNS TABLE (
    ordinal int, replayed boolean, id bigint, request_id text, key_hash bytea, router_id bigint,
    outcome text, retry_after bigint, user_id bigint, organization_id bigint, project_id bigint,
    key_id bigint, role_id bigint, permissions text[], budget_micros bigint, tokens bigint,
    payer_scope text, payer_id bigint, reserved_micros bigint, quota_scopes text[],
    quota_types text[], quota_limits bigint[], quota_used bigint[], created timestamptz
)
LANGUAGE plpgsql
-- Every statement here reaches rows by their key. PL/pgSQL keeps a session's plans: one made while
-- a table was empty (a fresh database, just analyzed) would scan the whole table for ever after,
-- however large it grows. An index scan is right at any size.
SET enable_seqscan = off
AS $$
#variable_conflict use_column
DECLARE
    v_hash int;
    v_last int;
    v_scopes text[];
    v_holders bigint[];
    v_routers bigint[];
    v_minutes timestamptz[];
    v_days timestamptz[];
BEGIN
    FOR v_hash IN SELECT DISTINCT hashtext(r) FROM unnest(p_request_ids) AS r ORDER BY 1 LOOP
        PERFORM pg_advisory_xact_lock(1, v_hash);
    END LOOP;

    -- The counters of the admissions still to be checked: created if missing, then locked.
    SELECT array_agg(x.s), array_agg(x.h), array_agg(x.r), array_agg(x.m), array_agg(x.d)
    INTO v_scopes, v_holders, v_routers, v_minutes, v_days
    FROM (
        SELECT DISTINCT ON (q.s, q.h, p_routers[a.i])
            q.s, q.h, p_routers[a.i] AS r, p_minute_starts[a.i] AS m, p_day_starts[a.i] AS d
        FROM generate_subscripts(p_request_ids, 1) AS a (i)
        CROSS JOIN LATERAL unnest(
            p_quota_scopes[p_quota_first[a.i] : p_quota_first[a.i] + p_quota_count[a.i] - 1],
            p_quota_holders[p_quota_first[a.i] : p_quota_first[a.i] + p_quota_count[a.i] - 1]
        ) AS q (s, h)
        WHERE p_outcomes[a.i] = 'allowed'
        ORDER BY q.s, q.h, p_routers[a.i]
    ) AS x;
    IF v_scopes IS NOT NULL THEN
        INSERT INTO rate_counters (scope, holder_id, router_id, minute_start, day_start)
        SELECT * FROM unnest(v_scopes, v_holders, v_routers, v_minutes, v_days)
        ORDER BY 1, 2, 3
        ON CONFLICT DO NOTHING;
        PERFORM 1 FROM rate_counters c
        JOIN unnest(v_scopes, v_holders, v_routers) AS w (s, h, r)
            ON (c.scope, c.holder_id, c.router_id) = (w.s, w.h, w.r)
        ORDER BY c.scope, c.holder_id, c.router_id
        FOR UPDATE OF c;
    END IF;

    -- The budgets that pay.
    PERFORM 1 FROM users u
    WHERE u.id IN (
        SELECT p_payer_ids[a.i] FROM generate_subscripts(p_request_ids, 1) AS a (i)
        WHERE p_outcomes[a.i] = 'allowed' AND p_costs[a.i] IS NOT NULL
            AND p_payer_scopes[a.i] = 'user'
    )
    ORDER BY u.id
    FOR NO KEY UPDATE;
    PERFORM 1 FROM projects p
    WHERE p.id IN (
        SELECT p_payer_ids[a.i] FROM generate_subscripts(p_request_ids, 1) AS a (i)
        WHERE p_outcomes[a.i] = 'allowed' AND p_costs[a.i] IS NOT NULL
            AND p_payer_scopes[a.i] = 'project'
    )
    ORDER BY p.id
    FOR NO KEY UPDATE;

    FOR i IN 1 .. coalesce(cardinality(p_request_ids), 0) LOOP
        v_last := p_quota_first[i] + p_quota_count[i] - 1;
        RETURN QUERY SELECT i, d.* FROM gatehouse_decide(
            p_request_ids[i], p_key_hashes[i], p_routers[i], p_outcomes[i], p_user_ids[i],
            p_organization_ids[i], p_project_ids[i], p_key_ids[i], p_role_ids[i],
            string_to_array(p_permissions[i], ','), p_budgets[i], p_tokens[i],
            p_payer_scopes[i], p_payer_ids[i], p_costs[i], p_at_leasts[i],
            p_quota_scopes[p_quota_first[i] : v_last], p_quota_holders[p_quota_first[i] : v_last],
            p_quota_types[p_quota_first[i] : v_last], p_quota_limits[p_quota_first[i] : v_last],
            p_created[i], p_minute_starts[i], p_day_starts[i]
        ) AS d;
    END LOOP;
END;
$$;

-- Settles a call's usage, once per request id: see the AccessLedger port for the contract.
-- `p_key_hash` and `p_router` are what the gateway names (NULL: nothing); the `p_call_*`
-- parameters describe a call that was never authorized (`p_call_user_id` NULL: none given),
-- `p_call_scopes` and `p_call_holders` the counters it is held to (created if missing).
-- Returns the usage record with a status: 'recorded', 'replayed', 'not_authorized' or 'mismatch'
-- (the last two with a row of NULLs).
--
-- Locks in the order decisions take them: the request id (advisory, so that a concurrent report
-- of the same call waits and then finds this one's record), the counters, the payer's row.
CREATE FUNCTION gatehouse_settle(
    p_request_id text, p_key_hash bytea, p_router bigint,
    p_prompt_tokens bigint, p_completion_tokens bigint, p_cost bigint,
    p_created timestamptz, p_minute_start timestamptz, p_day_start timestamptz,
    p_call_key_hash bytea, p_call_router bigint, p_call_user_id bigint,
    p_call_organization_id bigint, p_call_project_id bigint, p_call_key_id bigint,
    p_call_payer_scope text, p_call_payer_id bigint, p_call_scopes text[], p_call_holders bigint[]
) RETURNS TABLE (
    status text, id bigint, request_id text, key_hash bytea, user_id bigint,
    organization_id bigint, project_id bigint, key_id bigint, router_id bigint,
    prompt_tokens bigint, completion_tokens bigint, cost_micros bigint, charged_micros bigint,
    overrun_micros bigint, budget_micros bigint, created timestamptz
)
LANGUAGE plpgsql
-- Every statement here reaches rows by their key. PL/pgSQL keeps a session's plans: one made while
-- a table was empty (a fresh database, just analyzed) would scan the whole table for ever after,
-- however large it grows. An index scan is right at any size.
SET enable_seqscan = off
AS $$
#variable_conflict use_column
DECLARE
    v_decision access_decisions;
    v_key_hash bytea;
    v_router bigint;
    v_user bigint;
    v_organization bigint;
    v_project bigint;
    v_key bigint;
    v_payer_scope text;
    v_payer bigint;
    v_reserved bigint;
    v_requests bigint;
    v_tokens bigint;
    v_difference bigint;
    v_held bigint;
    v_debit bigint;
    v_charged bigint;
    v_overrun bigint := 0;
    v_budget bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(2, hashtext(p_request_id));
    RETURN QUERY
    SELECT CASE WHEN (p_key_hash IS NULL OR p_key_hash = u.key_hash)
        AND (p_router IS NULL OR p_router = u.router_id)
        THEN 'replayed' ELSE 'mismatch' END, u.*
    FROM usage_records u WHERE u.request_id = p_request_id;
    IF FOUND THEN
        RETURN;
    END IF;

    SELECT * INTO v_decision FROM access_decisions d WHERE d.request_id = p_request_id;
    IF FOUND AND (p_key_hash <> v_decision.key_hash OR p_router <> v_decision.router_id) THEN
        RETURN QUERY SELECT 'mismatch', (NULL::usage_records).*;
        RETURN;
    END IF;
    IF FOUND AND v_decision.outcome = 'allowed' THEN
        v_key_hash := v_decision.key_hash;
        v_router := v_decision.router_id;
        v_user := v_decision.user_id;
        v_organization := v_decision.organization_id;
        v_project := v_decision.project_id;
        v_key := v_decision.key_id;
        v_payer_scope := v_decision.payer_scope;
        v_payer := v_decision.payer_id;
        v_reserved := v_decision.reserved_micros;
        -- Its request and prompt tokens were counted when it was allowed.
        v_requests := 0;
        v_tokens := greatest(p_prompt_tokens + p_completion_tokens - v_decision.tokens, 0);
    ELSIF p_call_user_id IS NOT NULL THEN
        v_key_hash := p_call_key_hash;
        v_router := p_call_router;
        v_user := p_call_user_id;
        v_organization := p_call_organization_id;
        v_project := p_call_project_id;
        v_key := p_call_key_id;
        v_payer_scope := p_call_payer_scope;
        v_payer := p_call_payer_id;
        v_reserved := 0;
        v_requests := 1;
        v_tokens := p_prompt_tokens + p_completion_tokens;
        -- Its counters may not exist yet (no call of this holder on this router was authorized
        -- today): created as a decision would, in the same order.
        INSERT INTO rate_counters (scope, holder_id, router_id, minute_start, day_start)
        SELECT q.s, q.h, v_router, p_minute_start, p_day_start
        FROM unnest(p_call_scopes, p_call_holders) AS q (s, h)
        ORDER BY q.s, q.h
        ON CONFLICT DO NOTHING;
    ELSE
        RETURN QUERY SELECT 'not_authorized', (NULL::usage_records).*;
        RETURN;
    END IF;

    -- The existing counters only: a holder without a quota on the router has none to add to.
    FOR v_held IN SELECT 1 WHERE v_project IS NOT NULL UNION ALL SELECT 2 LOOP
        UPDATE rate_counters c SET
            minute_requests = CASE WHEN c.minute_start >= p_minute_start
                THEN c.minute_requests ELSE 0 END + v_requests,
            minute_tokens = CASE WHEN c.minute_start >= p_minute_start
                THEN c.minute_tokens ELSE 0 END + v_tokens,
            minute_start = greatest(c.minute_start, p_minute_start),
            day_requests = CASE WHEN c.day_start >= p_day_start
                THEN c.day_requests ELSE 0 END + v_requests,
            day_tokens = CASE WHEN c.day_start >= p_day_start
                THEN c.day_tokens ELSE 0 END + v_tokens,
            day_start = greatest(c.day_start, p_day_start)
        WHERE c.router_id = v_router AND (
            (v_held = 1 AND c.scope = 'project' AND c.holder_id = v_project)
            OR (v_held = 2 AND c.scope = 'user' AND c.holder_id = v_user)
        );
    END LOOP;

    -- The cost replaces the reservation: a refund when lower, a debit as far as the budget goes
    -- when higher.
    v_difference := p_cost - v_reserved;
    v_charged := p_cost;
    IF v_payer_scope = 'user' THEN
        SELECT u.budget_micros INTO v_budget FROM users u WHERE u.id = v_payer FOR NO KEY UPDATE;
    ELSIF v_payer_scope = 'project' THEN
        SELECT p.budget_micros INTO v_budget FROM projects p WHERE p.id = v_payer
        FOR NO KEY UPDATE;
    END IF;
    IF v_payer_scope IS NOT NULL AND NOT FOUND THEN
        -- The payer is gone: nothing can be refunded or debited any more.
        v_charged := v_reserved;
        v_overrun := greatest(v_difference, 0);
    ELSIF v_budget IS NOT NULL THEN
        v_debit := least(v_difference, v_budget);
        v_charged := v_reserved + v_debit;
        v_overrun := v_difference - v_debit;
        IF v_debit <> 0 THEN
            v_budget := v_budget - v_debit;
            IF v_payer_scope = 'user' THEN
                UPDATE users u SET budget_micros = v_budget WHERE u.id = v_payer;
            ELSE
                UPDATE projects p SET budget_micros = v_budget WHERE p.id = v_payer;
            END IF;
        END IF;
    END IF;

    RETURN QUERY
    INSERT INTO usage_records AS u (
        request_id, key_hash, user_id, organization_id, project_id, key_id, router_id,
        prompt_tokens, completion_tokens, cost_micros, charged_micros, overrun_micros,
        budget_micros, created
    ) VALUES (
        p_request_id, v_key_hash, v_user, v_organization, v_project, v_key, v_router,
        p_prompt_tokens, p_completion_tokens, p_cost, v_charged, v_overrun, v_budget, p_created
    )
    RETURNING 'recorded', u.*;
END;
$$;
