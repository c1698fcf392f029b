//! End to end in a real browser: Debian's Chromium, headless, driven over the W3C WebDriver
//! protocol by ChromeDriver. A Kommune signs in with a link, signs up as pilot in three clicks and
//! sees it; the coordinator confirms it. Every page type is scanned with axe-core (no serious or
//! critical violation of WCAG 2.1 A/AA) and checked by the Nu HTML Checker (no error);
//! screenshots go to target/screenshots/.
//!
//! It also loads GraphiQL and runs a query there. Afterwards no Chromium process and no profile
//! folder is left.
//!
//! Needs chromium, chromium-driver, a Java runtime and `npm ci` in tests/browser (tests/run installs
//! all of it). Without them the test fails and says what is missing; built with
//! OZG_REGISTRY_SKIP_BROWSER_TESTS=1 it is ignored (see build.rs) and reported so.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use crate::helpers::{TempPath, TestApp};
use crate::web::{Browser, sign_in_link};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

fn screenshot_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// What the browser test needs, or why it cannot run.
/// Chromium, ChromeDriver, axe-core and the Nu HTML Checker, found.
struct Tools {
    chromium: PathBuf,
    driver: PathBuf,
    axe: PathBuf,
    vnu: PathBuf,
}

fn prerequisites() -> Result<Tools, String> {
    let which = |name: &str| {
        std::env::var_os("PATH")
            .and_then(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|f| f.is_file()))
            .ok_or_else(|| format!("{name} is not installed (Debian: apt-get install chromium chromium-driver)"))
    };
    let chromium = which("chromium")?;
    let driver = which("chromedriver")?;
    which("java").map_err(|_| "java is not installed (Debian: apt-get install default-jre-headless)".to_owned())?;
    let axe = browser_dir().join("node_modules/axe-core/axe.min.js");
    let vnu = browser_dir().join("node_modules/vnu-jar/build/dist/vnu.jar");
    if !axe.is_file() || !vnu.is_file() {
        return Err("axe-core and vnu-jar are not installed: run `npm ci` in tests/browser".into());
    }
    Ok(Tools { chromium, driver, axe, vnu })
}

/// A ChromeDriver process and one browser session. Dropped (also when the test fails), it ends
/// the session, so ChromeDriver closes Chromium, stops ChromeDriver, stops any Chromium process of
/// its profile still running, and removes the profile and Chromium's temporary files.
struct Driver {
    child: Child,
    http: reqwest::Client,
    port: u16,
    session: String,
    base: String,
    /// The profile (`profile/`) and Chromium's temporary files (`tmp/`, its TMPDIR).
    dir: TempPath,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // DELETE /session/{id}: ChromeDriver quits Chromium. Plain HTTP over a blocking socket,
        // since a destructor cannot wait for a future.
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
            use std::io::{Read, Write};
            let _ = s.set_read_timeout(Some(Duration::from_secs(20)));
            let _ = write!(
                s,
                "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                self.session, self.port
            );
            let _ = s.read_to_end(&mut Vec::new());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Chromium normally is gone by now; what is left of this profile is ended by its pid.
        for _ in 0..50 {
            let left = chromium_processes(&self.dir.0);
            if left.is_empty() {
                break;
            }
            for pid in left {
                let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The processes whose command line names the folder (Chromium's `--user-data-dir`).
fn chromium_processes(dir: &Path) -> Vec<u32> {
    let needle = dir.to_string_lossy().into_owned();
    let Ok(entries) = std::fs::read_dir("/proc") else { return vec![] };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle.as_str()))
        })
        .collect()
}

