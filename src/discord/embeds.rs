//! Embeds, always within Discord's limits: title 256, description 4096, 25 fields of
//! 256 + 1024, footer 2048, 6000 characters in all. Text is cut on grapheme boundaries with
//! `core::text::truncate_chars`, never by a request Discord would refuse.

use serenity::all::{Colour, CreateEmbed, CreateEmbedFooter};

use crate::core::game::campaign::Campaign;
use crate::core::game::character::Character;
use crate::core::game::dice::RollResult;
use crate::core::text::truncate_chars;
use crate::llm::ModelInfo;

pub const TITLE_MAX: usize = 256;
pub const DESCRIPTION_MAX: usize = 4096;
pub const FIELDS_MAX: usize = 25;
pub const FIELD_NAME_MAX: usize = 256;
pub const FIELD_VALUE_MAX: usize = 1024;
pub const FOOTER_MAX: usize = 2048;
pub const TOTAL_MAX: usize = 6000;

pub const GOLD: Colour = Colour::new(0xC9_A2_27);
pub const RED: Colour = Colour::new(0xB0_30_30);
pub const BLUE: Colour = Colour::new(0x35_6E_B4);

/// An embed as plain data, clamped to Discord's limits when turned into a `CreateEmbed`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Embed {
    pub title: String,
    pub description: String,
    pub fields: Vec<(String, String, bool)>,
    pub footer: String,
    pub colour: Option<Colour>,
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Discord refuses empty field names and values; a blank one becomes a dash.
fn non_blank(s: String) -> String {
    if s.trim().is_empty() { "—".into() } else { s }
}

impl Embed {
    pub fn new(title: impl Into<String>) -> Embed {
        Embed {
            title: title.into(),
            ..Embed::default()
        }
    }

    pub fn description(mut self, text: impl Into<String>) -> Embed {
        self.description = text.into();
        self
    }

    pub fn field(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
        inline: bool,
    ) -> Embed {
        self.fields.push((name.into(), value.into(), inline));
        self
    }

    pub fn footer(mut self, text: impl Into<String>) -> Embed {
        self.footer = text.into();
        self
    }

    pub fn colour(mut self, colour: Colour) -> Embed {
        self.colour = Some(colour);
        self
    }

    /// The same embed cut to fit every limit.
    pub fn clamped(&self) -> Embed {
        let mut out = Embed {
            title: truncate_chars(&self.title, TITLE_MAX),
            description: truncate_chars(&self.description, DESCRIPTION_MAX),
            fields: self
                .fields
                .iter()
                .take(FIELDS_MAX)
                .map(|(n, v, i)| {
                    (
                        non_blank(truncate_chars(n, FIELD_NAME_MAX)),
                        non_blank(truncate_chars(v, FIELD_VALUE_MAX)),
                        *i,
                    )
                })
                .collect(),
            footer: truncate_chars(&self.footer, FOOTER_MAX),
            colour: self.colour,
        };
        // Over the total: drop fields from the end, then shorten the description.
        while out.total() > TOTAL_MAX && !out.fields.is_empty() {
            out.fields.pop();
        }
        if out.total() > TOTAL_MAX {
            let room = TOTAL_MAX - (out.total() - chars(&out.description));
            out.description = truncate_chars(&out.description, room);
        }
        out
    }

    /// Characters Discord counts toward the 6000 total.
    pub fn total(&self) -> usize {
        chars(&self.title)
            + chars(&self.description)
            + chars(&self.footer)
            + self
                .fields
                .iter()
                .map(|(n, v, _)| chars(n) + chars(v))
                .sum::<usize>()
    }

    pub fn build(&self) -> CreateEmbed {
        let e = self.clamped();
        let mut embed = CreateEmbed::new();
        if !e.title.is_empty() {
            embed = embed.title(e.title);
        }
        if !e.description.is_empty() {
            embed = embed.description(e.description);
        }
        for (n, v, i) in e.fields {
            embed = embed.field(n, v, i);
        }
        if !e.footer.is_empty() {
            embed = embed.footer(CreateEmbedFooter::new(e.footer));
        }
        if let Some(c) = e.colour {
            embed = embed.colour(c);
        }
        embed
    }
}

