//! Every mutation × every role: allowed where the rules table says so, FORBIDDEN (or UNAUTHENTICATED)
//! elsewhere, and a refused attempt writes nothing but its DENIED entry.

use serde_json::{Value, json};

use crate::helpers::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum R {
    Anonymous,
    /// Municipality token of Dortmund (the organisation the cases act for).
    Dortmund,
    /// Municipality token of Essen (another Kommune).
    Essen,
    /// Coordinator of KDN scoped to Ein- & Auswanderung.
    CoordinatorEa,
    /// Coordinator scoped to Familie & Kind.
    CoordinatorOther,
    Admin,
}

const ROLES: [R; 6] = [R::Anonymous, R::Dortmund, R::Essen, R::CoordinatorEa, R::CoordinatorOther, R::Admin];
const PROJECT_STAFF: &[R] = &[R::CoordinatorEa, R::Admin];
const FOR_DORTMUND: &[R] = &[R::Dortmund, R::CoordinatorEa, R::Admin];

async fn token(app: &TestApp, r: R) -> Option<String> {
    let args: &[&str] = match r {
        R::Anonymous => return None,
        R::Dortmund => &["--role", "municipality", "--org", "ags:05913000"],
        R::Essen => &["--role", "municipality", "--org", "ags:05113000"],
        R::CoordinatorEa => &["--role", "coordinator", "--org", "kdn", "--scope", "topic:ein_auswanderung"],
        R::CoordinatorOther => &["--role", "coordinator", "--org", "kdn", "--scope", "topic:familie_kind"],
        R::Admin => return Some(app.admin.clone()),
    };
    Some(app.token(args).await)
}

fn id_of(v: &Value, path: &[&str]) -> Value {
    let mut x = v;
    for p in path {
        x = &x[*p];
    }
    assert!(x.is_string(), "setup failed: {v}");
    x.clone()
}

const DORTMUND: &str = "05913000";