impl Driver {
    async fn start(driver: &Path, chromium: &Path) -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = TempPath::new("ozg-chromium");
        let (profile, tmp) = (dir.0.join("profile"), dir.0.join("tmp"));
        std::fs::create_dir_all(&tmp).unwrap();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .env("TMPDIR", &tmp)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
        let root = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if let Ok(r) = http.get(format!("{root}/status")).send().await
                && r.status().is_success()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         "--disable-crash-reporter", "--disable-breakpad",
                         "--window-size=1280,1000", "--lang=de-DE", format!("--user-data-dir={}", profile.display())]
            }
        }}});
        let r: Value = http.post(format!("{root}/session")).json(&caps).send().await.unwrap().json().await.unwrap();
        let session =
            r["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no WebDriver session: {r}")).to_owned();
        Driver { child, http, port, base: format!("{root}/session/{session}"), session, dir }
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut r = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            r = r.json(&b);
        }
        let v: Value = r.send().await.unwrap().json().await.unwrap();
        if v["value"].get("error").is_some() {
            panic!("WebDriver {path}: {}", v["value"]);
        }
        v["value"].clone()
    }

    async fn go(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({ "url": url }))).await;
    }

    async fn url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None).await.as_str().unwrap().to_owned()
    }

    /// The visible text of the page.
    async fn text(&self) -> String {
        self.script("return document.body.innerText", json!([])).await.as_str().unwrap_or_default().to_owned()
    }

    /// Waits (up to 10 s) until the page shows `needle`, after a click that navigates; returns the text.
    async fn wait_for(&self, needle: &str) -> String {
        let mut text = String::new();
        for _ in 0..100 {
            text = self.text().await;
            if text.contains(needle) {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the page at {} does not show {needle:?}:\n{text}", self.url().await)
    }

    /// Waits (up to 20 s) until `script` returns true.
    async fn wait_until(&self, script: &str, what: &str) {
        for _ in 0..200 {
            if self.script(script, json!([])).await == json!(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{what} did not appear at {}", self.url().await)
    }

    async fn script(&self, script: &str, args: Value) -> Value {
        self.cmd(reqwest::Method::POST, "/execute/sync", Some(json!({ "script": script, "args": args }))).await
    }

    /// Clicks the link or button whose text is exactly `label` (like a user reading the page).
    async fn click(&self, label: &str) {
        let xpath = format!(
            "//a[normalize-space()={0}] | //button[normalize-space()={0}]",
            serde_json::to_string(label).unwrap().replace('"', "'")
        );
        let found =
            self.cmd(reqwest::Method::POST, "/element", Some(json!({ "using": "xpath", "value": xpath }))).await;
        let id = found[ELEMENT].as_str().unwrap().to_owned();
        self.cmd(reqwest::Method::POST, &format!("/element/{id}/click"), Some(json!({}))).await;
    }

    async fn screenshot(&self, name: &str) {
        let png = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD.decode(png.as_str().unwrap()).unwrap();
        std::fs::write(screenshot_dir().join(format!("{name}.png")), bytes).unwrap();
    }

    async fn resize(&self, width: u32, height: u32) {
        self.cmd(reqwest::Method::POST, "/window/rect", Some(json!({ "width": width, "height": height }))).await;
    }

    /// Prints the page as the browser would (A4) to a PDF next to the screenshots.
    async fn print(&self, name: &str) {
        let pdf = self.cmd(reqwest::Method::POST, "/print", Some(json!({ "background": false }))).await;
        let bytes = base64::engine::general_purpose::STANDARD.decode(pdf.as_str().unwrap()).unwrap();
        assert!(bytes.starts_with(b"%PDF"), "a PDF");
        std::fs::write(screenshot_dir().join(format!("{name}.pdf")), bytes).unwrap();
    }

    /// Runs axe-core on the page; returns the serious and critical violations of WCAG 2.1 A/AA.
    async fn axe(&self, axe_source: &str) -> Vec<String> {
        self.script(axe_source, json!([])).await;
        let script = "const done = arguments[arguments.length - 1];
            axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
               .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
                      nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3) }))))
               .catch(e => done([{ id: 'axe-error', impact: 'critical', help: String(e), nodes: [] }]));";
        let v = self.cmd(reqwest::Method::POST, "/execute/async", Some(json!({ "script": script, "args": [] }))).await;
        v.as_array()
            .unwrap()
            .iter()
            .filter(|x| matches!(x["impact"].as_str(), Some("serious" | "critical")))
            .map(|x| format!("{} ({}): {} at {}", x["id"], x["impact"], x["help"], x["nodes"]))
            .collect()
    }
}

/// Checks raw HTML pages with the Nu HTML Checker; returns its error messages.
fn validate_html(vnu: &Path, pages: &[(String, String)]) -> Vec<String> {
    let tmp = TempPath::new("ozg-html");
    let dir = tmp.0.clone();
    std::fs::create_dir_all(&dir).unwrap();
    let files: Vec<PathBuf> = pages
        .iter()
        .map(|(name, html)| {
            let f = dir.join(format!("{name}.html"));
            std::fs::write(&f, html).unwrap();
            f
        })
        .collect();
    let out = Command::new("java")
        // No hsperfdata folder in /tmp.
        .arg("-XX:-UsePerfData")
        .arg("-jar")
        .arg(vnu)
        .args(["--errors-only", "--format", "text"])
        .args(&files)
        .output()
        .expect("run the Nu HTML Checker");
    if out.status.success() {
        return vec![];
    }
    let errors: Vec<String> =
        String::from_utf8_lossy(&out.stderr).lines().filter(|l| !l.trim().is_empty()).map(str::to_owned).collect();
    if errors.is_empty() { vec![format!("the checker failed: {}", out.status)] } else { errors }
}

