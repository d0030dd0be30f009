ALTER TABLE projects DROP CONSTRAINT projects_budget_micros_check;
ALTER TABLE projects ALTER COLUMN budget_micros TYPE double precision
    USING budget_micros / 1000000.0;
ALTER TABLE projects RENAME COLUMN budget_micros TO budget;
ALTER TABLE projects ADD CONSTRAINT projects_budget_check
    CHECK (budget >= 0 AND budget < 'Infinity');

ALTER TABLE users DROP CONSTRAINT users_budget_micros_check;
ALTER TABLE users ALTER COLUMN budget_micros TYPE double precision
    USING budget_micros / 1000000.0;
ALTER TABLE users RENAME COLUMN budget_micros TO budget;
ALTER TABLE users ADD CONSTRAINT users_budget_check CHECK (budget >= 0 AND budget < 'Infinity');
