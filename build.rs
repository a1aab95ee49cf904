//! Compiles every message catalog `locales/{lang}/*.ftl` into the server, so
//! it needs no files at run time. The browser gets the catalog of its page's
//! language from the server (`/i18n/{lang}.ftl?v={CATALOG_VERSION}`): the
//! very strings the server rendered with, so hydration matches.
use std::{env, fs, path::PathBuf};

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).join("locales");
    println!("cargo:rerun-if-changed={}", root.display());
    // Catalogs only the server renders (the checkout pages have no WASM).
    const SERVER_ONLY: &[&str] = &["checkout.ftl", "email.ftl"];
    let mut entries = Vec::new();
    let mut server_entries = Vec::new();
    // FNV-1a of the browser's catalogs: the version in their URL (cached for a year).
    let mut version: u64 = 0xcbf2_9ce4_8422_2325;
    for lang in ["ja", "en", "ko"] {
        let dir = root.join(lang);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files: Vec<PathBuf> = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "ftl"))
            .collect();
        files.sort();
        for file in files {
            println!("cargo:rerun-if-changed={}", file.display());
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            let list = if SERVER_ONLY.contains(&name.as_str()) { &mut server_entries } else { &mut entries };
            if !SERVER_ONLY.contains(&name.as_str()) {
                let source = fs::read(&file).unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
                for byte in lang.bytes().chain(name.bytes()).chain(source) {
                    version = (version ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3);
                }
            }
            list.push(format!("    ({lang:?}, {name:?}, include_str!({path:?})),\n", path = file.display().to_string()));
        }
    }
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("catalogs.rs");
    let code = format!(
        "/// (language, file name, source) of every message catalog the browser uses (served to it).\n#[allow(dead_code)]\npub(crate) const CATALOGS: &[(&str, &str, &str)] = &[\n{}];\n\
         /// Catalogs only the server needs.\n#[allow(dead_code)]\npub(crate) const SERVER_CATALOGS: &[(&str, &str, &str)] = &[\n{}];\n\
         /// Changes whenever a catalog the browser uses changes.\npub const CATALOG_VERSION: &str = \"{version:016x}\";\n",
        entries.concat(),
        server_entries.concat()
    );
    fs::write(out, code).unwrap();
}
