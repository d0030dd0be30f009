DROP FUNCTION gatehouse_settle(
    text, bytea, bigint, bigint, bigint, bigint, timestamptz, timestamptz, timestamptz, bytea,
    bigint, bigint, bigint, bigint, bigint, text, bigint, text[], bigint[]
);
DROP FUNCTION gatehouse_decide_batch(
    text[], bytea[], bigint[], text[], bigint[], bigint[], bigint[], bigint[], bigint[], text[],
    bigint[], bigint[], text[], bigint[], bigint[], bigint[], int[], int[], text[], bigint[],
    text[], bigint[], timestamptz[], timestamptz[], timestamptz[]
);
DROP FUNCTION gatehouse_decide(
    text, bytea, bigint, text, bigint, bigint, bigint, bigint, bigint, text[], bigint, bigint,
    text, bigint, bigint, bigint, text[], bigint[], text[], bigint[], timestamptz, timestamptz,
    timestamptz
);
DROP TABLE usage_records;
DROP TABLE access_decisions;
DROP TABLE rate_counters;

DELETE FROM role_permissions WHERE permission = 'gateway';
ALTER TABLE role_permissions
    DROP CONSTRAINT role_permissions_permission_check,
    ADD CONSTRAINT role_permissions_permission_check CHECK (
        permission IN ('admin', 'create_public_collection', 'read_metric', 'provide_models')
    );
