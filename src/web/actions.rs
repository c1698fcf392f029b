//! What the forms do. Each action turns its form into the input of a service function (the same
//! ones the GraphQL mutations call), then redirects to the page that shows the outcome.

use actix_web::{HttpRequest, HttpResponse, web};

use super::pages::{Stale, edit_page};
use super::{Form, Reply, Viewer, run_form, session_cookie};
use crate::auth::session;
use crate::domain::*;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::http::AppState;
use crate::service::{self, OrgKey};
use crate::store::{Db, read};

/// Where an action on a participation or reuse declaration returns to: the project page, or
/// "Meine Beteiligungen" when the form came from there.
fn back(form: &Form, project_slug: &str, hint: &str) -> Reply {
    match form.get("zurueck") {
        Some("meine") => Reply::Redirect(format!("/meine-beteiligungen?hinweis={hint}")),
        _ => Reply::Redirect(format!("/projekte/{project_slug}?hinweis={hint}")),
    }
}

fn own_organisation(viewer: &Viewer) -> AppResult<OrgKey> {
    let id = viewer
        .organisation_id()
        .ok_or_else(|| AppError::user(ErrorCode::Forbidden, None, "this sign-in acts for no organisation"))?;
    Ok(OrgKey::Id(id))
}

fn date(form: &Form, field: &str) -> AppResult<Option<PartialDate>> {
    form.text(field).map(|d| PartialDate::parse(&d).map_err(|e| AppError::invalid_id(field, e))).transpose()
}

fn project_slug_of(conn: &mut Db, project_id: ProjectId) -> AppResult<String> {
    Ok(read::project_by_id(conn, project_id)?.map(|p| p.slug).unwrap_or_default())
}

/// `POST /anmelden/link`: uses a sign-in link and opens a session.
pub async fn sign_in_link(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let issuer = state.auth.config().issuer.clone();
    let previous = session_cookie(&req);
    run_form(&req, &state, body, "signIn", true, move |conn, _, form| {
        let code = form.get("code").unwrap_or_default();
        let s = session::sign_in_with_link(conn, code, &issuer)?;
        // A browser signed in before gets the new session only (no two sessions in one browser).
        if let Some(old) = &previous {
            session::end(conn, old)?;
        }
        Ok(Reply::SignedIn { location: "/meine-beteiligungen?hinweis=angemeldet".into(), cookie: s.cookie })
    })
    .await
}

/// `POST /abmelden`: ends the session.
pub async fn sign_out(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let cookie = session_cookie(&req).unwrap_or_default();
    run_form(&req, &state, body, "signOut", false, move |conn, _, _| {
        session::end(conn, &cookie)?;
        Ok(Reply::SignedOut)
    })
    .await
}

/// `POST /projekte/{slug}/teilnahme`: the signed-in Kommune signs itself up (role PILOT, CORE_TEAM
/// or EXTENDED_TEAM), also as the answer to a call.
pub async fn sign_up(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let slug = path.into_inner();
    run_form(&req, &state, body, "signUp", false, move |conn, viewer, form| {
        let role = ParticipationRole::parse(form.get("role").unwrap_or_default())
            .map_err(|e| AppError::invalid_code("role", e))?;
        let input = service::SignUpInput {
            project_slug: slug.clone(),
            organisation: own_organisation(viewer)?,
            role,
            note: form.text("note"),
        };
        service::participation::sign_up(conn, &viewer.actor(), input)?;
        Ok(back(form, &slug, "teilnahme-gemeldet"))
    })
    .await
}

/// `POST /projekte/{slug}/nachnutzung`: the signed-in Kommune declares interest in reuse.
pub async fn declare_reuse(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let slug = path.into_inner();
    run_form(&req, &state, body, "declareReuse", false, move |conn, viewer, form| {
        let input = service::DeclareReuseInput {
            project_slug: slug.clone(),
            organisation: own_organisation(viewer)?,
            planned_live: date(form, "planned_live")?,
            note: form.text("note"),
        };
        service::reuse::declare_reuse(conn, &viewer.actor(), input)?;
        Ok(back(form, &slug, "nachnutzung-bekundet"))
    })
    .await
}

fn status_input(form: &Form, id: i32) -> AppResult<service::ParticipationStatusInput> {
    Ok(service::ParticipationStatusInput {
        id: id.into(),
        expected_version: form.number("version")?,
        note: form.text("note"),
    })
}

/// `POST /teilnahmen/{id}/zurueckziehen`: withdraws a participation (own organisation, or a
/// coordinator for a project in scope).
pub async fn withdraw_participation(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i32>,
    body: web::Bytes,
) -> HttpResponse {
    let id = path.into_inner();
    run_form(&req, &state, body, "withdrawParticipation", false, move |conn, viewer, form| {
        let row = service::participation::withdraw_participation(conn, &viewer.actor(), status_input(form, id)?)?;
        Ok(back(form, &project_slug_of(conn, row.project_id)?, "teilnahme-zurueckgezogen"))
    })
    .await
}

