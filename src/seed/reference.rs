//! The reference data: Länder, Themenfelder, OZG-Leistungen, LeiKa-Leistungen, Kreise, leads and
//! federal priorities, each imported once from its file.

use std::collections::HashMap;

use super::*;
use crate::domain::*;
use crate::error::AppResult;
use crate::service::{Change, Diff, record};
use crate::store::{read, write};

impl Seeder<'_> {
    pub(super) fn lands(&mut self, lands: &LandsFile) -> AppResult<()> {
        let have: Vec<String> = read::lands(self.conn)?.into_iter().map(|l| l.code).collect();
        let mut n = 0;
        for l in &lands.land {
            if !have.contains(&l.code) {
                write::insert_land(self.conn, &l.code, &l.short, &l.ags_prefix, &l.name)?;
                n += 1;
            }
        }
        self.import_entry("Land", n, "lands.toml")?;
        self.report.add("lands", n);
        // Each Land is also an organisation (it leads projects, declares reuse, issues calls).
        let mut orgs = 0;
        for l in &lands.land {
            if read::land_organisation(self.conn, &l.code)?.is_none() {
                let slug = format!("land-{}", l.short.to_lowercase());
                let ts = self.at.to_db();
                write::insert_organisation(
                    self.conn,
                    &write::NewOrganisation {
                        slug: &slug,
                        name: &format!("Land {}", l.name),
                        short_name: Some(&l.short),
                        kind: OrganisationKind::Land,
                        land_code: Some(&l.code),
                        ags: None,
                        ars: None,
                        district_key: None,
                        parent_id: None,
                        note: None,
                        created_at: &ts,
                        updated_at: &ts,
                    },
                )?;
                orgs += 1;
            }
        }
        self.import_entry("Organisation", orgs, "lands.toml (Länder als Organisationen)")?;
        self.report.add("land organisations", orgs);
        Ok(())
    }

    pub(super) fn topic_fields(&mut self, t: &TopicFieldsFile) -> AppResult<()> {
        let have: Vec<String> = read::topic_fields(self.conn)?.into_iter().map(|t| t.slug).collect();
        let mut n = 0;
        for (i, tf) in t.topic_field.iter().enumerate() {
            if !have.contains(&tf.slug) {
                write::insert_topic_field(self.conn, &tf.slug, &tf.name, i as i32 + 1)?;
                n += 1;
            }
        }
        self.import_entry("TopicField", n, "reference/ozg-themenfelder.csv")?;
        self.report.add("topic fields", n);
        Ok(())
    }

    pub(super) fn services(&mut self, rows: &[ServiceCsv]) -> AppResult<()> {
        let topics: HashMap<String, String> =
            read::topic_fields(self.conn)?.into_iter().map(|t| (t.name, t.slug)).collect();
        let existing: std::collections::HashSet<String> = {
            let f = read::ServiceFilter::default();
            read::ozg_services_rows(self.conn, &f, 0, i64::MAX)?.into_iter().map(|r| r.ozg_id).collect()
        };
        let slugs: Vec<String> = topics.values().cloned().collect();
        let mut situations: HashMap<(String, String), LifeSituationId> =
            read::life_situations_by_topic(self.conn, &slugs)?
                .into_iter()
                .map(|l| ((l.topic_field_slug, l.name), l.id))
                .collect();
        let file = self.dir.join("reference/ozg-leistungen.csv");
        let (mut n, mut ls) = (0, 0);
        for r in rows {
            if existing.contains(r.ozg_id.as_str()) {
                continue;
            }
            let id = OzgId::parse(&r.ozg_id).map_err(|e| seed_error(&file, e))?;
            let topic = topics
                .get(r.themenfeld.trim())
                .ok_or_else(|| seed_error(&file, format!("unknown Themenfeld {:?}", r.themenfeld)))?;
            let key = (topic.clone(), r.lage.trim().to_owned());
            let situation = match situations.get(&key) {
                Some(id) => *id,
                None => {
                    let id = write::insert_life_situation(self.conn, topic, &key.1)?;
                    situations.insert(key, id);
                    ls += 1;
                    id
                }
            };
            write::insert_ozg_service(self.conn, id.as_str(), r.name.trim(), topic, situation)?;
            n += 1;
        }
        self.import_entry("LifeSituation", ls, "reference/ozg-leistungen.csv")?;
        self.import_entry("OzgService", n, "reference/ozg-leistungen.csv")?;
        self.report.add("life situations", ls);
        self.report.add("OZG services", n);
        Ok(())
    }

    pub(super) fn leika(&mut self, rows: &[LeikaCsv]) -> AppResult<()> {
        let file = self.dir.join("reference/leika-leistungen.csv");
        // Reference rows are immutable here: import the file once, when the table is empty.
        if read::leika_count(self.conn)? > 0 {
            self.report.add("LeiKa services", 0);
            return Ok(());
        }
        // `OzgService.leikaServices` returns at most this many (its cost is priced by it).
        let max = crate::graphql::limits::MAX_LEIKA_PER_SERVICE as usize;
        let mut per_service: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for r in rows.iter().filter(|r| !r.ozg_id.trim().is_empty()) {
            let n = per_service.entry(r.ozg_id.trim()).or_default();
            *n += 1;
            if *n > max {
                return Err(seed_error(
                    &file,
                    format!(
                        "OZG-ID {} has more than {max} LeiKa-Leistungen; at most {max} are allowed",
                        r.ozg_id.trim()
                    ),
                ));
            }
        }
        let (mut n, mut skipped) = (0, 0);
        for r in rows {
            let key = match r.leika_key.trim() {
                "nicht im LeiKa" => None,
                k => match LeikaKey::parse(k) {
                    Ok(k) => Some(k),
                    Err(e) => {
                        // The source dump holds a few test rows ("Test 124") with malformed keys.
                        tracing::warn!(file = %file.display(), name = r.name.as_str(), "seed: skipped a row: {e}");
                        skipped += 1;
                        continue;
                    }
                },
            };
            let ozg = r.ozg_id.trim();
            let ozg = if ozg.is_empty() { None } else { Some(ozg) };
            let typ = r.typisierung.trim();
            write::insert_leika_service(
                self.conn,
                key.as_ref().map(|k| k.as_str()),
                r.name.trim(),
                ozg,
                (!typ.is_empty()).then_some(typ),
            )?;
            n += 1;
        }
        self.import_entry("LeikaService", n, "reference/leika-leistungen.csv")?;
        self.report.add("LeiKa services", n);
        self.report.add("LeiKa rows skipped as malformed", skipped);
        Ok(())
    }

    pub(super) fn districts(&mut self, rows: &[DistrictCsv]) -> AppResult<()> {
        let file = self.dir.join("reference/de-districts-2018.csv");
        let lands = read::lands(self.conn)?;
        let mut n = 0;
        let mut slugs_taken = std::collections::HashSet::new();
        for r in rows {
            let key = DistrictKey::parse(r.ags.trim()).map_err(|e| seed_error(&file, e))?;
            let land = lands
                .iter()
                .find(|l| l.ags_prefix == key.land_prefix())
                .ok_or_else(|| seed_error(&file, format!("no Land for {key}")))?;
            let city = matches!(r.kind.trim(), "Kreisfreie Stadt" | "Stadtkreis");
            let (kind, ags, ars) = if city {
                (OrganisationKind::Municipality, Some(format!("{key}000")), Some(format!("{key}0000000")))
            } else {
                (OrganisationKind::District, None, None)
            };
            let base = r.name.split(',').next().unwrap_or(&r.name).trim();
            let name = match (city, r.kind.trim()) {
                (true, _) => format!("Stadt {base}"),
                (false, "Kreis") if !base.contains("Kreis") && !base.starts_with("Städteregion") => {
                    format!("Kreis {base}")
                }
                (false, "Landkreis") => format!("Landkreis {base}"),
                _ => base.to_owned(),
            };
            let mut slug = Slug::from_text(&name).to_string();
            if !slugs_taken.insert(slug.clone())
                || read::organisation_by_slug(self.conn, &slug)?
                    .is_some_and(|o| o.district_key.as_deref() != Some(key.as_str()))
            {
                slug = format!("{slug}-{key}");
                slugs_taken.insert(slug.clone());
            }
            if read::district_by_key(self.conn, key.as_str())?.is_some() {
                continue;
            }
            let ts = self.at.to_db();
            write::insert_organisation(
                self.conn,
                &write::NewOrganisation {
                    slug: &slug,
                    name: &name,
                    short_name: None,
                    kind,
                    land_code: Some(&land.code),
                    ags: ags.as_deref(),
                    ars: ars.as_deref(),
                    district_key: Some(key.as_str()),
                    parent_id: None,
                    note: None,
                    created_at: &ts,
                    updated_at: &ts,
                },
            )?;
            n += 1;
        }
        self.import_entry("Organisation", n, "reference/de-districts-2018.csv")?;
        self.report.add("districts", n);
        Ok(())
    }

    pub(super) fn leads(&mut self, f: &LeadsFile) -> AppResult<()> {
        let file = self.dir.join("topic-field-leads.toml");
        let topics = read::topic_fields(self.conn)?;
        let slugs: Vec<String> = topics.iter().map(|t| t.slug.clone()).collect();
        let existing = read::topic_field_leads(self.conn, &slugs)?;
        let mut n = 0;
        for l in &f.lead {
            let t = topics
                .iter()
                .find(|t| t.name == l.topic_field)
                .ok_or_else(|| seed_error(&file, format!("unknown topic field {:?}", l.topic_field)))?;
            if existing.iter().any(|e| {
                e.topic_field_slug == t.slug && e.land_code == l.land && e.federal_ministry == l.federal_ministry
            }) {
                continue;
            }
            write::insert_topic_field_lead(
                self.conn,
                &t.slug,
                l.land.as_deref(),
                l.federal_ministry.as_deref(),
                &l.source,
            )?;
            n += 1;
        }
        self.import_entry("TopicFieldLead", n, "topic-field-leads.toml")?;
        self.report.add("topic field leads", n);
        Ok(())
    }

    pub(super) fn priorities(&mut self, f: &PrioritiesFile) -> AppResult<()> {
        let file = self.dir.join("service-priorities.toml");
        let mut n = 0;
        for s in &f.service {
            let p: FederalPriority = parse(&file, &s.federal_priority)?;
            let current = read::ozg_services_by_ids(self.conn, std::slice::from_ref(&s.ozg_id))?;
            let cur = current.first().ok_or_else(|| seed_error(&file, format!("unknown OZG-ID {}", s.ozg_id)))?;
            if cur.federal_priority == p && cur.priority_note == s.note {
                continue;
            }
            write::set_service_priority(self.conn, &s.ozg_id, p, s.note.as_deref())?;
            let mut diff = Diff::default();
            diff.set("federalPriority", cur.federal_priority, p);
            diff.set("priorityNote", cur.priority_note.clone(), s.note.clone());
            record(
                self.conn,
                self.actor,
                &self.at,
                Change {
                    action: ChangeAction::Update,
                    entity_type: "OzgService",
                    entity_id: s.ozg_id.clone(),
                    project_id: None,
                    summary: format!("OZG-Leistung „{}“: {}", cur.name, p.label()),
                    diff,
                },
            )?;
            n += 1;
        }
        self.report.add("service priorities", n);
        Ok(())
    }
}
