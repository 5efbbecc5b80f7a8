//! `quality.png`: the quality rates of each model side by side, drawn on the same card as the
//! `/stats` charts (`core::stats::chart`). One group of bars per model, one bar per check,
//! each in percent; an unknown rate draws no bar and is labelled `n/a`.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::QualitySummary;
use crate::core::stats::chart::{
    Area, BACKGROUND, ChartError, GRID, MUTED, TEXT, draw_error, draw_legend, draw_no_data,
    model_labels, render_png, text_style,
};

/// One bar per check, in this order and these colours (fixed, so the legend reads the same
/// whatever the models).
const SERIES: [(&str, RGBColor); 4] = [
    ("in the campaign's language", RGBColor(0, 158, 115)),
    ("with tag errors", RGBColor(230, 159, 0)),
    ("with assistant talk", RGBColor(213, 94, 0)),
    ("repetition (mean)", RGBColor(86, 180, 233)),
];

fn values(s: &QualitySummary) -> [Option<f64>; 4] {
    [
        s.language_ok_rate,
        s.tag_error_rate,
        s.meta_talk_rate,
        s.repetition_mean,
    ]
}

/// Renders the quality chart of `summaries` (in their order) to PNG bytes.
pub fn render_quality(
    title: &str,
    summaries: &[QualitySummary],
    width: u32,
    height: u32,
) -> Result<Vec<u8>, ChartError> {
    render_png(width, height, BACKGROUND, |root| {
        let (header, body) = root.split_vertically(44);
        header
            .draw_text(title, &text_style(22, TEXT), (18, 14))
            .map_err(draw_error)?;
        if summaries.is_empty() {
            return draw_no_data(&body);
        }
        draw_groups(&body, summaries)
    })
}

fn draw_groups(area: &Area<'_>, summaries: &[QualitySummary]) -> Result<(), ChartError> {
    let groups = summaries.len();
    let (width, _) = area.dim_in_pixel();
    let models: Vec<&str> = summaries.iter().map(|s| s.model.as_str()).collect();
    let labels = model_labels(&models, width.saturating_sub(110) / groups as u32);
    let mut chart = ChartBuilder::on(area)
        .margin_left(12)
        .margin_right(24)
        .margin_bottom(10)
        .x_label_area_size(34)
        .y_label_area_size(70)
        // Headroom above 100% for the legend.
        .build_cartesian_2d(0f64..groups as f64, 0f64..140f64)
        .map_err(draw_error)?;
    let x_format = |v: &f64| {
        let index = (v - 0.5).round();
        if index < 0.0 || (v - 0.5 - index).abs() > 0.01 {
            return String::new();
        }
        labels.get(index as usize).cloned().unwrap_or_default()
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .axis_style(MUTED)
        .label_style(text_style(14, TEXT))
        .axis_desc_style(text_style(15, TEXT))
        .x_labels(groups * 2 + 1)
        .x_label_formatter(&x_format)
        .y_labels(8)
        .y_label_formatter(&|v| {
            if *v <= 100.0 {
                format!("{v:.0}%")
            } else {
                String::new()
            }
        })
        .y_desc("share of turns (%)")
        .draw()
        .map_err(draw_error)?;
    let slot = 0.8 / SERIES.len() as f64;
    for (k, (name, colour)) in SERIES.iter().enumerate() {
        let colour = *colour;
        let bars = summaries.iter().enumerate().filter_map(move |(i, s)| {
            let value = values(s)[k]?.clamp(0.0, 1.0) * 100.0;
            let left = i as f64 + 0.1 + k as f64 * slot;
            Some(Rectangle::new(
                [(left, 0.0), (left + slot * 0.9, value)],
                colour.filled(),
            ))
        });
        chart
            .draw_series(bars)
            .map_err(draw_error)?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], colour.filled()));
        let labels = summaries.iter().enumerate().map(move |(i, s)| {
            let centre = i as f64 + 0.1 + (k as f64 + 0.45) * slot;
            let (text, y) = match values(s)[k] {
                Some(v) => (
                    format!("{:.0}", v.clamp(0.0, 1.0) * 100.0),
                    v.clamp(0.0, 1.0) * 100.0,
                ),
                None => ("n/a".to_string(), 0.0),
            };
            Text::new(
                text,
                (centre, y),
                text_style(12, TEXT).pos(Pos::new(HPos::Center, VPos::Bottom)),
            )
        });
        chart.draw_series(labels).map_err(draw_error)?;
    }
    draw_legend(&mut chart)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(model: &str, known: bool) -> QualitySummary {
        QualitySummary {
            model: model.into(),
            count: 4,
            language_ok_rate: known.then_some(0.75),
            tag_error_rate: Some(0.25),
            meta_talk_rate: Some(0.0),
            repetition_mean: known.then_some(0.1),
            budget_use_mean: None,
        }
    }

    #[test]
    fn draws_known_and_unknown_rates_and_an_empty_chart() {
        let png = render_quality(
            "Goblin Ambush: quality per turn",
            &[
                summary("openai:gpt-4o", true),
                summary("local:gemma-3-270m", false),
            ],
            800,
            500,
        )
        .unwrap();
        assert!(png.starts_with(&[0x89, b'P', b'N', b'G']));
        let empty = render_quality("nothing", &[], 800, 500).unwrap();
        assert!(empty.starts_with(&[0x89, b'P', b'N', b'G']));
        assert!(render_quality("x", &[], 10, 10).is_err());
    }
}
