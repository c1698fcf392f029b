//! The web pages over HTTP, as a browser without JavaScript uses them: pages, sign-in link, session
//! cookie, forms with CSRF tokens, and the same rules as the GraphQL API.

use std::time::Duration;

use ozg_registry::http::HttpConfig;
use serde_json::json;

use crate::helpers::{Backend, TestApp, lock_tables, run_cli, test_config};

/// A browser: keeps the session cookie (and any other cookie the site sets), sends forms like a
/// browser on the same site does.
pub struct Browser<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    cookie: Option<String>,
    others: std::collections::BTreeMap<String, String>,
}

pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
    pub headers: reqwest::header::HeaderMap,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { app, client, cookie: None, others: Default::default() }
    }

    async fn send(&mut self, r: reqwest::RequestBuilder) -> Answer {
        let mut jar: Vec<String> = self.others.iter().map(|(k, v)| format!("{k}={v}")).collect();
        jar.extend(self.cookie.iter().map(|c| format!("ozg_session={c}")));
        let r = if jar.is_empty() { r } else { r.header("cookie", jar.join("; ")) };
        let resp = r.send().await.expect("request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        for set in headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()) {
            let (name, value) = set.split(';').next().unwrap().split_once('=').unwrap();
            let value = (!value.is_empty()).then(|| value.to_owned());
            if name == "ozg_session" {
                self.cookie = value;
            } else if let Some(v) = value {
                self.others.insert(name.to_owned(), v);
            } else {
                self.others.remove(name);
            }
        }
        let location = headers.get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
        Answer { status, location, body: resp.text().await.unwrap(), headers }
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let r = self.client.get(format!("{}{}", self.app.addr, path));
        self.send(r).await
    }

    /// Posts a form as a page of this site would (Origin is the site's own).
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let r = self.client.post(format!("{}{}", self.app.addr, path)).header("origin", &self.app.addr).form(fields);
        self.send(r).await
    }

    pub async fn post_from(&mut self, origin: &str, path: &str, fields: &[(&str, &str)]) -> Answer {
        let r = self.client.post(format!("{}{}", self.app.addr, path)).header("origin", origin).form(fields);
        self.send(r).await
    }

    /// Signs in with a fresh sign-in link made by the CLI.
    pub async fn sign_in(&mut self, args: &[&str]) {
        let code = sign_in_link(self.app, args).await;
        let page = self.get(&format!("/anmelden/link?code={code}")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let done = self.post("/anmelden/link", &[("code", &code)]).await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert!(self.cookie.is_some(), "a session cookie is set");
    }

    /// The CSRF token of the session (every page of a signed-in viewer carries it).
    pub async fn csrf(&mut self) -> String {
        let page = self.get("/meine-beteiligungen").await;
        value_of(&page.body, "csrf").expect("a csrf field")
    }
}

/// The value of the first hidden field `name` in a page.
pub fn value_of(body: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker)? + marker.len();
    Some(body[start..].split('"').next()?.to_owned())
}

/// The value of hidden field `name` in the form posting to `action`.
pub fn form_value(body: &str, action: &str, name: &str) -> Option<String> {
    let start = body.find(&format!("action=\"{action}\""))?;
    let end = body[start..].find("</form>")? + start;
    value_of(&body[start..end], name)
}

/// Creates a sign-in link with the CLI and returns its code.
pub async fn sign_in_link(app: &TestApp, args: &[&str]) -> String {
    let url = app.db_url();
    let mut all = vec!["token".to_owned(), "link".to_owned()];
    all.extend(args.iter().map(|s| s.to_string()));
    let (ok, out) =
        tokio::task::spawn_blocking(move || run_cli(&url, &all.iter().map(String::as_str).collect::<Vec<_>>()))
            .await
            .unwrap();
    assert!(ok, "token link: {out}");
    let line = out.lines().find(|l| l.contains("/anmelden/link?code=")).expect("a link");
    line.split("code=").nth(1).unwrap().trim().to_owned()
}

const SOLINGEN: &[&str] = &["--org", "ags:05122000"];
const KDN: &[&str] = &["--org", "kdn", "--role", "coordinator", "--scope", "topic:ein_auswanderung"];
const PROJECT: &str = "aufenthaltstitel-nrw";

async fn participation(app: &TestApp, slug: &str, org: &str) -> Option<serde_json::Value> {
    let d = app
        .data(
            "query($s: String!) { project(slug: $s) { participations { id status role version organisation { name } } } }",
            json!({ "s": slug }),
        )
        .await;
    d["project"]["participations"].as_array().unwrap().iter().find(|p| p["organisation"]["name"] == org).cloned()
}

