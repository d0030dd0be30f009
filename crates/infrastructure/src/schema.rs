// @generated automatically by Diesel CLI.

diesel::table! {
    access_decisions (id) {
        id -> Int8,
        request_id -> Text,
        key_hash -> Bytea,
        router_id -> Int8,
        outcome -> Text,
        retry_after -> Nullable<Int8>,
        user_id -> Nullable<Int8>,
        organization_id -> Nullable<Int8>,
        project_id -> Nullable<Int8>,
        key_id -> Nullable<Int8>,
        role_id -> Nullable<Int8>,
        permissions -> Array<Text>,
        budget_micros -> Nullable<Int8>,
        tokens -> Int8,
        payer_scope -> Nullable<Text>,
        payer_id -> Nullable<Int8>,
        reserved_micros -> Int8,
        quota_scopes -> Array<Text>,
        quota_types -> Array<Text>,
        quota_limits -> Array<Int8>,
        quota_used -> Array<Int8>,
        created -> Timestamptz,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Int8,
        name -> Text,
        user_id -> Int8,
        hash -> Bytea,
        masked -> Text,
        expires -> Nullable<Timestamptz>,
        created -> Timestamptz,
        project_id -> Nullable<Int8>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Int8,
        created -> Timestamptz,
        actor_user -> Nullable<Int8>,
        actor_key -> Nullable<Int8>,
        actor_address -> Nullable<Inet>,
        request_id -> Nullable<Text>,
        action -> Text,
        entity_type -> Text,
        entity_id -> Nullable<Int8>,
        before -> Nullable<Json>,
        after -> Nullable<Json>,
    }
}

diesel::table! {
    audit_purges (day) {
        day -> Date,
        deleted -> Int8,
        ran -> Timestamptz,
    }
}

diesel::table! {
    login_failures (key) {
        key -> Bytea,
        window_start -> Timestamptz,
        failures -> Int4,
    }
}

diesel::table! {
    organizations (id) {
        id -> Int8,
        name -> Text,
        created -> Timestamptz,
        updated -> Timestamptz,
        users -> Int8,
    }
}

diesel::table! {
    pending_sign_ons (state_digest) {
        state_digest -> Bytea,
        nonce -> Text,
        verifier -> Text,
        redirect -> Text,
        expires -> Timestamptz,
    }
}

diesel::table! {
    project_limits (project_id, router_id, type_) {
        project_id -> Int8,
        router_id -> Int8,
        #[sql_name = "type"]
        type_ -> Text,
        value -> Nullable<Int8>,
    }
}

diesel::table! {
    project_members (project_id, user_id) {
        project_id -> Int8,
        user_id -> Int8,
        created -> Timestamptz,
    }
}

diesel::table! {
    projects (id) {
        id -> Int8,
        name -> Text,
        organization_id -> Int8,
        budget_micros -> Nullable<Int8>,
        created -> Timestamptz,
        updated -> Timestamptz,
    }
}

diesel::table! {
    rate_counters (scope, holder_id, router_id) {
        scope -> Text,
        holder_id -> Int8,
        router_id -> Int8,
        minute_start -> Timestamptz,
        minute_requests -> Int8,
        minute_tokens -> Int8,
        day_start -> Timestamptz,
        day_requests -> Int8,
        day_tokens -> Int8,
    }
}

diesel::table! {
    role_limits (role_id, router_id, type_) {
        role_id -> Int8,
        router_id -> Int8,
        #[sql_name = "type"]
        type_ -> Text,
        value -> Nullable<Int8>,
    }
}

diesel::table! {
    role_permissions (role_id, permission) {
        role_id -> Int8,
        permission -> Text,
    }
}

diesel::table! {
    roles (id) {
        id -> Int8,
        name -> Text,
        created -> Timestamptz,
        updated -> Timestamptz,
        users -> Int8,
    }
}

diesel::table! {
    users (id) {
        id -> Int8,
        email -> Text,
        name -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        sub -> Nullable<Text>,
        iss -> Nullable<Text>,
        role_id -> Int8,
        organization_id -> Nullable<Int8>,
        budget_micros -> Nullable<Int8>,
        expires -> Nullable<Timestamptz>,
        priority -> Int8,
        created -> Timestamptz,
        updated -> Timestamptz,
    }
}

diesel::table! {
    usage_records (id) {
        id -> Int8,
        request_id -> Text,
        key_hash -> Bytea,
        user_id -> Int8,
        organization_id -> Nullable<Int8>,
        project_id -> Nullable<Int8>,
        key_id -> Nullable<Int8>,
        router_id -> Int8,
        prompt_tokens -> Int8,
        completion_tokens -> Int8,
        cost_micros -> Int8,
        charged_micros -> Int8,
        overrun_micros -> Int8,
        budget_micros -> Nullable<Int8>,
        created -> Timestamptz,
    }
}

diesel::joinable!(api_keys -> users (user_id));
diesel::joinable!(project_limits -> projects (project_id));
diesel::joinable!(project_members -> projects (project_id));
diesel::joinable!(project_members -> users (user_id));
diesel::joinable!(projects -> organizations (organization_id));
diesel::joinable!(role_limits -> roles (role_id));
diesel::joinable!(role_permissions -> roles (role_id));
diesel::joinable!(users -> organizations (organization_id));
diesel::joinable!(users -> roles (role_id));

diesel::allow_tables_to_appear_in_same_query!(
    access_decisions,
    api_keys,
    audit_events,
    audit_purges,
    login_failures,
    organizations,
    pending_sign_ons,
    project_limits,
    project_members,
    projects,
    rate_counters,
    role_limits,
    role_permissions,
    roles,
    usage_records,
    users,
);
