//! Rules for organisations: keys that are valid, unique and consistent with their Land.

use serde_json::json;

use super::*;
use crate::auth::policy::{self, Op};
use crate::domain::Vocabulary;
use crate::store::{write, write_tx};

pub fn create_organisation(conn: &mut Db, actor: &Actor, input: CreateOrganisationInput) -> AppResult<OrganisationRow> {
    let slug = slug(&input.slug, "slug")?;
    let name = text(&input.name, "name", TITLE_MAX)?;
    let short_name = opt_text(input.short_name.as_deref(), "shortName", 40)?;
    let note = opt_text(input.note.as_deref(), "note", NOTE_MAX)?;
    if let (Some(ags), Some(ars)) = (&input.ags, &input.ars)
        && !ars.matches(ags)
    {
        return Err(AppError::bad_input("ars", format!("ars: {ars} does not denote the Gemeinde of AGS {ags}")));
    }
    if let (Some(ags), Some(key)) = (&input.ags, &input.district_key)
        && ags.district_key() != *key
    {
        return Err(AppError::bad_input("districtKey", format!("districtKey: {key} is not the Kreis of AGS {ags}")));
    }
    write_tx(conn, |conn| {
        policy::require(conn, actor, Op::ManageRegistry)?;
        let land = match input.land.as_deref() {
            Some(l) => Some(land_code(conn, l, "land")?),
            None => None,
        };
        let keyed = input.ags.is_some() || input.ars.is_some() || input.district_key.is_some();
        let Some(land_value) = land.clone().or((!keyed).then(String::new)) else {
            return Err(AppError::bad_input("land", "land: required with an AGS, ARS or Kreisschlüssel"));
        };
        let prefix = read::lands(conn)?.into_iter().find(|l| l.code == land_value).map(|l| l.ags_prefix);
        let check_prefix = |field: &str, value: &str| -> AppResult<()> {
            match &prefix {
                Some(p) if !value.starts_with(p.as_str()) => Err(AppError::bad_input(
                    field,
                    format!("{field}: {value} does not lie in {land_value} (its keys start with {p})"),
                )),
                _ => Ok(()),
            }
        };
        if let Some(a) = &input.ags {
            check_prefix("ags", a.as_str())?;
            if read::organisation_by_ags(conn, a.as_str())?.is_some() {
                return Err(AppError::already_exists(
                    "ags",
                    format!("ags: an organisation with AGS {a} exists already"),
                ));
            }
        }
        if let Some(a) = &input.ars {
            check_prefix("ars", a.as_str())?;
            if read::organisation_by_ars(conn, a.as_str())?.is_some() {
                return Err(AppError::already_exists(
                    "ars",
                    format!("ars: an organisation with ARS {a} exists already"),
                ));
            }
        }
        if let Some(k) = &input.district_key {
            check_prefix("districtKey", k.as_str())?;
        }
        let parent = input.parent.as_ref().map(|r| find_organisation(conn, r, "parent")).transpose()?;
        if read::organisation_by_slug(conn, slug.as_str())?.is_some() {
            return Err(AppError::already_exists("slug", format!("slug: an organisation {slug:?} exists already")));
        }
        let at = now();
        let ts = at.to_db();
        let created = write::insert_organisation(
            conn,
            &write::NewOrganisation {
                slug: slug.as_str(),
                name: &name,
                short_name: short_name.as_deref(),
                kind: input.kind,
                land_code: land.as_deref(),
                ags: input.ags.as_ref().map(|a| a.as_str()),
                ars: input.ars.as_ref().map(|a| a.as_str()),
                district_key: input.district_key.as_ref().map(|k| k.as_str()),
                parent_id: parent.as_ref().map(|p| p.id),
                note: note.as_deref(),
                created_at: &ts,
                updated_at: &ts,
            },
        )
        .map_err(|e| super::projects::unique_to_exists(e, "slug", "slug: the organisation exists already"))?;
        record(
            conn,
            actor,
            &at,
            Change {
                action: ChangeAction::Create,
                entity_type: "Organisation",
                entity_id: slug.to_string(),
                project_id: None,
                summary: format!("Organisation „{name}“ angelegt"),
                diff: Diff::created(&[
                    ("slug", json!(slug.as_str())),
                    ("name", json!(name)),
                    ("kind", json!(input.kind.code())),
                    ("land", json!(land)),
                    ("ags", json!(input.ags.as_ref().map(|a| a.as_str()))),
                    ("ars", json!(input.ars.as_ref().map(|a| a.as_str()))),
                    ("districtKey", json!(input.district_key.as_ref().map(|k| k.as_str()))),
                    ("parent", json!(parent.as_ref().map(|p| p.slug.clone()))),
                ]),
            },
        )?;
        Ok(created)
    })
}