/// Applied change-log entries (an anonymous reader does not see refused attempts).
async fn applied_count(app: &TestApp) -> i64 {
    let d = app.gql_as(None, "{ changes(first: 1) { totalCount } }", json!({})).await;
    d["data"]["changes"]["totalCount"].as_i64().unwrap()
}

async fn public_pages(app: &TestApp) {
    let mut b = Browser::new(app);
    let start = b.get("/").await;
    assert_eq!(start.status, 200);
    assert_eq!(start.headers["content-type"], "text/html; charset=utf-8");
    assert!(start.headers["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
    assert!(start.body.contains("<html lang=\"de\">"));
    assert!(start.body.contains("href=\"/themenfelder/ein_auswanderung\""), "Themenfelder are listed");
    assert!(start.body.contains("Offene Aufrufe zur Beteiligung"));
    assert!(start.body.contains("Ergänzung des Projektteams"), "the open call of the newsletter is listed");

    let topic = b.get("/themenfelder/ein_auswanderung").await;
    assert_eq!(topic.status, 200);
    assert!(topic.body.contains(&format!("href=\"/projekte/{PROJECT}\"")));
    assert!(topic.body.contains("10255"), "its OZG-Leistungen are listed");
    let conception = b.get("/themenfelder/ein_auswanderung?phase=CONCEPTION").await;
    assert!(conception.body.contains(&format!("<th scope=\"row\"><a href=\"/projekte/{PROJECT}\">")));
    let operation = b.get("/themenfelder/ein_auswanderung?phase=OPERATION").await;
    assert!(
        !operation.body.contains(&format!("<th scope=\"row\"><a href=\"/projekte/{PROJECT}\">")),
        "filtered out by phase"
    );
    let bb = b.get("/themenfelder/ein_auswanderung?land=DE-BB").await;
    assert!(bb.body.contains("<th scope=\"row\"><a href=\"/projekte/aufenthaltstitel-bb\">"));
    assert!(
        !bb.body.contains(&format!("<th scope=\"row\"><a href=\"/projekte/{PROJECT}\">")),
        "filtered out by lead Land"
    );
    let pilots = b.get("/themenfelder/ein_auswanderung?pilot=1").await;
    assert!(
        pilots.body.contains("<th scope=\"row\"><a href=\"/projekte/verpflichtungserklaerung-nrw\">"),
        "its open call seeks pilots"
    );
    assert!(
        !pilots.body.contains(&format!("<th scope=\"row\"><a href=\"/projekte/{PROJECT}\">")),
        "its call seeks no pilots"
    );
    let bad = b.get("/themenfelder/ein_auswanderung?phase=FERTIG").await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("phase") && bad.body.contains("CONCEPTION"), "names the field and what is allowed");

    let p = b.get(&format!("/projekte/{PROJECT}")).await;
    assert_eq!(p.status, 200);
    for expected in [
        "Federführung",
        "Nordrhein-Westfalen",
        "Konzeption",
        "Kommunalportal.NRW",
        "Ausländerbehörde der Stadt Köln",
        "Pilotkommune",
        "Offene Aufrufe",
        "Letzte Änderungen",
    ] {
        assert!(p.body.contains(expected), "project page shows {expected:?}");
    }
    assert!(!p.body.contains("Als Pilotkommune melden"), "no actions for anonymous visitors");
    let missing = b.get("/projekte/gibt-es-nicht").await;
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("Nicht gefunden"));

    let org = b.get("/organisationen/stadt-solingen").await;
    assert_eq!(org.status, 200);
    assert!(org.body.contains("05122000") && org.body.contains("href=\"/projekte/einbuergerung\""));

    for (q, expected) in [
        ("05122000", "/organisationen/stadt-solingen"),
        ("10255", &format!("/projekte/{PROJECT}")),
        ("99010001000000", "Aufenthaltserlaubnis"),
        ("aufenthalt", &format!("/projekte/{PROJECT}")),
        ("Solingen", "/organisationen/stadt-solingen"),
    ] {
        let r = b.get(&format!("/suche?q={q}")).await;
        assert_eq!(r.status, 200);
        assert!(r.body.contains(expected), "search {q:?} finds {expected:?}");
    }
    let none = b.get("/suche?q=xyzzy").await;
    assert!(none.body.contains("Keine Treffer"));

    let css = b.get("/static/style.css").await;
    assert_eq!(css.status, 200);
    assert!(css.headers["content-type"].to_str().unwrap().starts_with("text/css"));
    assert!(css.body.contains("@media print"));

    let mine = b.get("/meine-beteiligungen").await;
    assert_eq!(mine.status, 401, "Meine Beteiligungen needs a sign-in");
}