/// One case: the mutation, its input (after admin setup), and who may run it.
async fn case(app: &TestApp, name: &str) -> (String, Value, &'static [R]) {
    let mutation = |field: &str, input_type: &str| {
        format!("mutation($i: {input_type}!) {{ {field}(input: $i) {{ userErrors {{ code field message }} }} }}")
    };
    let dortmund = json!({ "ags": DORTMUND });
    let version = app.project_version("einbuergerung").await;
    match name {
        "createProject" => (
            mutation("createProject", "CreateProjectInput"),
            json!({ "slug": "visa", "title": "Visaerteilung", "leadLand": "DE-NW", "deliveryModel": "UNDECIDED", "ozgIds": ["10274"] }),
            PROJECT_STAFF,
        ),
        "updateProject" => (
            mutation("updateProject", "UpdateProjectInput"),
            json!({ "slug": "einbuergerung", "expectedVersion": version, "statusNote": "neu" }),
            PROJECT_STAFF,
        ),
        "changeProjectPhase" => (
            mutation("changeProjectPhase", "ChangePhaseInput"),
            json!({ "slug": "einbuergerung", "expectedVersion": version, "phase": "PILOT" }),
            PROJECT_STAFF,
        ),
        "addMilestone" => (
            mutation("addMilestone", "AddMilestoneInput"),
            json!({ "projectSlug": "einbuergerung", "title": "Go-live", "planned": "2031" }),
            PROJECT_STAFF,
        ),
        "completeMilestone" => {
            let d = app
                .data(
                    "mutation { addMilestone(input: {projectSlug: \"einbuergerung\", title: \"Setup\", planned: \"2031\"}) { milestone { id } } }",
                    json!({}),
                )
                .await;
            let id = id_of(&d, &["addMilestone", "milestone", "id"]);
            (
                mutation("completeMilestone", "CompleteMilestoneInput"),
                json!({ "id": id, "expectedVersion": 1 }),
                PROJECT_STAFF,
            )
        }
        "addParticipation" => (
            mutation("addParticipation", "AddParticipationInput"),
            json!({ "projectSlug": "einbuergerung", "organisation": dortmund, "role": "DEVELOPMENT_PARTNER" }),
            PROJECT_STAFF,
        ),
        "confirmParticipation" => {
            let d = app
                .data(
                    "mutation($o: Ags!) { signUp(input: {projectSlug: \"einbuergerung\", organisation: {ags: $o}, role: EXTENDED_TEAM}) { participation { id } } }",
                    json!({ "o": DORTMUND }),
                )
                .await;
            let id = id_of(&d, &["signUp", "participation", "id"]);
            (
                mutation("confirmParticipation", "ParticipationStatusInput"),
                json!({ "id": id, "expectedVersion": 1 }),
                PROJECT_STAFF,
            )
        }
        "withdrawParticipation" => {
            let d = app
                .data(
                    "mutation($o: Ags!) { addParticipation(input: {projectSlug: \"einbuergerung\", organisation: {ags: $o}, role: MODEL_REGION}) { participation { id } } }",
                    json!({ "o": DORTMUND }),
                )
                .await;
            let id = id_of(&d, &["addParticipation", "participation", "id"]);
            (
                mutation("withdrawParticipation", "ParticipationStatusInput"),
                json!({ "id": id, "expectedVersion": 1 }),
                FOR_DORTMUND,
            )
        }
        "signUp" => (
            mutation("signUp", "SignUpInput"),
            json!({ "projectSlug": "einbuergerung", "organisation": dortmund, "role": "PILOT" }),
            FOR_DORTMUND,
        ),
        "openCall" => (
            mutation("openCall", "OpenCallInput"),
            json!({ "projectSlug": "einbuergerung", "issuer": { "slug": "kdn" }, "title": "Pilotkommunen", "body": "Gesucht", "rolesSought": ["PILOT"] }),
            PROJECT_STAFF,
        ),
        "closeCall" => {
            let d = app
                .data(
                    "mutation { openCall(input: {projectSlug: \"einbuergerung\", issuer: {slug: \"kdn\"}, title: \"Setup\", body: \"x\", rolesSought: [PILOT]}) { call { id } } }",
                    json!({}),
                )
                .await;
            let id = id_of(&d, &["openCall", "call", "id"]);
            (mutation("closeCall", "CloseCallInput"), json!({ "id": id, "expectedVersion": 1 }), PROJECT_STAFF)
        }
        "deleteCall" => {
            let d = app
                .data(
                    "mutation { openCall(input: {projectSlug: \"einbuergerung\", issuer: {slug: \"kdn\"}, title: \"Versehen\", body: \"x\", rolesSought: [PILOT]}) { call { id } } }",
                    json!({}),
                )
                .await;
            let id = id_of(&d, &["openCall", "call", "id"]);
            (mutation("deleteCall", "CloseCallInput"), json!({ "id": id, "expectedVersion": 1 }), PROJECT_STAFF)
        }
        "declareReuseInterest" => (
            mutation("declareReuseInterest", "DeclareReuseInput"),
            json!({ "projectSlug": "einbuergerung", "organisation": dortmund }),
            FOR_DORTMUND,
        ),
        "advanceReuseDeclaration" | "agreeReuseDeclaration" | "withdrawReuseDeclaration" => {
            let project = match name {
                "advanceReuseDeclaration" => "aufenthaltstitel-bb",
                "agreeReuseDeclaration" => "reiseausweis",
                _ => "verpflichtungserklaerung-he",
            };
            let d = app
                .data(
                    "mutation($p: String!, $o: Ags!) { declareReuseInterest(input: {projectSlug: $p, organisation: {ags: $o}}) { reuseDeclaration { id } } }",
                    json!({ "p": project, "o": DORTMUND }),
                )
                .await;
            let id = id_of(&d, &["declareReuseInterest", "reuseDeclaration", "id"]);
            match name {
                "advanceReuseDeclaration" => (
                    mutation("advanceReuseDeclaration", "AdvanceReuseInput"),
                    json!({ "id": id, "expectedVersion": 1, "status": "NEGOTIATING" }),
                    FOR_DORTMUND,
                ),
                "agreeReuseDeclaration" => {
                    app.data(
                        "mutation($id: ID!) { advanceReuseDeclaration(input: {id: $id, expectedVersion: 1, status: NEGOTIATING}) { userErrors { code } } }",
                        json!({ "id": id }),
                    )
                    .await;
                    (
                        mutation("advanceReuseDeclaration", "AdvanceReuseInput"),
                        json!({ "id": id, "expectedVersion": 2, "status": "AGREED" }),
                        PROJECT_STAFF,
                    )
                }
                _ => (
                    mutation("withdrawReuseDeclaration", "WithdrawReuseInput"),
                    json!({ "id": id, "expectedVersion": 1 }),
                    FOR_DORTMUND,
                ),
            }
        }
        "addProjectContact" => (
            mutation("addContact", "AddContactInput"),
            json!({ "projectSlug": "einbuergerung", "name": "Erika Mustermann", "email": "erika@example.org" }),
            PROJECT_STAFF,
        ),
        "addOrganisationContact" => (
            mutation("addContact", "AddContactInput"),
            json!({ "organisation": dortmund, "name": "Max Mustermann", "phone": "+49 231 0" }),
            &[R::Dortmund, R::Admin],
        ),
        "createOrganisation" => (
            mutation("createOrganisation", "CreateOrganisationInput"),
            json!({ "slug": "stadt-werl", "name": "Stadt Werl", "kind": "MUNICIPALITY", "land": "DE-NW", "ags": "05974044", "parent": { "slug": "kreis-soest" } }),
            &[R::Admin],
        ),
        "saveNewsletterDefinition" => (
            mutation("saveNewsletterDefinition", "SaveNewsletterDefinitionInput"),
            json!({ "slug": "ea", "title": "Newsletter", "topicField": "ein_auswanderung", "audience": "Kommunen" }),
            PROJECT_STAFF,
        ),
        "publishNewsletterEdition" => {
            app.data(
                "mutation { saveNewsletterDefinition(input: {slug: \"ea-setup\", title: \"N\", topicField: \"ein_auswanderung\", audience: \"K\"}) { userErrors { code } } }",
                json!({}),
            )
            .await;
            (
                mutation("publishNewsletterEdition", "PublishEditionInput"),
                json!({ "definition": "ea-setup", "idempotencyKey": "k" }),
                PROJECT_STAFF,
            )
        }
        other => panic!("no case {other}"),
    }
}

