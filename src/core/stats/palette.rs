//! Colours and labels of the models in one chart.
//!
//! Colours are assigned per chart, in the order of the models' names, so two models of a
//! chart never share one, and the charts of one report (the same models) agree. Labels drop
//! what every model of the chart would repeat: the provider prefix (`openai:`) and then a
//! router's organisation (`meta-llama/`), each only where the shorter name stays unique.

use plotters::style::RGBColor;

use crate::core::portrait::placeholder::hsl_to_rgb;

/// Colour-blind friendly hues (Okabe-Ito plus three), all bright enough on the slate card.
const PALETTE: [RGBColor; 10] = [
    RGBColor(86, 180, 233),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(240, 228, 66),
    RGBColor(204, 121, 167),
    RGBColor(213, 94, 0),
    RGBColor(160, 210, 80),
    RGBColor(180, 140, 255),
    RGBColor(120, 220, 200),
    RGBColor(255, 140, 140),
];

/// The colour of each model of one chart.
#[derive(Debug, Clone, Default)]
pub struct Colours {
    /// Sorted and without repeats; a model's colour follows its place here.
    models: Vec<String>,
}

impl Colours {
    pub fn for_models<'a>(models: impl IntoIterator<Item = &'a str>) -> Colours {
        let mut models: Vec<String> = models.into_iter().map(str::to_owned).collect();
        models.sort();
        models.dedup();
        Colours { models }
    }

    /// The model's colour; a model the chart does not hold gets the first.
    pub fn of(&self, model: &str) -> RGBColor {
        let index = self.models.binary_search_by(|m| m.as_str().cmp(model));
        nth_colour(index.unwrap_or(0), self.models.len())
    }
}

/// The palette's colours first; past ten models, hues spread evenly around the wheel (at the
/// palette's brightness), so each model still has its own.
fn nth_colour(index: usize, count: usize) -> RGBColor {
    if count <= PALETTE.len() {
        return PALETTE[index % PALETTE.len()];
    }
    let (r, g, b) = hsl_to_rgb(index as f64 * 360.0 / count as f64, 0.65, 0.62);
    RGBColor(r, g, b)
}

/// The models' names as the chart shows them, in the same order.
pub fn short_labels(models: &[&str]) -> Vec<String> {
    let without_provider = shorten(models.iter().map(|m| m.to_string()).collect(), |m| {
        m.split_once(':').map(|(_, rest)| rest)
    });
    shorten(without_provider, |m| {
        m.rsplit_once('/').map(|(_, rest)| rest)
    })
}

/// Applies `cut` to each label whose cut form no other label shares (cut or not).
fn shorten(labels: Vec<String>, cut: impl Fn(&str) -> Option<&str>) -> Vec<String> {
    let cut_forms: Vec<Option<String>> = labels
        .iter()
        .map(|l| cut(l).filter(|rest| !rest.is_empty()).map(str::to_owned))
        .collect();
    labels
        .iter()
        .zip(&cut_forms)
        .enumerate()
        .map(|(i, (label, short))| match short {
            Some(short) if unique(short, i, &labels, &cut_forms) => short.clone(),
            _ => label.clone(),
        })
        .collect()
}

fn unique(short: &str, index: usize, labels: &[String], cut_forms: &[Option<String>]) -> bool {
    (0..labels.len())
        .filter(|&j| j != index)
        .all(|j| labels[j] != short && cut_forms[j].as_deref().is_none_or(|other| other != short))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_model_of_a_chart_has_its_own_colour() {
        for count in [1, 5, 10, 11, 24] {
            let names: Vec<String> = (0..count).map(|i| format!("provider:model-{i}")).collect();
            let colours = Colours::for_models(names.iter().map(String::as_str));
            let distinct: std::collections::HashSet<_> = names
                .iter()
                .map(|n| {
                    let c = colours.of(n);
                    (c.0, c.1, c.2)
                })
                .collect();
            assert_eq!(distinct.len(), count);
        }
    }

    #[test]
    fn colours_follow_the_names_not_the_order() {
        let a = Colours::for_models(["b", "a", "c"]);
        let b = Colours::for_models(["c", "b", "a", "a"]);
        for m in ["a", "b", "c"] {
            assert_eq!(a.of(m), b.of(m));
        }
    }

    #[test]
    fn labels_drop_what_stays_unique() {
        let labels = short_labels(&[
            "openai:gpt-4o",
            "openrouter:meta-llama/llama-3.3-70b-instruct",
            "deepseek:deepseek-chat",
            "local:gemma-3-270m",
        ]);
        assert_eq!(
            labels,
            [
                "gpt-4o",
                "llama-3.3-70b-instruct",
                "deepseek-chat",
                "gemma-3-270m"
            ]
        );
    }

    #[test]
    fn a_prefix_that_tells_models_apart_stays() {
        let labels = short_labels(&["openai:gpt-4o", "openrouter:openai/gpt-4o", "gpt-4o-mini"]);
        assert_eq!(labels, ["gpt-4o", "openai/gpt-4o", "gpt-4o-mini"]);
        assert_eq!(short_labels(&["a:", "b"]), ["a:", "b"]);
    }
}
