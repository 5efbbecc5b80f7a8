//! Applying a narration's state tags to the party, and the one line players see about it:
//! `📋 Mira −5 HP (7/12) · Mira is poisoned · 📝 noted: the duke owes us`.

use serde::{Deserialize, Serialize};

use super::abilities::shorten;
use super::character::{Sheet, fold_name};
use super::tags::{StateTagScan, Tagged};
use crate::core::ids::CharacterId;

pub use super::correction::set_field;
pub use super::death_save::{DeathSave, death_save};

/// Longest [`Applied::line`], in characters: under Discord's 2,000 with room to spare.
pub const MAX_LINE_CHARS: usize = 1_900;

/// A character in the party, with the name the game master uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub id: CharacterId,
    pub name: String,
    pub sheet: Sheet,
}

/// The member `target` names: the full name (ignoring case and spacing), else a name whose
/// first word it is, if only one has it.
pub fn resolve(party: &[Member], target: &str) -> Result<usize, String> {
    let wanted = fold_name(target);
    let shown = unpinged(&shorten(
        &target.split_whitespace().collect::<Vec<_>>().join(" "),
        40,
    ));
    let exact = positions(party, |name| name == wanted);
    let found = if exact.is_empty() {
        positions(party, |name| {
            name.split(' ').next() == Some(wanted.as_str())
        })
    } else {
        exact
    };
    match found.as_slice() {
        [one] => Ok(*one),
        [] if party.is_empty() => Err(format!(
            "no character named {shown}: the party has no characters"
        )),
        [] => {
            let names: Vec<&str> = party.iter().map(|m| m.name.as_str()).collect();
            Err(format!(
                "no character named {shown} in the party (party: {})",
                names.join(", ")
            ))
        }
        several => {
            let candidates: Vec<&str> = several.iter().map(|i| party[*i].name.as_str()).collect();
            Err(format!(
                "{shown} could be {}; use the full name",
                candidates.join(" or ")
            ))
        }
    }
}

/// Indexes of the members whose folded name (lower case, single spaces) passes `test`.
fn positions(party: &[Member], test: impl Fn(&str) -> bool) -> Vec<usize> {
    (0..party.len())
        .filter(|i| test(&fold_name(&party[*i].name)))
        .collect()
}

/// One applied change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub character: CharacterId,
    pub name: String,
    pub before: Sheet,
    pub after: Sheet,
    /// `Mira −5 HP (7/12)`
    pub summary: String,
}

/// What one text's tags did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    pub changes: Vec<Change>,
    pub notes: Vec<String>,
    /// `` `hp Mira -5`: no character named Mira in the party (party: Borin) ``, in text order.
    pub problems: Vec<String>,
}

impl Applied {
    /// `📋 Mira −5 HP (7/12) · Mira is poisoned · 📝 noted: … · ⚠ `tag`: problem`, at most
    /// 1,900 characters; `None` when nothing happened.
    pub fn line(&self) -> Option<String> {
        let parts: Vec<String> = self
            .changes
            .iter()
            .map(|c| c.summary.clone())
            .chain(self.notes.iter().map(|n| format!("📝 noted: {n}")))
            .chain(self.problems.iter().map(|p| format!("⚠ {p}")))
            .collect();
        if parts.is_empty() {
            return None;
        }
        Some(shorten(
            &format!("📋 {}", parts.join(" · ")),
            MAX_LINE_CHARS,
        ))
    }
}

/// Applies each tag in order; a tag that breaks a rule, or names no one in the party, changes
/// nothing and becomes a problem, as does each tag the scan could not read.
pub fn apply_tags(party: &mut [Member], scan: &StateTagScan) -> Applied {
    let mut applied = Applied::default();
    // (position in the text, problem), so problems read in the order they were written.
    let mut problems: Vec<(usize, String)> = scan
        .errors
        .iter()
        .map(|e| (e.span.start, format!("{}: {}", code(&e.body), e.problem)))
        .collect();
    for tagged in &scan.tags {
        let tag = match tagged {
            Tagged::Note { text, .. } => {
                applied.notes.push(text.clone());
                continue;
            }
            Tagged::Change(tag) => tag,
        };
        let index = match resolve(party, &tag.target) {
            Ok(index) => index,
            Err(problem) => {
                problems.push((tag.span.start, format!("{}: {problem}", code(&tag.text()))));
                continue;
            }
        };
        let member = &mut party[index];
        let before = member.sheet.clone();
        match member.sheet.apply(&tag.op) {
            Ok(summary) => applied.changes.push(Change {
                character: member.id,
                name: member.name.clone(),
                before,
                after: member.sheet.clone(),
                summary: format!("{} {summary}", member.name),
            }),
            Err(problem) => {
                member.sheet = before;
                problems.push((
                    tag.span.start,
                    format!("{}: {} {problem}", code(&tag.text()), member.name),
                ));
            }
        }
    }
    problems.sort_by_key(|(at, _)| *at);
    applied.problems = problems.into_iter().map(|(_, p)| p).collect();
    applied
}

/// Model-written text as inline code that no backtick inside can end early.
fn code(text: &str) -> String {
    format!("`{}`", text.replace('`', "ˋ"))
}

/// Model-written text shown outside code: `@` cannot mention anyone, and a backtick cannot
/// start a code span.
fn unpinged(text: &str) -> String {
    text.replace('@', "@\u{200B}").replace('`', "ˋ")
}

#[cfg(test)]
mod tests;