const CASES: [&str; 21] = [
    "saveNewsletterDefinition",
    "publishNewsletterEdition",
    "createOrganisation",
    "createProject",
    "updateProject",
    "changeProjectPhase",
    "addMilestone",
    "completeMilestone",
    "addParticipation",
    "confirmParticipation",
    "withdrawParticipation",
    "signUp",
    "openCall",
    "closeCall",
    "deleteCall",
    "declareReuseInterest",
    "advanceReuseDeclaration",
    "agreeReuseDeclaration",
    "withdrawReuseDeclaration",
    "addProjectContact",
    "addOrganisationContact",
];

async fn every_mutation_by_every_role(backend: Backend) {
    for role in ROLES {
        // A fresh database per role, so each allowed case starts from the seeded state.
        let app = TestApp::spawn(backend).await;
        let tok = token(&app, role).await;
        for name in CASES {
            let (query, input, allowed) = case(&app, name).await;
            let before = app.change_count().await;
            let v = app.gql_as(tok.as_deref(), &query, json!({ "i": input })).await;
            let field = query.split_whitespace().nth(3).unwrap().split('(').next().unwrap().to_owned();
            if allowed.contains(&role) {
                assert!(v.get("errors").is_none(), "{name} as {role:?}: {v}");
                assert_eq!(v["data"][&field]["userErrors"], json!([]), "{name} as {role:?}: {v}");
                assert!(app.change_count().await > before, "{name} as {role:?} wrote no change-log entry");
            } else {
                let code = if role == R::Anonymous {
                    v["errors"][0]["extensions"]["code"].clone()
                } else {
                    v["data"][&field]["userErrors"][0]["code"].clone()
                };
                let expected = if role == R::Anonymous { "UNAUTHENTICATED" } else { "FORBIDDEN" };
                assert_eq!(code, expected, "{name} as {role:?}: {v}");
                // Nothing but the record of the refused attempt.
                assert_eq!(app.change_count().await, before + 1, "{name} as {role:?}");
                let d = app
                    .data(
                        "{ changes(entityType: \"Denied\", first: 100) { edges { node { entityId actorRole } } } }",
                        json!({}),
                    )
                    .await;
                let last = d["changes"]["edges"].as_array().unwrap().last().unwrap()["node"].clone();
                assert_eq!(last["entityId"], field, "{name} as {role:?}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mutation_by_every_role_sqlite() {
    every_mutation_by_every_role(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mutation_by_every_role_postgres() {
    every_mutation_by_every_role(Backend::Postgres).await;
}
