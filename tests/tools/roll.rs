//! `gamemaster roll`: the dice breakdown, JSON, seeds and errors, from the binary.

use std::process::{Command, Output};

fn roll(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_gamemaster"))
        .current_dir(dir.path())
        .arg("roll")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .expect("run gamemaster")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_seeded_roll_prints_the_breakdown_and_repeats() {
    let a = roll(&["4d6kh3", "--seed", "42"]);
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    let text = stdout(&a);
    assert!(text.starts_with("4d6kh3 ("), "{text}");
    assert!(text.contains(") = "), "{text}");
    assert_eq!(text.lines().count(), 1);
    assert_eq!(
        stdout(&roll(&["4d6kh3", "--seed", "42"])),
        text,
        "same seed, same roll"
    );
}

#[test]
fn json_has_expression_total_rolls_and_text() {
    let out = roll(&["2d20kh1+5", "--seed", "7", "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(v["expression"], "2d20kh1+5");
    let rolls = v["rolls"].as_array().unwrap();
    assert_eq!(rolls.len(), 2);
    let kept: i64 = rolls
        .iter()
        .filter(|r| r["status"] == "kept")
        .map(|r| r["value"].as_i64().unwrap())
        .sum();
    assert_eq!(v["total"].as_i64().unwrap(), kept + 5);
    assert!(
        v["text"]
            .as_str()
            .unwrap()
            .ends_with(&format!("= {}", v["total"]))
    );
}

#[test]
fn negative_modifiers_are_not_taken_for_options() {
    let out = roll(&["-1+1d4", "--seed", "1", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_bad_expression_exits_1_with_one_line() {
    for bad in ["4x", "", "1d0", "999999d6"] {
        let out = roll(&[bad]);
        assert_eq!(out.status.code(), Some(1), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("error: "), "{bad}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{bad}: {err}");
        assert!(stdout(&out).is_empty());
    }
}

#[test]
fn rolling_needs_no_configuration() {
    // A broken configuration does not matter to dice.
    let out = Command::new(env!("CARGO_BIN_EXE_gamemaster"))
        .args(["roll", "1d20", "--seed", "3"])
        .env("DATABASE_URL", "mysql://nope")
        .env("SHARD_COUNT", "many")
        .output()
        .unwrap();
    assert!(out.status.success());
}

#[test]
fn the_terminal_tools_are_explained_in_the_help() {
    let help = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_gamemaster"))
            .args(args)
            .env_clear()
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let top = help(&["--help"]);
    for word in ["roll", "play", "compare"] {
        assert!(top.contains(word), "{word} missing: {top}");
    }
    let compare = help(&["compare", "--help"]);
    for word in [
        "--scenario",
        "--model",
        "--out",
        "results.csv",
        "summary.csv",
        "compare",
    ] {
        assert!(compare.contains(word), "{word} missing: {compare}");
    }
    let play = help(&["play", "--help"]);
    for word in ["--campaign", "--model", "/end", "DATABASE_URL"] {
        assert!(play.contains(word), "{word} missing: {play}");
    }
    assert!(help(&["roll", "--help"]).contains("--json"));
}