async fn pages_in_a_browser(app: &TestApp) {
    let tools = prerequisites().unwrap_or_else(|e| panic!("browser test cannot run: {e}"));
    let axe = std::fs::read_to_string(&tools.axe).unwrap();
    let backend = format!("{:?}", app.backend()).to_lowercase();
    let d = Driver::start(&tools.driver, &tools.chromium).await;
    let site = app.addr.clone();
    let mut violations: Vec<String> = Vec::new();
    let mut check = async |d: &Driver, page: &str| {
        for v in d.axe(&axe).await {
            violations.push(format!("{page}: {v}"));
        }
    };

    // Anonymous: the public pages.
    d.go(&format!("{site}/")).await;
    check(&d, "start").await;
    d.screenshot(&format!("{backend}-start")).await;
    d.click("Ein- & Auswanderung").await;
    d.wait_for("Umsetzungsprojekte").await;
    check(&d, "themenfeld").await;
    d.screenshot(&format!("{backend}-themenfeld")).await;
    d.go(&format!("{site}/themenfelder/ein_auswanderung?phase=CONCEPTION&pilot=1")).await;
    check(&d, "themenfeld gefiltert").await;
    d.go(&format!("{site}/organisationen/stadt-solingen")).await;
    check(&d, "organisation").await;
    d.screenshot(&format!("{backend}-organisation")).await;
    d.go(&format!("{site}/suche?q=aufenthalt")).await;
    check(&d, "suche").await;
    d.screenshot(&format!("{backend}-suche")).await;
    d.go(&format!("{site}/anmelden")).await;
    check(&d, "anmelden").await;
    d.go(&format!("{site}/projekte/gibt-es-nicht")).await;
    check(&d, "fehlerseite").await;
    d.go(&format!("{site}/projekte/aufenthaltstitel-nrw")).await;
    check(&d, "projekt").await;
    d.screenshot(&format!("{backend}-projekt")).await;
    d.print(&format!("{backend}-projekt")).await;
    d.resize(390, 844).await;
    d.screenshot(&format!("{backend}-projekt-mobil")).await;
    check(&d, "projekt (schmal)").await;
    // Reflow (WCAG 1.4.10): nothing is wider than a narrow screen, so nothing scrolls sideways
    // (wide tables scroll inside their own box).
    for path in ["/projekte/aufenthaltstitel-nrw", "/", "/themenfelder/ein_auswanderung", "/suche?q=aufenthalt"] {
        d.go(&format!("{site}{path}")).await;
        let overflow = d
            .script("return document.documentElement.scrollWidth - document.documentElement.clientWidth", json!([]))
            .await;
        assert!(overflow.as_i64().unwrap() <= 0, "{path} scrolls sideways at 390 px by {overflow} px");
    }
    d.resize(1280, 1000).await;

    // The Kommune: signs in with the link from its coordinator.
    let code = sign_in_link(app, &["--org", "ags:05122000"]).await;
    d.go(&format!("{site}/anmelden/link?code={code}")).await;
    check(&d, "anmeldelink").await;
    d.click("Anmelden als Stadt Solingen").await;
    d.wait_for("Sie sind angemeldet.").await;
    assert!(d.url().await.contains("/meine-beteiligungen"), "lands on Meine Beteiligungen");
    check(&d, "meine beteiligungen (kommune)").await;

    // From the start page to the project and the sign-up: three clicks.
    d.go(&format!("{site}/")).await;
    d.click("Ein- & Auswanderung").await;
    d.wait_for("Umsetzungsprojekte").await;
    d.click("Aufenthaltstitel (Anbindung NRW an die EfA-Lösung Brandenburg)").await;
    d.wait_for("Ihre Beteiligung").await;
    check(&d, "projekt (kommune)").await;
    d.click("Als Pilotkommune melden").await;
    let text = d.wait_for("Ihre Meldung ist eingegangen").await;
    assert!(d.url().await.contains("/projekte/aufenthaltstitel-nrw"));
    assert!(text.contains("Pilotkommune: Angefragt"), "the project page shows the sign-up: {text}");
    d.screenshot(&format!("{backend}-projekt-kommune")).await;
    d.click("Meine Beteiligungen").await;
    d.wait_for("Aufenthaltstitel (Anbindung NRW an die EfA-Lösung Brandenburg): Pilotkommune – Angefragt").await;
    d.screenshot(&format!("{backend}-meine-beteiligungen")).await;
    d.click("Abmelden").await;
    d.wait_for("Sie sind abgemeldet.").await;

    // The coordinator sees the sign-up and confirms it.
    let code = sign_in_link(app, &["--org", "kdn", "--role", "coordinator", "--scope", "topic:ein_auswanderung"]).await;
    d.go(&format!("{site}/anmelden/link?code={code}")).await;
    d.click("Anmelden als KDN – Dachverband kommunaler IT-Dienstleister").await;
    d.wait_for("Stadt Solingen: Pilotkommune (angefragt)").await;
    check(&d, "meine beteiligungen (koordination)").await;
    d.screenshot(&format!("{backend}-koordination")).await;
    d.click("Teilnahme von Stadt Solingen bestätigen").await;
    d.wait_for("Die Teilnahme ist bestätigt.").await;
    d.go(&format!("{site}/projekte/aufenthaltstitel-nrw")).await;
    check(&d, "projekt (koordination)").await;
    let text = d.text().await;
    assert!(text.contains("Stadt Solingen") && !text.contains("Stadt Solingen angefragt"), "{text}");
    d.click("Projekt bearbeiten").await;
    d.wait_for("Phase wechseln").await;
    check(&d, "projekt bearbeiten").await;
    d.screenshot(&format!("{backend}-bearbeiten")).await;

    // GraphiQL, served by us alone, starts under its CSP and runs a query; every file the page
    // loaded came from this server.
    d.go(&format!("{site}/graphiql")).await;
    d.wait_until("return !!document.querySelector('.graphiql-query-editor .CodeMirror')", "the GraphiQL editor").await;
    d.script(
        "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue('{ apiVersion }');
         document.querySelector('.graphiql-execute-button').click();",
        json!([]),
    )
    .await;
    d.wait_until(
        "const r = document.querySelector('.result-window'); return !!r && r.innerText.includes('\"apiVersion\"');",
        "the answer to { apiVersion }",
    )
    .await;
    d.screenshot(&format!("{backend}-graphiql")).await;
    let loaded = d.script("return performance.getEntriesByType('resource').map(e => e.name)", json!([])).await;
    let loaded: Vec<&str> = loaded.as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(loaded.iter().any(|u| u.ends_with("/graphiql/graphiql.min.js")), "{loaded:?}");
    assert!(loaded.iter().all(|u| u.starts_with(&format!("{site}/"))), "GraphiQL loaded from elsewhere: {loaded:?}");

    // The browser leaves nothing behind: no Chromium process of its profile, no profile folder.
    let dir = d.dir.0.clone();
    drop(d);
    assert!(chromium_processes(&dir).is_empty(), "Chromium still runs with {}", dir.display());
    assert!(!dir.exists(), "{} is left behind", dir.display());

    assert!(violations.is_empty(), "accessibility violations (serious or critical):\n{}", violations.join("\n"));

    // The raw HTML of every page type, as served, is valid.
    let mut pages: Vec<(String, String)> = Vec::new();
    let mut anonymous = Browser::new(app);
    for (name, path) in [
        ("start", "/"),
        ("themenfeld", "/themenfelder/ein_auswanderung?pilot=1"),
        ("projekt", "/projekte/aufenthaltstitel-nrw"),
        ("organisation", "/organisationen/stadt-solingen"),
        ("suche", "/suche?q=05122000"),
        ("anmelden", "/anmelden"),
        ("fehler", "/themenfelder/ein_auswanderung?phase=X"),
    ] {
        pages.push((name.to_owned(), anonymous.get(path).await.body));
    }
    let mut kommune = Browser::new(app);
    kommune.sign_in(&["--org", "ags:05122000"]).await;
    pages.push(("projekt-kommune".into(), kommune.get("/projekte/verpflichtungserklaerung-nrw").await.body));
    pages.push(("meine".into(), kommune.get("/meine-beteiligungen").await.body));
    let mut coordinator = Browser::new(app);
    coordinator.sign_in(&["--org", "kdn", "--role", "coordinator", "--scope", "topic:ein_auswanderung"]).await;
    pages.push(("projekt-koordination".into(), coordinator.get("/projekte/aufenthaltstitel-nrw").await.body));
    pages.push(("bearbeiten".into(), coordinator.get("/projekte/aufenthaltstitel-nrw/bearbeiten").await.body));
    pages.push(("koordination".into(), coordinator.get("/meine-beteiligungen").await.body));
    let errors = tokio::task::spawn_blocking(move || validate_html(&tools.vnu, &pages)).await.unwrap();
    assert!(errors.is_empty(), "invalid HTML:\n{}", errors.join("\n"));
}

/// Like `both_backends!`, but ignored when built with OZG_REGISTRY_SKIP_BROWSER_TESTS=1 (build.rs),
/// so a skipped run shows the test as ignored, never as passed.
mod pages_in_a_browser {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(skip_browser_tests, ignore = "OZG_REGISTRY_SKIP_BROWSER_TESTS=1")]
    async fn sqlite() {
        let app = crate::helpers::TestApp::spawn(crate::helpers::Backend::Sqlite).await;
        super::pages_in_a_browser(&app).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(skip_browser_tests, ignore = "OZG_REGISTRY_SKIP_BROWSER_TESTS=1")]
    async fn postgres() {
        let app = crate::helpers::TestApp::spawn(crate::helpers::Backend::Postgres).await;
        super::pages_in_a_browser(&app).await;
    }
}
