//! The rooms of the code stay apart: `src/core` knows nothing of Discord, SQL, HTTP or the
//! wiring, and the adapters `src/llm` and `src/storage` do not reach back into the
//! configuration, the composition root or Discord. Read from the source files themselves, so
//! a new `use` anywhere in those folders is checked without being listed here.

use std::path::{Path, PathBuf};

const CORE_FORBIDDEN_CRATES: &[&str] = &["serenity", "poise", "sqlx", "reqwest", "axum"];
const CORE_FORBIDDEN_ROOMS: &[&str] = &[
    "discord",
    "llm",
    "storage",
    "app",
    "config",
    "runtime",
    "tools",
    "ops",
    "telemetry",
    "cli",
];
const ADAPTER_FORBIDDEN_ROOMS: &[&str] = &["config", "app", "discord", "cli"];

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    assert!(!out.is_empty(), "no Rust files under {}", dir.display());
    out
}

/// The code of a file without its comments (line, doc and block comments) and without the
/// contents of string literals, so prose about "SQL" or "serenity" is not a dependency.
fn code_only(source: &str) -> String {
    let bytes = source.as_bytes();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let mut depth = 0;
                while i < bytes.len() {
                    if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            b'r' if source[i..].starts_with("r#\"")
                && !source[..i].chars().next_back().is_some_and(is_ident) =>
            {
                // A raw string may hold quotes: it ends at the first `"#`.
                let end = source[i + 3..]
                    .find("\"#")
                    .map_or(bytes.len(), |e| i + 3 + e + 2);
                out.push_str("\"\"");
                i = end;
            }
            b'\'' if char_literal_len(&source[i..]).is_some() => {
                out.push_str("' '");
                i += char_literal_len(&source[i..]).expect("checked");
            }
            b'"' => {
                out.push('"');
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                out.push('"');
                i += 1;
            }
            _ => {
                // Copy one whole character (sources are UTF-8).
                let ch = source[i..].chars().next().expect("in bounds");
                out.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    out
}

/// The length of the char literal (`'x'`, `'\n'`, `'\u{7f}'`) at the start of `s`, if it is
/// one rather than a lifetime.
fn char_literal_len(s: &str) -> Option<usize> {
    let mut chars = s.char_indices().skip(1);
    let (_, first) = chars.next()?;
    if first == '\\' {
        // Skip the escaped character itself, which may be a quote (`'\''`).
        let close = s.get(3..)?.find('\'')?;
        return (close <= 10).then_some(3 + close + 1);
    }
    let (at, second) = chars.next()?;
    (second == '\'').then_some(at + 1)
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every place `word` appears in `code` as a whole identifier.
fn mentions(code: &str, word: &str) -> Vec<usize> {
    code.match_indices(word)
        .filter(|(at, _)| {
            let before = code[..*at].chars().next_back();
            let after = code[at + word.len()..].chars().next();
            !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
        })
        .map(|(at, _)| at)
        .collect()
}

fn line_of(code: &str, at: usize) -> usize {
    code[..at].matches('\n').count() + 1
}

/// Each mention of a forbidden crate, and each `crate::ROOM` path to a forbidden room, in the
/// Rust files under `dir`.
fn violations(dir: &str, crates: &[&str], rooms: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut found = Vec::new();
    for file in rust_files(&root) {
        let source = std::fs::read_to_string(&file).expect("readable source");
        let code = code_only(&source);
        let name = file
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap_or(&file)
            .display()
            .to_string();
        for krate in crates {
            for at in mentions(&code, krate) {
                found.push(format!("{name}:{} names `{krate}`", line_of(&code, at)));
            }
        }
        for room in rooms {
            for at in mentions(&code, &format!("crate::{room}")) {
                found.push(format!(
                    "{name}:{} reaches `crate::{room}`",
                    line_of(&code, at)
                ));
            }
        }
    }
    found
}

#[test]
fn the_core_knows_no_adapter_and_no_io_crate() {
    let found = violations("src/core", CORE_FORBIDDEN_CRATES, CORE_FORBIDDEN_ROOMS);
    assert!(
        found.is_empty(),
        "src/core must stay pure:\n{}",
        found.join("\n")
    );
}

#[test]
fn model_clients_do_not_reach_back_into_the_wiring() {
    let found = violations(
        "src/llm",
        &["serenity", "poise", "sqlx"],
        ADAPTER_FORBIDDEN_ROOMS,
    );
    assert!(
        found.is_empty(),
        "src/llm reaches back:\n{}",
        found.join("\n")
    );
}

#[test]
fn storage_does_not_reach_back_into_the_wiring() {
    let rooms: Vec<&str> = ADAPTER_FORBIDDEN_ROOMS
        .iter()
        .copied()
        .chain(["llm"])
        .collect();
    let found = violations("src/storage", &["serenity", "poise", "reqwest"], &rooms);
    assert!(
        found.is_empty(),
        "src/storage reaches back:\n{}",
        found.join("\n")
    );
}

#[test]
fn discord_commands_do_not_reach_into_the_wiring() {
    // The bot is built by `app.rs`; the Discord room gets its settings and a ready `Data`.
    let found = violations(
        "src/discord",
        &["sqlx"],
        &["config", "app", "runtime", "cli"],
    );
    assert!(
        found.is_empty(),
        "src/discord reaches back:\n{}",
        found.join("\n")
    );
}

/// The longest a function may be, signature to closing brace.
const MAX_FUNCTION_LINES: usize = 120;

/// Every `fn` in `code` with its name, first line and length in lines.
fn functions(code: &str) -> Vec<(String, usize, usize)> {
    let bytes = code.as_bytes();
    let mut found = Vec::new();
    for at in mentions(code, "fn") {
        let rest = &code[at + 2..];
        let name: String = rest
            .trim_start()
            .chars()
            .take_while(|c| is_ident(*c))
            .collect();
        if name.is_empty() {
            continue; // `fn(..)` pointer types
        }
        // The body starts at the first `{` outside the signature's brackets; a `;` first
        // means a declaration without a body.
        let mut depth = 0i32;
        let mut open = None;
        for (i, b) in bytes.iter().enumerate().skip(at) {
            match b {
                b'(' | b'[' | b'<' => depth += 1,
                b')' | b']' => depth -= 1,
                b'>' if bytes[i - 1] != b'-' && bytes[i - 1] != b'=' => depth -= 1,
                b';' if depth <= 0 => break,
                b'{' if depth <= 0 => {
                    open = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let Some(open) = open else { continue };
        let mut braces = 0i32;
        let mut close = bytes.len() - 1;
        for (i, b) in bytes.iter().enumerate().skip(open) {
            match b {
                b'{' => braces += 1,
                b'}' => {
                    braces -= 1;
                    if braces == 0 {
                        close = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let first = line_of(code, at);
        found.push((name, first, line_of(code, close) - first + 1));
    }
    found
}

/// The product's code: a scenario test or a benchmark reads top to bottom as one story.
#[test]
fn no_function_is_longer_than_a_screenful_or_two() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut long = Vec::new();
    for dir in ["src"] {
        for file in rust_files(&root.join(dir)) {
            let code = code_only(&std::fs::read_to_string(&file).expect("readable source"));
            let name = file
                .strip_prefix(root)
                .unwrap_or(&file)
                .display()
                .to_string();
            for (function, line, len) in functions(&code) {
                if len > MAX_FUNCTION_LINES {
                    long.push(format!("{name}:{line} `{function}` is {len} lines"));
                }
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over {MAX_FUNCTION_LINES} lines (split them into named steps):\n{}",
        long.join("\n")
    );
}

#[test]
fn the_length_check_measures_bodies() {
    let code = code_only(
        "fn short() -> Vec<u8> {\n    let c = '{';\n    vec![]\n}\ntrait T { fn decl(&self); }\nfn two<F: Fn() -> u8>(f: F) where F: Copy {\n    let s = r#\"}\"#;\n}\n",
    );
    let found = functions(&code);
    assert_eq!(
        found,
        vec![("short".to_string(), 1, 4), ("two".to_string(), 6, 3),]
    );
}

#[test]
fn the_checker_sees_what_it_forbids() {
    // The scanner itself: a use in code counts, the same words in comments and strings do not.
    let code = code_only(
        "use serenity::all::Http; // sqlx here\n/* reqwest */ let s = \"crate::discord\";\nuse crate::config::Secret;\n",
    );
    assert_eq!(mentions(&code, "serenity").len(), 1);
    assert!(mentions(&code, "sqlx").is_empty());
    assert!(mentions(&code, "reqwest").is_empty());
    assert!(mentions(&code, "crate::discord").is_empty());
    assert_eq!(mentions(&code, "crate::config").len(), 1);
    // Whole identifiers only: `crate::llm` is not `crate::llm_parse`, `app` not `apply`.
    assert!(mentions("crate::llm_parse", "crate::llm").is_empty());
    assert_eq!(line_of(&code, mentions(&code, "crate::config")[0]), 3);
}
