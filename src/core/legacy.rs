//! How data from the old Streamlit app (CompareModelPoc) maps onto this one.

use crate::core::language::Language;
use crate::core::llm::ModelId;

/// The old app named models for people ("GPT-4o", "Claude 3.5 Sonnet", "DeepSeek"); this maps
/// them onto provider model ids. Unknown names become the cheapest OpenAI model, the old
/// app's default provider.
pub fn model_id(legacy: &str) -> ModelId {
    let name = legacy.to_lowercase();
    let id = if name.contains("gpt-4o-mini") || name.contains("gpt-3.5") {
        "openai:gpt-4o-mini"
    } else if name.contains("gpt") {
        "openai:gpt-4o"
    } else if name.contains("claude") {
        "anthropic:claude-sonnet-4-5"
    } else if name.contains("deepseek") {
        "deepseek:deepseek-chat"
    } else {
        "openai:gpt-4o-mini"
    };
    ModelId::parse(id).expect("static model ids parse")
}

pub fn language(legacy: &str) -> Language {
    Language::parse(legacy).unwrap_or(Language::En)
}

/// SQLite's `CURRENT_TIMESTAMP` text (`YYYY-MM-DD HH:MM:SS`, UTC) as unix milliseconds.
pub fn timestamp_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, time) = text.split_once([' ', 'T']).unwrap_or((text, "00:00:00"));
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time
        .trim_end_matches('Z')
        .split(':')
        .map(|p| p.split('.').next().unwrap_or("0").parse::<i64>().ok());
    let (hh, mm, ss) = (
        t.next().flatten().unwrap_or(0),
        t.next().flatten().unwrap_or(0),
        t.next().flatten().unwrap_or(0),
    );
    if !(1..=12).contains(&m)
        || !(1..=31).contains(&day)
        || !(0..24).contains(&hh)
        || !(0..60).contains(&mm)
        || !(0..=60).contains(&ss)
    {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + hh) * 60 + mm) * 60_000 + ss * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(timestamp_ms("1970-01-01 00:00:00"), Some(0));
        assert_eq!(timestamp_ms("2024-03-01 12:30:05"), Some(1_709_296_205_000));
        assert_eq!(timestamp_ms("2024-02-29"), Some(1_709_164_800_000));
        assert_eq!(timestamp_ms("garbage"), None);
        assert_eq!(timestamp_ms("2024-13-01 00:00:00"), None);
    }

    #[test]
    fn model_names() {
        assert_eq!(model_id("GPT-4o").to_string(), "openai:gpt-4o");
        assert_eq!(
            model_id("Claude 3.5 Sonnet").to_string(),
            "anthropic:claude-sonnet-4-5"
        );
        assert_eq!(model_id("DeepSeek").to_string(), "deepseek:deepseek-chat");
        assert_eq!(model_id("???").to_string(), "openai:gpt-4o-mini");
        assert_eq!(language("Français"), Language::Fr);
        assert_eq!(language("klingon"), Language::En);
    }
}