/// Joins lines while they fit in `max` characters, ending with "… and N more" when some
/// do not, so a long list is cut between entries rather than inside one.
pub fn fit_lines(lines: &[String], max: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for (i, line) in lines.iter().enumerate() {
        let rest = lines.len() - i - 1;
        let more = if rest > 0 {
            format!("\n… and {rest} more").chars().count()
        } else {
            0
        };
        let len = line.chars().count() + usize::from(i > 0);
        if used + len + more > max {
            let note = format!("… and {} more", lines.len() - i);
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&note);
            return truncate_chars(&out, max);
        }
        if i > 0 {
            out.push('\n');
        }
        out.push_str(line);
        used += len;
    }
    out
}

/// One line per character for lists: name, level, race, class and player.
fn character_line(c: &Character) -> String {
    format!(
        "• **{}**: level {} {} {} ({})",
        c.name.as_str(),
        c.level,
        c.race.as_str(),
        c.class.as_str(),
        mention(c.owner_id)
    )
}

/// `<@id>` in an embed shows the name without pinging (embeds never notify).
fn mention(user: Option<crate::core::ids::UserId>) -> String {
    user.map(|u| format!("<@{u}>"))
        .unwrap_or_else(|| "nobody".into())
}

pub fn campaign(c: &Campaign, characters: &[Character], active_session: bool) -> Embed {
    let mut e = Embed::new(format!("📜 {}", c.name.as_str()))
        .description(c.themes.as_str())
        .field("Model", format!("`{}`", c.model), true)
        .field("Language", c.language.name(), true)
        .field(
            "Tone",
            c.tone.as_ref().map(|t| t.as_str()).unwrap_or("—"),
            true,
        )
        .field("Owner", mention(c.owner_id), true)
        .field(
            "Session",
            if active_session {
                "running here"
            } else {
                "none in this channel"
            },
            true,
        )
        .colour(GOLD)
        .footer(format!("Campaign #{}", c.id));
    if let Some(fallback) = &c.fallback_model {
        e = e.field("Fallback model", format!("`{fallback}`"), true);
    }
    if !characters.is_empty() {
        let lines: Vec<String> = characters.iter().map(character_line).collect();
        e = e.field(
            format!("Characters ({})", characters.len()),
            fit_lines(&lines, FIELD_VALUE_MAX),
            false,
        );
    }
    e
}

pub fn campaign_list(guild_name: &str, campaigns: &[Campaign]) -> Embed {
    let description = if campaigns.is_empty() {
        "No campaigns yet. Create one with `/campaign create`.".to_string()
    } else {
        let lines: Vec<String> = campaigns
            .iter()
            .map(|c| {
                format!(
                    "**{}** — {} · {} · `{}`",
                    c.name.as_str(),
                    truncate_chars(c.themes.as_str(), 120),
                    c.language.name(),
                    c.model
                )
            })
            .collect();
        fit_lines(&lines, DESCRIPTION_MAX)
    };
    Embed::new(format!("Campaigns in {guild_name}"))
        .description(description)
        .colour(GOLD)
        .footer(format!("{} campaign(s)", campaigns.len()))
}

pub fn character(c: &Character, campaign: Option<&Campaign>) -> Embed {
    let mut e = Embed::new(format!("🧝 {}", c.name.as_str()))
        .field("Race", c.race.as_str(), true)
        .field("Class", c.class.as_str(), true)
        .field("Level", c.level.to_string(), true)
        .field("Player", mention(c.owner_id), true)
        .colour(BLUE)
        .footer(format!("Character #{}", c.id));
    if let Some(campaign) = campaign {
        e = e.field("Campaign", campaign.name.as_str(), true);
    }
    if let Some(d) = &c.description {
        e = e.description(d.as_str());
    }
    e
}