async fn sign_in_link_works_once(app: &TestApp) {
    let code = sign_in_link(app, SOLINGEN).await;
    let mut b = Browser::new(app);
    let confirm = b.get(&format!("/anmelden/link?code={code}")).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("Stadt Solingen"), "says whom it signs in");
    // Looking at the link does not use it up; confirming does.
    let again = b.get(&format!("/anmelden/link?code={code}")).await;
    assert_eq!(again.status, 200);
    let done = b.post("/anmelden/link", &[("code", &code)]).await;
    assert_eq!(done.status, 303);
    let cookie = done.headers["set-cookie"].to_str().unwrap().to_owned();
    for attr in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attr), "cookie has {attr}: {cookie}");
    }
    let mine = b.get("/meine-beteiligungen").await;
    assert_eq!(mine.status, 200);
    assert!(mine.body.contains("Angemeldet") && mine.body.contains("Stadt Solingen"));
    assert_eq!(mine.headers["cache-control"], "no-store", "signed-in pages are not cached");

    let mut other = Browser::new(app);
    let reused = other.post("/anmelden/link", &[("code", &code)]).await;
    assert_eq!(reused.status, 404, "a link signs in once");
    assert!(other.cookie.is_none());
    let forged = other.post("/anmelden/link", &[("code", "x".repeat(43).as_str())]).await;
    assert_eq!(forged.status, 404);

    let csrf = b.csrf().await;
    let out = b.post("/abmelden", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert!(b.cookie.is_none(), "the cookie is cleared");
    let cookie_value = cookie.split(';').next().unwrap().strip_prefix("ozg_session=").unwrap().to_owned();
    b.cookie = Some(cookie_value);
    let after = b.get("/meine-beteiligungen").await;
    assert_eq!(after.status, 401, "the session is gone on the server too");
}

