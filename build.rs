//! Embeds the SQL migrations so the binary carries its schema without sqlx's proc macros
//! (which pull in a second compile of sqlx for the build host). Writes
//! `$OUT_DIR/migrations.rs` with one `(file name, contents)` table per engine.

use std::fmt::Write as _;
use std::path::Path;
use std::{env, fs};

fn main() {
    let root = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let mut out = String::new();
    for (engine, constant) in [("sqlite", "SQLITE"), ("postgres", "POSTGRES")] {
        let dir = Path::new(&root).join("migrations").join(engine);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files: Vec<_> = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
            .map(|entry| entry.expect("readable directory entry").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
            .collect();
        files.sort();
        writeln!(out, "pub(super) static {constant}: &[(&str, &str)] = &[").unwrap();
        for path in files {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            println!("cargo:rerun-if-changed={}", path.display());
            writeln!(
                out,
                "    ({name:?}, include_str!({:?})),",
                path.display().to_string()
            )
            .unwrap();
        }
        writeln!(out, "];").unwrap();
    }
    let dest = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("migrations.rs");
    fs::write(&dest, out).unwrap_or_else(|e| panic!("cannot write {}: {e}", dest.display()));
}
