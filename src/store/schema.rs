// Diesel table definitions shared by both backends; keep in step with migrations/{sqlite,postgres}.

diesel::table! {
    lands (code) {
        code -> Text,
        ags_prefix -> Text,
        short_code -> Text,
        name -> Text,
    }
}

diesel::table! {
    topic_fields (slug) {
        slug -> Text,
        name -> Text,
        position -> Integer,
    }
}

diesel::table! {
    topic_field_leads (id) {
        id -> Integer,
        topic_field_slug -> Text,
        land_code -> Nullable<Text>,
        federal_ministry -> Nullable<Text>,
        source_note -> Text,
    }
}

diesel::table! {
    life_situations (id) {
        id -> Integer,
        topic_field_slug -> Text,
        name -> Text,
    }
}

diesel::table! {
    ozg_services (ozg_id) {
        ozg_id -> Text,
        name -> Text,
        topic_field_slug -> Text,
        life_situation_id -> Integer,
        federal_priority -> Text,
        priority_note -> Nullable<Text>,
    }
}

diesel::table! {
    leika_services (id) {
        id -> Integer,
        leika_key -> Nullable<Text>,
        name -> Text,
        ozg_id -> Nullable<Text>,
        typisierung -> Nullable<Text>,
    }
}

diesel::table! {
    organisations (id) {
        id -> Integer,
        slug -> Text,
        name -> Text,
        short_name -> Nullable<Text>,
        kind -> Text,
        land_code -> Nullable<Text>,
        ags -> Nullable<Text>,
        ars -> Nullable<Text>,
        district_key -> Nullable<Text>,
        parent_id -> Nullable<Integer>,
        note -> Nullable<Text>,
        version -> Integer,
        created_at -> Text,
        updated_at -> Text,
        origin -> Nullable<Text>,
    }
}