/// `POST /teilnahmen/{id}/bestaetigen`: a coordinator confirms a sign-up.
pub async fn confirm_participation(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i32>,
    body: web::Bytes,
) -> HttpResponse {
    let id = path.into_inner();
    run_form(&req, &state, body, "confirmParticipation", false, move |conn, viewer, form| {
        let row = service::participation::confirm_participation(conn, &viewer.actor(), status_input(form, id)?)?;
        Ok(back(form, &project_slug_of(conn, row.project_id)?, "teilnahme-bestaetigt"))
    })
    .await
}

/// `POST /nachnutzungen/{id}/zurueckziehen`: withdraws a reuse declaration.
pub async fn withdraw_reuse(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i32>,
    body: web::Bytes,
) -> HttpResponse {
    let id = path.into_inner();
    run_form(&req, &state, body, "withdrawReuse", false, move |conn, viewer, form| {
        let input = service::WithdrawReuseInput {
            id: id.into(),
            expected_version: form.number("version")?,
            note: form.text("note"),
        };
        let row = service::reuse::withdraw_reuse(conn, &viewer.actor(), input)?;
        Ok(back(form, &project_slug_of(conn, row.project_id)?, "nachnutzung-zurueckgezogen"))
    })
    .await
}

/// `POST /nachnutzungen/{id}/status`: moves a reuse declaration on (in talks, agreed, declined, …).
pub async fn advance_reuse(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i32>,
    body: web::Bytes,
) -> HttpResponse {
    let id = path.into_inner();
    run_form(&req, &state, body, "advanceReuse", false, move |conn, viewer, form| {
        let status = ReuseStatus::parse(form.get("status").unwrap_or_default())
            .map_err(|e| AppError::invalid_code("status", e))?;
        let input = service::AdvanceReuseInput {
            id: id.into(),
            expected_version: form.number("version")?,
            status,
            planned_live: None,
            actual_live: None,
            note: form.text("note"),
        };
        let row = service::reuse::advance_reuse(conn, &viewer.actor(), input)?;
        Ok(back(form, &project_slug_of(conn, row.project_id)?, "nachnutzung-geaendert"))
    })
    .await
}

/// Runs a project edit; if someone else changed the project meanwhile, shows the edit page again
/// with what changed and what the user sent, instead of overwriting.
fn edit(
    conn: &mut Db,
    viewer: &Viewer,
    form: &Form,
    slug: &str,
    hint: &str,
    f: impl FnOnce(&mut Db) -> AppResult<()>,
) -> AppResult<Reply> {
    match f(conn) {
        Ok(()) => Ok(Reply::Redirect(format!("/projekte/{slug}/bearbeiten?hinweis={hint}"))),
        Err(AppError::User { code: ErrorCode::Conflict, .. }) => {
            let seen = form.get("seen").and_then(|s| s.parse().ok()).unwrap_or(0);
            let reply = edit_page(conn, viewer, slug, None, Some(Stale { form: form.fields(), seen }))?;
            Ok(match reply {
                Reply::Page { template, ctx, .. } => {
                    Reply::Page { template, status: actix_web::http::StatusCode::CONFLICT, ctx }
                }
                other => other,
            })
        }
        Err(e) => Err(e),
    }
}

/// `POST /projekte/{slug}/phase`: a coordinator moves the project to an allowed next phase.
pub async fn change_phase(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let slug = path.into_inner();
    run_form(&req, &state, body, "changeProjectPhase", false, move |conn, viewer, form| {
        let phase =
            Phase::parse(form.get("phase").unwrap_or_default()).map_err(|e| AppError::invalid_code("phase", e))?;
        let input = service::ChangePhaseInput {
            slug: slug.clone(),
            expected_version: form.number("version")?,
            phase,
            merged_into: form.text("merged_into"),
            status_note: form.text("status_note"),
        };
        edit(conn, viewer, form, &slug, "phase-geaendert", |c| {
            service::projects::change_phase(c, &viewer.actor(), input).map(drop)
        })
    })
    .await
}

/// `POST /projekte/{slug}/stand`: a coordinator saves the status note (empty clears it).
pub async fn status_note(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let slug = path.into_inner();
    run_form(&req, &state, body, "updateProject", false, move |conn, viewer, form| {
        let input = service::UpdateProjectInput {
            slug: slug.clone(),
            expected_version: form.number("version")?,
            title: None,
            summary: None,
            lead_land: None,
            delivery_model: None,
            status_note: Some(form.get("status_note").unwrap_or_default().trim().to_owned()),
            ozg_ids: None,
        };
        edit(conn, viewer, form, &slug, "stand-gespeichert", |c| {
            service::projects::update_project(c, &viewer.actor(), input).map(drop)
        })
    })
    .await
}

/// `POST /projekte/{slug}/meilensteine`: a coordinator adds a milestone.
pub async fn add_milestone(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let slug = path.into_inner();
    run_form(&req, &state, body, "addMilestone", false, move |conn, viewer, form| {
        let phase =
            form.text("phase").map(|p| Phase::parse(&p).map_err(|e| AppError::invalid_code("phase", e))).transpose()?;
        let input = service::AddMilestoneInput {
            project_slug: slug.clone(),
            title: form.get("title").unwrap_or_default().to_owned(),
            phase,
            planned: date(form, "planned")?,
            actual: date(form, "actual")?,
            note: form.text("note"),
        };
        service::projects::add_milestone(conn, &viewer.actor(), input)?;
        Ok(Reply::Redirect(format!("/projekte/{slug}/bearbeiten?hinweis=meilenstein-angelegt")))
    })
    .await
}

