// The migrations are embedded in the binary: rebuild when a migration is added or changed.
// OZG_REGISTRY_SKIP_BROWSER_TESTS=1 at build time marks the browser test ignored (cfg
// skip_browser_tests), so `cargo test` reports it as ignored rather than passed.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo::rerun-if-env-changed=OZG_REGISTRY_SKIP_BROWSER_TESTS");
    println!("cargo::rustc-check-cfg=cfg(skip_browser_tests)");
    if std::env::var("OZG_REGISTRY_SKIP_BROWSER_TESTS").is_ok_and(|v| v == "1") {
        println!("cargo::rustc-cfg=skip_browser_tests");
    }
}