/// The scenario: Solingen signs up as pilot in three clicks, sees it, the coordinator confirms.
async fn kommune_signs_up_and_coordinator_confirms(app: &TestApp) {
    let mut kommune = Browser::new(app);
    kommune.sign_in(SOLINGEN).await;
    let start = kommune.get("/").await;
    assert!(start.body.contains("href=\"/themenfelder/ein_auswanderung\""));
    let topic = kommune.get("/themenfelder/ein_auswanderung").await;
    assert!(topic.body.contains(&format!("href=\"/projekte/{PROJECT}\"")));
    let page = kommune.get(&format!("/projekte/{PROJECT}")).await;
    assert!(page.body.contains("Als Pilotkommune melden"));
    let action = format!("/projekte/{PROJECT}/teilnahme");
    let csrf = form_value(&page.body, &action, "csrf").unwrap();
    let before = applied_count(app).await;
    let sent = kommune.post(&action, &[("csrf", &csrf), ("role", "PILOT")]).await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    assert_eq!(sent.location.as_deref(), Some(format!("/projekte/{PROJECT}?hinweis=teilnahme-gemeldet").as_str()));
    assert_eq!(applied_count(app).await, before + 1, "the sign-up is in the change log");
    let shown = kommune.get(sent.location.as_deref().unwrap()).await;
    assert!(shown.body.contains("Die Koordination bestätigt sie"));
    assert!(shown.body.contains("Pilotkommune: <strong>Angefragt</strong>"), "the project page shows it");
    let mine = kommune.get("/meine-beteiligungen").await;
    assert!(mine.body.contains(&format!("href=\"/projekte/{PROJECT}\"")) && mine.body.contains("Angefragt"));
    let p = participation(app, PROJECT, "Stadt Solingen").await.expect("visible over GraphQL");
    assert_eq!((p["role"].as_str(), p["status"].as_str()), (Some("PILOT"), Some("REQUESTED")));

    // Answering the project's open call (it seeks the core and the extended team).
    assert!(shown.body.contains("Auf den Aufruf antworten als"));
    assert!(shown.body.contains("value=\"CORE_TEAM\""));
    let answer = kommune.post(&action, &[("csrf", &csrf), ("role", "CORE_TEAM"), ("note", "Ausländerbehörde")]).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let d = app
        .data(
            "query($s: String!) { project(slug: $s) { participations(role: [CORE_TEAM]) { status note organisation { name } } } }",
            json!({ "s": PROJECT }),
        )
        .await;
    let core = d["project"]["participations"].as_array().unwrap();
    assert!(core.iter().any(|x| x["organisation"]["name"] == "Stadt Solingen" && x["note"] == "Ausländerbehörde"));

    let mut coordinator = Browser::new(app);
    coordinator.sign_in(KDN).await;
    let pending = coordinator.get("/meine-beteiligungen").await;
    assert!(pending.body.contains("Offene Meldungen") && pending.body.contains("Stadt Solingen: Pilotkommune"));
    let project = coordinator.get(&format!("/projekte/{PROJECT}")).await;
    let id = p["id"].as_str().unwrap();
    let confirm = format!("/teilnahmen/{id}/bestaetigen");
    assert!(project.body.contains(&confirm), "the coordinator sees the sign-up with a button");
    let csrf = form_value(&project.body, &confirm, "csrf").unwrap();
    let version = form_value(&project.body, &confirm, "version").unwrap();
    let done = coordinator.post(&confirm, &[("csrf", &csrf), ("version", &version)]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let p = participation(app, PROJECT, "Stadt Solingen").await.unwrap();
    assert_eq!(p["status"], "CONFIRMED");
    let seen = kommune.get("/meine-beteiligungen").await;
    assert!(seen.body.contains("Zugesagt"));

    // Confirming again with the old version is a conflict, not a second write.
    let stale = coordinator.post(&confirm, &[("csrf", &csrf), ("version", &version)]).await;
    assert_eq!(stale.status, 409);

    // Reuse: declare interest, the coordinator moves it on, the Kommune withdraws it.
    let page = kommune.get(&format!("/projekte/{PROJECT}")).await;
    let action = format!("/projekte/{PROJECT}/nachnutzung");
    let csrf_k = form_value(&page.body, &action, "csrf").unwrap();
    assert_eq!(kommune.post(&action, &[("csrf", &csrf_k)]).await.status, 303);
    let page = coordinator.get(&format!("/projekte/{PROJECT}")).await;
    assert!(page.body.contains("Interesse bekundet"));
    let start = page.body.find("value=\"NEGOTIATING\"").expect("a button to start talks");
    let form_start = page.body[..start].rfind("action=\"").unwrap() + 8;
    let action = page.body[form_start..].split('"').next().unwrap().to_owned();
    let version = form_value(&page.body, &action, "version").unwrap();
    let moved = coordinator.post(&action, &[("csrf", &csrf), ("version", &version), ("status", "NEGOTIATING")]).await;
    assert_eq!(moved.status, 303, "{}", moved.body);
    let page = kommune.get(&format!("/projekte/{PROJECT}")).await;
    assert!(page.body.contains("Nachnutzung: <strong>In Abstimmung</strong>"));
}

async fn forms_without_token_or_from_elsewhere_write_nothing(app: &TestApp) {
    let mut b = Browser::new(app);
    b.sign_in(SOLINGEN).await;
    let csrf = b.csrf().await;
    let action = format!("/projekte/{PROJECT}/teilnahme");
    let before = applied_count(app).await;

    let none = b.post(&action, &[("role", "PILOT")]).await;
    assert_eq!(none.status, 403);
    assert!(none.body.contains("csrf"), "names the field");
    let wrong = b.post(&action, &[("csrf", &"A".repeat(43)), ("role", "PILOT")]).await;
    assert_eq!(wrong.status, 403);
    let foreign = b.post_from("https://evil.example", &action, &[("csrf", &csrf), ("role", "PILOT")]).await;
    assert_eq!(foreign.status, 403, "another site's form is refused even with a token");
    let mut anonymous = Browser::new(app);
    let all_before = app.change_count().await;
    let anon = anonymous.post(&action, &[("csrf", &csrf), ("role", "PILOT")]).await;
    assert_eq!(anon.status, 401, "no session, no write");
    // Refused attempts are recorded by one rule for the pages and the API, signed in or not.
    assert_eq!(app.change_count().await, all_before + 1, "the anonymous attempt is on record");
    let garbage = b.post(&action, &[("csrf", &csrf), ("role", "BOSS")]).await;
    assert_eq!(garbage.status, 400);
    assert!(garbage.body.contains("role") && garbage.body.contains("PILOT"), "names the field and what is allowed");
    assert!(!garbage.body.to_lowercase().contains("diesel"));
    let vendor = b.post(&action, &[("csrf", &csrf), ("role", "VENDOR")]).await;
    assert_eq!(vendor.status, 400, "a Kommune cannot give itself a coordinator's role");
    assert_eq!(applied_count(app).await, before, "nothing was written");
    assert!(participation(app, PROJECT, "Stadt Solingen").await.is_none());
}

async fn a_kommune_acts_only_for_itself(app: &TestApp) {
    let koeln = participation(app, PROJECT, "Ausländerbehörde der Stadt Köln").await.unwrap();
    let mut b = Browser::new(app);
    b.sign_in(SOLINGEN).await;
    let csrf = b.csrf().await;
    let before = applied_count(app).await;
    let all_before = app.change_count().await;
    let id = koeln["id"].as_str().unwrap();
    let version = koeln["version"].to_string();
    let r = b.post(&format!("/teilnahmen/{id}/zurueckziehen"), &[("csrf", &csrf), ("version", &version)]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("Nicht erlaubt"));
    let r = b.post(&format!("/teilnahmen/{id}/bestaetigen"), &[("csrf", &csrf), ("version", &version)]).await;
    assert_eq!(r.status, 403);
    let edit = b.get(&format!("/projekte/{PROJECT}/bearbeiten")).await;
    assert_eq!(edit.status, 403, "a Kommune does not edit projects");
    let step = b.post(&format!("/projekte/{PROJECT}/schritte"), &[("csrf", &csrf), ("title", "Eigener Schritt")]).await;
    assert_eq!(step.status, 403, "nor its steps");
    // Over GraphQL the same rule answers the same.
    let token = app.token(&["--role", "municipality", "--org", "ags:05122000"]).await;
    let d = app
        .gql_as(
            Some(&token),
            "mutation($i: AddStepInput!) { addStep(input: $i) { step { id } userErrors { code } } }",
            json!({ "i": { "projectSlug": PROJECT, "title": "Eigener Schritt" } }),
        )
        .await;
    assert_eq!(d["data"]["addStep"]["userErrors"][0]["code"], "FORBIDDEN", "{d}");
    assert_eq!(applied_count(app).await, before);
    assert_eq!(
        participation(app, PROJECT, "Ausländerbehörde der Stadt Köln").await.unwrap()["status"],
        koeln["status"]
    );
    // The two refused attempts are on record (an admin sees them in the change log).
    assert_eq!(app.change_count().await, all_before + 4, "refused attempts are recorded");

    // A coordinator outside the project's scope is refused too.
    let mut other = Browser::new(app);
    other.sign_in(&["--org", "kdn", "--role", "coordinator", "--scope", "topic:bauen_wohnen"]).await;
    assert_eq!(other.get(&format!("/projekte/{PROJECT}/bearbeiten")).await.status, 403);
    let page = other.get(&format!("/projekte/{PROJECT}")).await;
    assert!(!page.body.contains("Projekt bearbeiten"));
}

async fn coordinator_edits_and_stale_edits_show_what_changed(app: &TestApp) {
    let mut b = Browser::new(app);
    b.sign_in(KDN).await;
    let edit = format!("/projekte/{PROJECT}/bearbeiten");
    let page = b.get(&edit).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let select = page.body.split("id=\"neue-phase\"").nth(1).unwrap().split("</select>").next().unwrap();
    assert!(select.contains("value=\"IMPLEMENTATION\""), "the allowed next phase is offered");
    assert!(!select.contains("value=\"OPERATION\""), "a phase not reachable from here is not offered");
    let stand = format!("/projekte/{PROJECT}/stand");
    let csrf = form_value(&page.body, &stand, "csrf").unwrap();
    let version = form_value(&page.body, &stand, "version").unwrap();
    let seen = form_value(&page.body, &stand, "seen").unwrap();

    // Someone else changes the project meanwhile (over GraphQL).
    let d = app
        .data(
            "mutation($i: UpdateProjectInput!) { updateProject(input: $i) { userErrors { code } } }",
            json!({ "i": { "slug": PROJECT, "expectedVersion": version.parse::<i32>().unwrap(), "statusNote": "Von anderer Seite" } }),
        )
        .await;
    assert_eq!(d["updateProject"]["userErrors"], json!([]));
    let stale =
        b.post(&stand, &[("csrf", &csrf), ("version", &version), ("seen", &seen), ("status_note", "Mein Stand")]).await;
    assert_eq!(stale.status, 409);
    assert!(stale.body.contains("Inzwischen geändert"));
    assert!(stale.body.contains("geändert"), "lists the change made meanwhile");
    assert!(stale.body.contains("„Von anderer Seite“"), "with the value the other side set");
    assert!(stale.body.contains("Mein Stand"), "keeps the user's input");
    let d = app.data("query($s: String!) { project(slug: $s) { statusNote version } }", json!({ "s": PROJECT })).await;
    assert_eq!(d["project"]["statusNote"], "Von anderer Seite", "nothing was overwritten");

    // With the current version it saves.
    let version = d["project"]["version"].to_string();
    let ok = b.post(&stand, &[("csrf", &csrf), ("version", &version), ("status_note", "Mein Stand")]).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    // A phase transition that is not allowed is refused with the allowed ones named.
    let version = (version.parse::<i32>().unwrap() + 1).to_string();
    let phase = format!("/projekte/{PROJECT}/phase");
    let bad = b.post(&phase, &[("csrf", &csrf), ("version", &version), ("phase", "OPERATION")]).await;
    assert_eq!(bad.status, 409);
    assert!(bad.body.contains("IMPLEMENTATION"), "names the allowed transitions: {}", bad.body);
    let good = b.post(&phase, &[("csrf", &csrf), ("version", &version), ("phase", "IMPLEMENTATION")]).await;
    assert_eq!(good.status, 303, "{}", good.body);
    // A milestone, reached; a call opened and closed.
    let ms = b
        .post(
            &format!("/projekte/{PROJECT}/meilensteine"),
            &[("csrf", &csrf), ("title", "Anbindung getestet"), ("phase", "IMPLEMENTATION"), ("planned", "2027-03")],
        )
        .await;
    assert_eq!(ms.status, 303, "{}", ms.body);
    let bad_date = b
        .post(&format!("/projekte/{PROJECT}/meilensteine"), &[("csrf", &csrf), ("title", "X"), ("planned", "März")])
        .await;
    assert_eq!(bad_date.status, 400);
    assert!(bad_date.body.contains("planned"));
    let page = b.get(&edit).await;
    assert!(page.body.contains("Anbindung getestet") && page.body.contains("März 2027"));
    let call = b
        .post(
            &format!("/projekte/{PROJECT}/aufrufe"),
            &[("csrf", &csrf), ("title", "Pilotkommunen gesucht"), ("body", "Wer macht mit?"), ("roles", "PILOT")],
        )
        .await;
    assert_eq!(call.status, 303, "{}", call.body);
    let pilots = b.get("/themenfelder/ein_auswanderung?pilot=1").await;
    assert!(
        pilots.body.contains(&format!("<th scope=\"row\"><a href=\"/projekte/{PROJECT}\">")),
        "now it seeks pilots"
    );
    // A step appended and set in progress.
    let step = b
        .post(&format!("/projekte/{PROJECT}/schritte"), &[("csrf", &csrf), ("title", "Anbindung an das Fachverfahren")])
        .await;
    assert_eq!(step.status, 303, "{}", step.body);
    let d = app
        .data("query($s: String!) { project(slug: $s) { steps { id title status } } }", json!({ "s": PROJECT }))
        .await;
    let added = d["project"]["steps"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (added["title"].as_str(), added["status"].as_str()),
        (Some("Anbindung an das Fachverfahren"), Some("PLANNED"))
    );
    let id = added["id"].as_str().unwrap();
    let set = b.post(&format!("/schritte/{id}/status"), &[("csrf", &csrf), ("status", "IN_PROGRESS")]).await;
    assert_eq!(set.status, 303, "{}", set.body);
    let bad = b.post(&format!("/schritte/{id}/status"), &[("csrf", &csrf), ("status", "FERTIG")]).await;
    assert_eq!(bad.status, 400);
    let project = b.get(&format!("/projekte/{PROJECT}")).await;
    assert!(project.body.contains("Anbindung an das Fachverfahren</strong> (In Arbeit)"));
    assert!(project.body.contains("Mein Stand") && project.body.contains("Umsetzung"));
    assert!(project.body.contains("Pilotkommunen gesucht"));
}

async fn coordinator_publishes_a_newsletter_edition_once(app: &TestApp) {
    let d = app
        .data(
            "mutation($i: SaveNewsletterDefinitionInput!) { saveNewsletterDefinition(input: $i) { userErrors { code } } }",
            json!({ "i": { "slug": "ea-nrw", "title": "OZG-Newsletter Ein- & Auswanderung",
                           "topicField": "ein_auswanderung", "audience": "Kommunen in NRW" } }),
        )
        .await;
    assert_eq!(d["saveNewsletterDefinition"]["userErrors"], json!([]));
    let mut b = Browser::new(app);
    b.sign_in(KDN).await;
    let page = b.get("/meine-beteiligungen").await;
    assert!(page.body.contains("Noch keine Ausgabe."));
    let csrf = form_value(&page.body, "/newsletter-ausgaben", "csrf").unwrap();
    let key = form_value(&page.body, "/newsletter-ausgaben", "key").unwrap();
    let fields = [("csrf", csrf.as_str()), ("definition", "ea-nrw"), ("key", key.as_str())];
    assert_eq!(b.post("/newsletter-ausgaben", &fields).await.status, 303);
    // The same form sent again (a double click, a reload) publishes nothing new.
    assert_eq!(b.post("/newsletter-ausgaben", &fields).await.status, 303);
    let d = app.data("{ newsletterDefinitions { slug editions { number } } }", json!({})).await;
    assert_eq!(d["newsletterDefinitions"][0]["editions"], json!([{ "number": 1 }]));
    let page = b.get("/meine-beteiligungen?hinweis=ausgabe-veroeffentlicht").await;
    assert!(
        page.body.contains("Die Ausgabe des Newsletters ist veröffentlicht.")
            && page.body.contains("Zuletzt Ausgabe 1")
    );

    // A coordinator of another Themenfeld sees no form for it and may not publish it.
    let mut other = Browser::new(app);
    other.sign_in(&["--org", "kdn", "--role", "coordinator", "--scope", "topic:bauen_wohnen"]).await;
    let page = other.get("/meine-beteiligungen").await;
    assert!(!page.body.contains("ea-nrw"));
    let csrf = other.csrf().await;
    let r = other.post("/newsletter-ausgaben", &[("csrf", &csrf), ("definition", "ea-nrw"), ("key", "k2")]).await;
    assert_eq!(r.status, 403);
    let d = app.data("{ newsletterDefinitions { editions { number } } }", json!({})).await;
    assert_eq!(d["newsletterDefinitions"][0]["editions"].as_array().unwrap().len(), 1);
}

/// Each page takes a fixed number of statements, whatever the amount of data: one per kind of row,
/// never one per row. Counted on the seed and again with 1,000 generated projects on top.
async fn pages_take_a_fixed_number_of_statements(app: &TestApp) {
    let mut b = Browser::new(app);
    b.sign_in(KDN).await;
    let pages = [
        "/",
        "/themenfelder/ein_auswanderung",
        "/projekte/aufenthaltstitel-nrw",
        "/organisationen/stadt-solingen",
        "/suche?q=aufenthalt",
        "/meine-beteiligungen",
        "/projekte/aufenthaltstitel-nrw/bearbeiten",
    ];
    let mut counts = Vec::new();
    for p in pages {
        let r = b.get(p).await;
        assert_eq!(r.status, 200, "{p}");
        counts.push(r.headers["x-db-queries"].to_str().unwrap().parse::<usize>().unwrap());
    }
    let url = app.db_url();
    let (ok, out) =
        tokio::task::spawn_blocking(move || run_cli(&url, &["generate", "--scale", "small", "--seed", "7"]))
            .await
            .unwrap();
    assert!(ok, "{out}");
    let mut after = Vec::new();
    for p in pages {
        let r = b.get(p).await;
        after.push(r.headers["x-db-queries"].to_str().unwrap().parse::<usize>().unwrap());
    }
    assert_eq!(counts, after, "statements per page do not grow with the data ({pages:?})");
    assert!(counts.iter().all(|n| *n <= 30), "{counts:?}");

    // The Themenfeld with the most projects is paged: every project on exactly one page.
    let topics = [
        "arbeit_ruhestand",
        "bauen_wohnen",
        "bildung",
        "ein_auswanderung",
        "engagement_hobby",
        "familie_kind",
        "forschung_foerderung",
        "gesundheit",
        "mobilitaet_reisen",
        "querschnittsleistungen",
        "recht_ordnung",
        "steuern_zoll",
        "umwelt",
        "unternehmensfuehrung_entwicklung",
    ];
    let mut best = (0usize, "");
    for t in topics {
        let body = b.get(&format!("/themenfelder/{t}")).await.body;
        let total: usize =
            body.split("<p role=\"status\">").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
        if total > best.0 {
            best = (total, t);
        }
    }
    let (total, topic) = best;
    assert!(total > 100, "the generator puts more than a page of projects into some Themenfeld: {total}");
    let mut seen = std::collections::BTreeSet::new();
    let pages = total.div_ceil(100);
    for n in 1..=pages {
        let body = b.get(&format!("/themenfelder/{topic}?seite={n}")).await.body;
        assert!(body.contains(&format!("Seite {n} von {pages}")));
        for row in body.split("<th scope=\"row\"><a href=\"/projekte/").skip(1) {
            assert!(seen.insert(row.split('"').next().unwrap().to_owned()), "a project on two pages");
        }
    }
    assert_eq!(seen.len(), total, "every project on one page");
    let bad = b.get(&format!("/themenfelder/{topic}?seite=null")).await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("seite"));
}