/// `POST /projekte/{slug}/schritte`: a coordinator appends a step to the plan.
pub async fn add_step(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let slug = path.into_inner();
    run_form(&req, &state, body, "addStep", false, move |conn, viewer, form| {
        let input = service::AddStepInput {
            project_slug: slug.clone(),
            title: form.get("title").unwrap_or_default().to_owned(),
            description: form.text("description"),
            status: None,
        };
        service::projects::add_step(conn, &viewer.actor(), input)?;
        Ok(Reply::Redirect(format!("/projekte/{slug}/bearbeiten?hinweis=schritt-angelegt")))
    })
    .await
}

/// `POST /schritte/{id}/status`: a coordinator sets a step's status.
pub async fn set_step_status(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i32>,
    body: web::Bytes,
) -> HttpResponse {
    let id = path.into_inner();
    run_form(&req, &state, body, "setStepStatus", false, move |conn, viewer, form| {
        let status = StepStatus::parse(form.get("status").unwrap_or_default())
            .map_err(|e| AppError::invalid_code("status", e))?;
        let input = service::SetStepStatusInput { id: id.into(), status };
        let step = service::projects::set_step_status(conn, &viewer.actor(), input)?;
        let slug = project_slug_of(conn, step.project_id)?;
        Ok(Reply::Redirect(format!("/projekte/{slug}/bearbeiten?hinweis=schritt-gespeichert")))
    })
    .await
}

/// `POST /meilensteine/{id}/erreicht`: a coordinator marks a milestone reached (today, or the date given).
pub async fn complete_milestone(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i32>,
    body: web::Bytes,
) -> HttpResponse {
    let id = path.into_inner();
    run_form(&req, &state, body, "completeMilestone", false, move |conn, viewer, form| {
        let input = service::CompleteMilestoneInput {
            id: id.into(),
            expected_version: form.number("version")?,
            actual: date(form, "actual")?,
            note: form.text("note"),
        };
        let m = service::projects::complete_milestone(conn, &viewer.actor(), input)?;
        let slug = project_slug_of(conn, m.project_id)?;
        Ok(Reply::Redirect(format!("/projekte/{slug}/bearbeiten?hinweis=meilenstein-erreicht")))
    })
    .await
}

/// `POST /projekte/{slug}/aufrufe`: a coordinator opens a call for participation, issued by the
/// coordinator's own organisation.
pub async fn open_call(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let slug = path.into_inner();
    run_form(&req, &state, body, "openCall", false, move |conn, viewer, form| {
        let roles = form
            .all("roles")
            .into_iter()
            .map(|r| ParticipationRole::parse(r).map_err(|e| AppError::invalid_code("roles", e)))
            .collect::<AppResult<Vec<_>>>()?;
        let input = service::OpenCallInput {
            project_slug: slug.clone(),
            issuer: own_organisation(viewer)?,
            title: form.get("title").unwrap_or_default().to_owned(),
            body: form.get("body").unwrap_or_default().to_owned(),
            roles_sought: roles,
            invites_reuse: Some(form.get("invites_reuse").is_some()),
            opened_on: None,
            closes_on: date(form, "closes_on")?,
        };
        service::calls::open_call(conn, &viewer.actor(), input)?;
        Ok(Reply::Redirect(format!("/projekte/{slug}/bearbeiten?hinweis=aufruf-eroeffnet")))
    })
    .await
}

/// `POST /aufrufe/{id}/schliessen`: a coordinator closes a call.
pub async fn close_call(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i32>,
    body: web::Bytes,
) -> HttpResponse {
    let id = path.into_inner();
    run_form(&req, &state, body, "closeCall", false, move |conn, viewer, form| {
        let input = service::CloseCallInput { id: id.into(), expected_version: form.number("version")? };
        let call = service::calls::close_call(conn, &viewer.actor(), input)?;
        let slug = project_slug_of(conn, call.project_id)?;
        Ok(Reply::Redirect(format!("/projekte/{slug}/bearbeiten?hinweis=aufruf-geschlossen")))
    })
    .await
}

/// `POST /newsletter-ausgaben`: a coordinator publishes the next edition of a newsletter of a
/// Themenfeld in scope; the form's key makes a repeated submission publish once.
pub async fn publish_edition(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    run_form(&req, &state, body, "publishNewsletterEdition", false, move |conn, viewer, form| {
        let input = service::PublishEditionInput {
            definition: form.get("definition").unwrap_or_default().to_owned(),
            idempotency_key: form.get("key").unwrap_or_default().to_owned(),
        };
        service::newsletter::publish_edition(conn, &viewer.actor(), input)?;
        Ok(Reply::Redirect("/meine-beteiligungen?hinweis=ausgabe-veroeffentlicht".into()))
    })
    .await
}