diesel::table! {
    platforms (id) {
        id -> Integer,
        slug -> Text,
        name -> Text,
        kind -> Text,
        operator_id -> Nullable<Integer>,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    projects (id) {
        id -> Integer,
        slug -> Text,
        title -> Text,
        summary -> Nullable<Text>,
        lead_land_code -> Nullable<Text>,
        delivery_model -> Text,
        phase -> Text,
        phase_before_hold -> Nullable<Text>,
        status_note -> Nullable<Text>,
        version -> Integer,
        created_at -> Text,
        updated_at -> Text,
        origin -> Nullable<Text>,
    }
}

diesel::table! {
    project_services (project_id, ozg_id) {
        project_id -> Integer,
        ozg_id -> Text,
        position -> Integer,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    project_platforms (id) {
        id -> Integer,
        project_id -> Integer,
        platform_id -> Integer,
        usage -> Text,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    project_fundings (id) {
        id -> Integer,
        project_id -> Integer,
        source -> Text,
        instrument -> Nullable<Text>,
        status -> Text,
        funder_id -> Nullable<Integer>,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    project_steps (id) {
        id -> Integer,
        project_id -> Integer,
        position -> Integer,
        title -> Text,
        description -> Nullable<Text>,
        status -> Text,
    }
}

diesel::table! {
    milestones (id) {
        id -> Integer,
        project_id -> Integer,
        title -> Text,
        phase -> Nullable<Text>,
        planned -> Nullable<Text>,
        actual -> Nullable<Text>,
        note -> Nullable<Text>,
        version -> Integer,
    }
}

diesel::table! {
    project_relations (id) {
        id -> Integer,
        from_project_id -> Integer,
        to_project_id -> Integer,
        kind -> Text,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    participations (id) {
        id -> Integer,
        project_id -> Integer,
        organisation_id -> Integer,
        role -> Text,
        status -> Text,
        since -> Nullable<Text>,
        until -> Nullable<Text>,
        note -> Nullable<Text>,
        version -> Integer,
        created_at -> Text,
        updated_at -> Text,
        origin -> Nullable<Text>,
    }
}

diesel::table! {
    calls (id) {
        id -> Integer,
        project_id -> Integer,
        issuer_id -> Integer,
        title -> Text,
        body -> Text,
        invites_reuse -> Bool,
        opened_on -> Text,
        closes_on -> Nullable<Text>,
        status -> Text,
        version -> Integer,
        origin -> Nullable<Text>,
    }
}

diesel::table! {
    call_roles (call_id, role) {
        call_id -> Integer,
        role -> Text,
        organisation_kind -> Nullable<Text>,
    }
}

diesel::table! {
    reuse_declarations (id) {
        id -> Integer,
        project_id -> Integer,
        organisation_id -> Integer,
        status -> Text,
        declared_on -> Nullable<Text>,
        planned_live -> Nullable<Text>,
        actual_live -> Nullable<Text>,
        note -> Nullable<Text>,
        version -> Integer,
        created_at -> Text,
        updated_at -> Text,
        origin -> Nullable<Text>,
    }
}

diesel::table! {
    events (id) {
        id -> Integer,
        slug -> Text,
        title -> Text,
        kind -> Text,
        held_on -> Text,
        location_id -> Nullable<Integer>,
        organiser_id -> Nullable<Integer>,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    event_projects (event_id, project_id) {
        event_id -> Integer,
        project_id -> Integer,
        outcome -> Nullable<Text>,
    }
}

diesel::table! {
    change_log (id) {
        id -> BigInt,
        at -> Text,
        actor -> Text,
        actor_role -> Text,
        actor_organisation_id -> Nullable<Integer>,
        actor_issuer -> Nullable<Text>,
        action -> Text,
        outcome -> Text,
        entity_type -> Text,
        entity_id -> Text,
        project_id -> Nullable<Integer>,
        summary -> Text,
        changes -> Text,
        personal -> Bool,
        prev_hash -> Nullable<Text>,
        hash -> Nullable<Text>,
    }
}

diesel::table! {
    audit_head (id) {
        id -> Integer,
        last_hash -> Text,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        alg -> Text,
        private_key -> Text,
        public_key -> Text,
        created_at -> Text,
    }
}

diesel::table! {
    issued_tokens (jti) {
        jti -> Text,
        subject -> Text,
        role -> Text,
        organisation_id -> Nullable<Integer>,
        scope -> Text,
        issued_at -> Text,
        expires_at -> Text,
    }
}

diesel::table! {
    revoked_tokens (jti) {
        jti -> Text,
        revoked_at -> Text,
        reason -> Nullable<Text>,
    }
}

diesel::table! {
    issuers (id) {
        id -> Integer,
        issuer -> Text,
        jwks_url -> Text,
        audience -> Text,
        algorithms -> Text,
        role_claim -> Text,
        organisation_claim -> Text,
        scope_claim -> Nullable<Text>,
        created_at -> Text,
        web_client_id -> Nullable<Text>,
        web_client_secret -> Nullable<Text>,
        display_name -> Nullable<Text>,
    }
}

diesel::table! {
    contacts (id) {
        id -> Integer,
        organisation_id -> Nullable<Integer>,
        project_id -> Nullable<Integer>,
        name -> Text,
        function -> Nullable<Text>,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        created_at -> Text,
    }
}

diesel::table! {
    newsletter_definitions (id) {
        id -> Integer,
        slug -> Text,
        title -> Text,
        topic_field_slug -> Text,
        audience -> Text,
        created_at -> Text,
        version -> Integer,
    }
}

diesel::table! {
    newsletter_editions (id) {
        id -> Integer,
        definition_id -> Integer,
        number -> Integer,
        published_at -> Text,
        since -> Nullable<Text>,
        idempotency_key -> Text,
        issue -> Text,
        body_html -> Text,
        body_markdown -> Text,
        body_text -> Text,
    }
}

diesel::table! {
    newsletter_subscribers (id) {
        id -> Integer,
        definition_id -> Integer,
        email -> Text,
        status -> Text,
        confirm_token -> Text,
        unsubscribe_token -> Text,
        created_at -> Text,
        confirmed_at -> Nullable<Text>,
    }
}

diesel::table! {
    instance_identity (id) {
        id -> Integer,
        instance_id -> Text,
        private_key -> Text,
        public_key -> Text,
        created_at -> Text,
    }
}

diesel::table! {
    peers (id) {
        id -> Integer,
        instance_id -> Text,
        base_url -> Text,
        public_key -> Text,
        feed_cursor -> BigInt,
        last_attempt_at -> Nullable<Text>,
        last_success_at -> Nullable<Text>,
        last_error -> Nullable<Text>,
        last_error_at -> Nullable<Text>,
        consecutive_failures -> Integer,
        open_until -> Nullable<Text>,
        imported -> BigInt,
        rejected_pages -> BigInt,
        last_reconcile_at -> Nullable<Text>,
        created_at -> Text,
        last_error_code -> Nullable<Text>,
    }
}

diesel::table! {
    federated_records (global_id) {
        global_id -> Text,
        origin -> Text,
        entity_type -> Text,
        local_id -> Integer,
        version -> BigInt,
        content_hash -> Text,
        orphaned_at -> Nullable<Text>,
        imported_at -> Text,
    }
}

diesel::table! {
    federated_tombstones (global_id) {
        global_id -> Text,
        origin -> Text,
        entity_type -> Text,
        version -> BigInt,
        deleted_at -> Text,
    }
}

diesel::table! {
    idempotency_keys (subject, key) {
        subject -> Text,
        key -> Text,
        request_hash -> Text,
        state -> Text,
        response -> Nullable<Text>,
        created_at -> Text,
    }
}

diesel::table! {
    sign_in_links (id) {
        id -> Text,
        subject -> Text,
        role -> Text,
        organisation_id -> Nullable<Integer>,
        scope -> Text,
        created_at -> Text,
        expires_at -> Text,
        used_at -> Nullable<Text>,
    }
}

diesel::table! {
    web_sessions (id) {
        id -> Text,
        csrf -> Text,
        subject -> Text,
        role -> Text,
        organisation_id -> Nullable<Integer>,
        scope -> Text,
        issuer -> Text,
        created_at -> Text,
        expires_at -> Text,
    }
}

diesel::table! {
    oidc_logins (id) {
        id -> Text,
        issuer -> Text,
        verifier -> Text,
        nonce -> Text,
        created_at -> Text,
        expires_at -> Text,
    }
}

diesel::joinable!(ozg_services -> topic_fields (topic_field_slug));
diesel::joinable!(ozg_services -> life_situations (life_situation_id));
diesel::joinable!(project_services -> projects (project_id));
diesel::joinable!(project_services -> ozg_services (ozg_id));
diesel::joinable!(participations -> projects (project_id));
diesel::joinable!(participations -> organisations (organisation_id));
diesel::joinable!(calls -> projects (project_id));
diesel::joinable!(call_roles -> calls (call_id));
diesel::joinable!(reuse_declarations -> projects (project_id));
diesel::joinable!(reuse_declarations -> organisations (organisation_id));

diesel::table! {
    job_leases (job) {
        job -> Text,
        holder -> Text,
        acquired_at -> Text,
        expires_at -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    lands,
    topic_fields,
    topic_field_leads,
    life_situations,
    ozg_services,
    leika_services,
    organisations,
    platforms,
    projects,
    project_services,
    project_platforms,
    project_fundings,
    project_steps,
    milestones,
    project_relations,
    participations,
    calls,
    call_roles,
    reuse_declarations,
    events,
    event_projects,
    change_log,
    federated_records,
    federated_tombstones,
    audit_head,
    signing_keys,
    issued_tokens,
    revoked_tokens,
    issuers,
    contacts,
    newsletter_definitions,
    newsletter_editions,
    newsletter_subscribers,
    idempotency_keys,
    sign_in_links,
    web_sessions,
    oidc_logins,
    job_leases,
);