/// A 503 answer for a person: `Retry-After`, the content type, and German text naming the incident
/// ("Vorgang…") without the API's English message, code or JSON.
pub fn assert_unavailable_in_german(a: &Answer, content_type: &str) {
    assert_eq!(a.status, 503, "{}", a.body);
    assert_eq!(a.headers.get("retry-after").map(|v| v.to_str().unwrap()), Some("1"), "{:?}", a.headers);
    assert_eq!(a.headers.get("content-type").map(|v| v.to_str().unwrap()), Some(content_type));
    assert!(
        a.body.contains("Der Dienst ist gerade nicht erreichbar. Bitte versuchen Sie es in Kürze erneut."),
        "{}",
        a.body
    );
    let incident = a.body.split("Vorgang").nth(1).expect("an incident").trim_start_matches("snummer <strong>");
    let incident = incident.trim_start();
    assert!(incident.len() >= 16 && incident[..16].bytes().all(|b| b.is_ascii_hexdigit()), "{}", a.body);
    for english in ["database", "retry", "request", "UNAVAILABLE", "TIMEOUT", "incident", "\"errors\"", "{\""] {
        assert!(!a.body.contains(english), "{english:?} in {}", a.body);
    }
}

/// The tables the pages and the newsletter's documents of the 503 tests read first.
pub const LOCKED: &[&str] = &["topic_fields", "projects", "issuers", "sign_in_links", "newsletter_subscribers"];