pub fn character_list(title: &str, characters: &[Character]) -> Embed {
    let description = if characters.is_empty() {
        "No characters yet. Create one with `/character create`.".to_string()
    } else {
        let lines: Vec<String> = characters.iter().map(character_line).collect();
        fit_lines(&lines, DESCRIPTION_MAX)
    };
    Embed::new(title).description(description).colour(BLUE)
}

pub fn roll(expression: &str, reason: Option<&str>, result: &RollResult, who: &str) -> Embed {
    let title = match reason {
        Some(r) => format!("🎲 {who} rolls for {r}"),
        None => format!("🎲 {who} rolls"),
    };
    Embed::new(title)
        .description(result.text.clone())
        .field("Total", format!("**{}**", result.total), true)
        .field("Expression", format!("`{expression}`"), true)
        .colour(GOLD)
}

pub fn models(models: &[ModelInfo], default: Option<&str>) -> Embed {
    if models.is_empty() {
        return Embed::new("Models")
            .description(
                "No model provider is configured. An admin sets OPENAI_API_KEY, ANTHROPIC_API_KEY, DEEPSEEK_API_KEY, OPENROUTER_API_KEY or LOCAL_LLM_BASE_URL.",
            )
            .colour(RED);
    }
    let mut e = Embed::new("Models")
        .colour(BLUE)
        .description(match default {
            Some(d) => format!("Default model: `{d}`"),
            None => "No default model is set; new campaigns use the first one listed.".into(),
        });
    let shown = models.len().min(FIELDS_MAX);
    for m in &models[..shown] {
        let context = m
            .context_window
            .map(|c| format!("{} k tokens of context", c / 1000))
            .unwrap_or_else(|| "context size unknown".into());
        let price = m
            .price
            .as_ref()
            .map(|p| {
                format!(
                    "${:.2} in / ${:.2} out per million tokens",
                    p.input_per_mtok, p.output_per_mtok
                )
            })
            .unwrap_or_else(|| "price unknown".into());
        e = e.field(format!("✅ {}", m.id), format!("{context}\n{price}"), true);
    }
    if models.len() > shown {
        e = e.footer(format!("and {} more", models.len() - shown));
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_embeds_are_clamped_to_every_limit() {
        let mut e = Embed::new("t".repeat(300)).description("d".repeat(5000));
        for i in 0..30 {
            e = e.field(format!("n{i}"), "v".repeat(2000), false);
        }
        let c = e.clamped();
        assert_eq!(c.title.chars().count(), TITLE_MAX);
        assert!(c.description.chars().count() <= DESCRIPTION_MAX);
        assert!(c.fields.len() <= FIELDS_MAX);
        assert!(
            c.fields
                .iter()
                .all(|(_, v, _)| v.chars().count() <= FIELD_VALUE_MAX)
        );
        assert!(c.total() <= TOTAL_MAX, "{}", c.total());
    }

    #[test]
    fn a_huge_description_alone_fits_the_total() {
        let e = Embed::new("x")
            .description("é".repeat(4096))
            .footer("f".repeat(2048));
        assert!(e.clamped().total() <= TOTAL_MAX);
    }

    #[test]
    fn long_lists_are_cut_between_entries() {
        let lines: Vec<String> = (0..100).map(|i| format!("entry number {i}")).collect();
        let fitted = fit_lines(&lines, 200);
        assert!(fitted.chars().count() <= 200, "{fitted}");
        assert!(fitted.starts_with("entry number 0\nentry number 1\n"));
        let last = fitted.lines().last().unwrap();
        assert!(
            last.starts_with("… and ") && last.ends_with(" more"),
            "{last}"
        );
        let shown = fitted.lines().count() - 1;
        assert_eq!(last, format!("… and {} more", 100 - shown));
        assert_eq!(
            fit_lines(&lines[..2], 200),
            "entry number 0\nentry number 1"
        );
    }

    #[test]
    fn blank_fields_are_filled() {
        let c = Embed::new("x").field("", " ", true).clamped();
        assert_eq!(c.fields[0].0, "—");
        assert_eq!(c.fields[0].1, "—");
    }
}
