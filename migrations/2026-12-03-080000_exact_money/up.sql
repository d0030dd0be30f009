-- Budgets are exact to the millionth: whole numbers of millionths (`budget_micros`), so that a
-- budget of 0.3 charged 0.1 twice holds exactly 0.1, and concurrent debits add up exactly.
--
-- Existing budgets are converted as a client wrote them: a double's cast to numeric keeps its 15
-- significant digits (0.30000000000000004 reads as 0.3), then rounds to the nearest millionth.
-- Budgets above the largest a client may set now (a trillion) are capped there; no budget (NULL)
-- stays none (least() would skip the NULL).
ALTER TABLE users DROP CONSTRAINT users_budget_check;
ALTER TABLE users RENAME COLUMN budget TO budget_micros;
ALTER TABLE users ALTER COLUMN budget_micros TYPE bigint
    USING CASE WHEN budget_micros IS NOT NULL
        THEN round(least(budget_micros::numeric, 1000000000000) * 1000000)::bigint END;
ALTER TABLE users ADD CONSTRAINT users_budget_micros_check CHECK (budget_micros >= 0);

ALTER TABLE projects DROP CONSTRAINT projects_budget_check;
ALTER TABLE projects RENAME COLUMN budget TO budget_micros;
ALTER TABLE projects ALTER COLUMN budget_micros TYPE bigint
    USING CASE WHEN budget_micros IS NOT NULL
        THEN round(least(budget_micros::numeric, 1000000000000) * 1000000)::bigint END;
ALTER TABLE projects ADD CONSTRAINT projects_budget_micros_check CHECK (budget_micros >= 0);