/// While the database does not answer in time (the same answer as for a database that is away),
/// pages are 503 with `Retry-After`: the site's German error page.
async fn pages_answer_503_in_german(app: &TestApp) {
    let mut b = Browser::new(app);
    for path in ["/", &format!("/projekte/{PROJECT}"), "/suche?q=Aufenthalt", "/anmelden"] {
        let page = b.get(path).await;
        assert_unavailable_in_german(&page, "text/html; charset=utf-8");
        assert!(page.body.contains("<h1>Vorübergehend nicht erreichbar</h1>"), "{}", page.body);
        assert!(page.body.contains("<a class=\"brand\" href=\"/\">OZG-Register</a>"), "the site's layout");
    }
    // A form: refused the same way (nothing can have been written).
    let sent = b.post("/anmelden/link", &[("code", "7PfxSNUkFp_ymQurrg_ZzHyuN9y2ts2fUXCMnBZ3aW8")]).await;
    assert_unavailable_in_german(&sent, "text/html; charset=utf-8");
    // The API keeps its JSON error with the code (here a field's error, the statement cancelled).
    let r = app
        .post_with(json!({ "query": "{ projects(first: 1) { totalCount } }" }).to_string(), "application/json", None)
        .await;
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["errors"][0]["extensions"]["code"], "TIMEOUT", "{v}");
}

/// On PostgreSQL, where the test can hold a lock the server's statements wait for (an embedded
/// SQLite database is not stuck from outside; a zero timeout is beaten by quick pages there).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_answer_503_in_german_postgres() {
    let config = HttpConfig { request_timeout: Duration::from_millis(500), ..test_config() };
    let app = TestApp::spawn_with(Backend::Postgres, config).await;
    let lock = lock_tables(&app, LOCKED).await;
    pages_answer_503_in_german(&app).await;
    tokio::task::spawn_blocking(move || drop(lock)).await.unwrap();
}

both_backends!(
    pages_take_a_fixed_number_of_statements,
    coordinator_publishes_a_newsletter_edition_once,
    public_pages,
    sign_in_link_works_once,
    kommune_signs_up_and_coordinator_confirms,
    forms_without_token_or_from_elsewhere_write_nothing,
    a_kommune_acts_only_for_itself,
    coordinator_edits_and_stale_edits_show_what_changed,
);
