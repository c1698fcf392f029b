//! Contact persons: personal data, so their change-log entries carry no names for the public.

use serde_json::json;

use super::*;
use crate::auth::policy::{self, Op};
use crate::store::rows::ContactRow;
use crate::store::{auth as store, write_tx};

pub fn add_contact(conn: &mut Db, actor: &Actor, input: AddContactInput) -> AppResult<ContactRow> {
    let name = text(&input.name, "name", TITLE_MAX)?;
    let function = opt_text(input.function.as_deref(), "function", TITLE_MAX)?;
    let email = opt_text(input.email.as_deref(), "email", TITLE_MAX)?;
    if let Some(e) = &email
        && !(e.contains('@') && !e.starts_with('@') && !e.ends_with('@') && !e.contains(char::is_whitespace))
    {
        return Err(AppError::bad_input("email", "email: expected an address like name@example.org"));
    }
    let phone = opt_text(input.phone.as_deref(), "phone", 40)?;
    if let Some(p) = &phone
        && !p.chars().all(|c| c.is_ascii_digit() || " +-/()".contains(c))
    {
        return Err(AppError::bad_input("phone", "phone: digits, spaces and + - / ( ) only"));
    }
    write_tx(conn, |conn| {
        let (org, project, about) = match (&input.organisation, &input.project_slug) {
            (Some(r), None) => {
                let o = find_organisation(conn, r, "organisation")?;
                policy::require(conn, actor, Op::ManageOrganisation(&o))?;
                let about = format!("Organisation „{}“", o.name);
                (Some(o.id), None, about)
            }
            (None, Some(slug)) => {
                let p = find_project(conn, slug, "projectSlug")?;
                policy::require(conn, actor, Op::ManageProject(&p))?;
                let about = format!("Projekt „{}“", p.title);
                (None, Some(p.id), about)
            }
            _ => {
                return Err(AppError::bad_input(
                    "organisation",
                    "organisation: give exactly one of organisation and projectSlug",
                ));
            }
        };
        let at = now();
        let contact = store::insert_contact(
            conn,
            &store::NewContact {
                organisation_id: org,
                project_id: project,
                name: &name,
                function: function.as_deref(),
                email: email.as_deref(),
                phone: phone.as_deref(),
                created_at: &at.to_db(),
            },
        )?;
        record_personal(
            conn,
            actor,
            &at,
            Change {
                action: ChangeAction::Create,
                entity_type: "Contact",
                entity_id: contact.id.to_string(),
                project_id: project,
                summary: format!("Kontaktperson für {about} hinzugefügt"),
                diff: Diff::created(&[
                    ("name", json!(name)),
                    ("function", json!(function)),
                    ("email", json!(email)),
                    ("phone", json!(phone)),
                ]),
            },
        )?;
        Ok(contact)
    })
}
