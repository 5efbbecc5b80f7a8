//! How data from the old Streamlit app (CompareModelPoc) maps onto this one.

use crate::core::game::language::Language;
use crate::core::models::chat::ModelId;

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

#[cfg(test)]
mod tests {
    use super::*;

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
