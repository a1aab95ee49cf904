//! Compiles every message catalog `locales/{lang}/*.ftl` into the crate, for the
//! server and the browser alike, so both render the same strings (no hydration
//! mismatch) and the binary needs no files at run time.
use std::{env, fs, path::PathBuf};

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).join("locales");
    println!("cargo:rerun-if-changed={}", root.display());
    // Catalogs only the server renders (the checkout pages have no WASM).
    const SERVER_ONLY: &[&str] = &["checkout.ftl"];
    let mut entries = Vec::new();
    let mut server_entries = Vec::new();
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
            list.push(format!(
                "    ({lang:?}, {name:?}, include_str!({path:?})),\n",
                path = file.display().to_string()
            ));
        }
    }
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("catalogs.rs");
    let code = format!(
        "/// (language, file name, source) of every message catalog.\npub(crate) const CATALOGS: &[(&str, &str, &str)] = &[\n{}];\n\
         /// Catalogs only the server needs.\n#[allow(dead_code)]\npub(crate) const SERVER_CATALOGS: &[(&str, &str, &str)] = &[\n{}];\n",
        entries.concat(),
        server_entries.concat()
    );
    fs::write(out, code).unwrap();
}
