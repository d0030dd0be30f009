// @generated automatically by Diesel CLI.

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
    organizations (id) {
        id -> Int8,
        name -> Text,
        created -> Timestamptz,
        updated -> Timestamptz,
        users -> Int8,
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
        budget -> Nullable<Float8>,
        created -> Timestamptz,
        updated -> Timestamptz,
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
        budget -> Nullable<Float8>,
        expires -> Nullable<Timestamptz>,
        priority -> Int8,
        created -> Timestamptz,
        updated -> Timestamptz,
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
    api_keys,
    organizations,
    project_limits,
    project_members,
    projects,
    role_limits,
    role_permissions,
    roles,
    users,
);
