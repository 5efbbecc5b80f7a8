//! PNG charts for `/stats`, rendered in memory with plotters and a bundled font.
//!
//! Every chart is drawn on an opaque dark slate card (Discord's own dark surface colour) with
//! light text, so it reads the same in Discord's dark and light themes. Each model of a chart
//! has a colour of its own and a label without what all of them share ([`super::palette`]).
//!
//! Empty data does not fail: it renders the title and a "No data yet" notice, so `/stats` can
//! always post an image.

use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::core::stats::ModelStats;
use crate::core::stats::glyphs::ChartBitmap;
use crate::core::stats::palette::{Colours, short_labels};
use crate::core::time::month_day;

pub const DEFAULT_WIDTH: u32 = 800;
pub const DEFAULT_HEIGHT: u32 = 500;
/// Accepted image sizes, per side, in pixels.
pub const MIN_SIDE: u32 = 200;
pub const MAX_SIDE: u32 = 4096;

pub const BACKGROUND: RGBColor = RGBColor(0x2b, 0x2d, 0x31);
pub const TEXT: RGBColor = RGBColor(0xdb, 0xde, 0xe1);
pub(crate) const MUTED: RGBColor = RGBColor(0x9a, 0xa0, 0xa8);
pub(crate) const GRID: RGBColor = RGBColor(0x40, 0x43, 0x49);

pub(super) static FONT_BYTES: &[u8] = include_bytes!("../../../assets/DejaVuSans.ttf");
const FONT: &str = "sans-serif";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChartError {
    #[error("image size {width}x{height} is outside {MIN_SIDE}..={MAX_SIDE} pixels per side")]
    InvalidSize { width: u32, height: u32 },
    #[error("the bundled font could not be loaded")]
    Font,
    #[error("drawing failed: {0}")]
    Draw(String),
    #[error("PNG encoding failed: {0}")]
    Encode(String),
}

pub(crate) fn draw_error(error: impl std::fmt::Display) -> ChartError {
    ChartError::Draw(error.to_string())
}

/// Median and 95th percentile latency of one model, in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyBar {
    pub model: String,
    pub p50_ms: f64,
    pub p95_ms: f64,
}

/// Mean input and output tokens per call of one model.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBar {
    pub model: String,
    pub tokens_in: f64,
    pub tokens_out: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CostBar {
    pub model: String,
    pub cost_usd: f64,
}

/// A rating with its 95% interval.
#[derive(Debug, Clone, PartialEq)]
pub struct RatingInterval {
    pub model: String,
    pub rating: f64,
    pub low: f64,
    pub high: f64,
}

/// Daily latency of one model: `(day, latency_ms)` with `day` counted in days since
/// 1970-01-01 (UTC).
#[derive(Debug, Clone, PartialEq)]
pub struct DailyLatency {
    pub model: String,
    pub points: Vec<(i32, f64)>,
}

/// One model's value for a metric without a dedicated chart (TTFT, speed, error rate, thumbs).
#[derive(Debug, Clone, PartialEq)]
pub struct ValueBar {
    pub model: String,
    pub value: f64,
    /// The value as printed above the bar, with its unit (e.g. `"12.5%"`).
    pub label: String,
}

/// A chart kind with its data. Bars are drawn in the given order.
#[derive(Debug, Clone, PartialEq)]
pub enum Chart {
    /// Bars at p50 with a whisker up to p95.
    Latency {
        title: String,
        bars: Vec<LatencyBar>,
    },
    /// Stacked input (lighter, bottom) and output (solid, top) tokens per call.
    Tokens {
        title: String,
        bars: Vec<TokenBar>,
    },
    Cost {
        title: String,
        bars: Vec<CostBar>,
    },
    /// Horizontal intervals, drawn best first from the top.
    Ratings {
        title: String,
        ratings: Vec<RatingInterval>,
    },
    /// One line per model.
    LatencyOverTime {
        title: String,
        series: Vec<DailyLatency>,
    },
    /// Plain bars of one metric; `axis` names the y axis (e.g. `"error rate (%)"`).
    Values {
        title: String,
        axis: String,
        bars: Vec<ValueBar>,
    },
}

impl LatencyBar {
    pub fn from_stats(stats: &ModelStats) -> Option<Self> {
        Some(Self {
            model: stats.model.clone(),
            p50_ms: stats.latency_p50?,
            p95_ms: stats.latency_p95?,
        })
    }
}

impl TokenBar {
    pub fn from_stats(stats: &ModelStats) -> Option<Self> {
        if stats.tokens_in_mean.is_none() && stats.tokens_out_mean.is_none() {
            return None;
        }
        Some(Self {
            model: stats.model.clone(),
            tokens_in: stats.tokens_in_mean.unwrap_or(0.0),
            tokens_out: stats.tokens_out_mean.unwrap_or(0.0),
        })
    }
}

impl CostBar {
    pub fn from_stats(stats: &ModelStats) -> Option<Self> {
        Some(Self {
            model: stats.model.clone(),
            cost_usd: stats.cost_total?,
        })
    }
}

impl RatingInterval {
    /// Ranked arena ratings only.
    pub fn from_stats(stats: &ModelStats) -> Option<Self> {
        let arena = stats.arena.as_ref().filter(|a| a.ranked)?;
        Some(Self {
            model: stats.model.clone(),
            rating: arena.rating,
            low: arena.ci_low,
            high: arena.ci_high,
        })
    }
}

impl Chart {
    pub fn title(&self) -> &str {
        match self {
            Chart::Latency { title, .. }
            | Chart::Tokens { title, .. }
            | Chart::Cost { title, .. }
            | Chart::Ratings { title, .. }
            | Chart::LatencyOverTime { title, .. }
            | Chart::Values { title, .. } => title,
        }
    }

    /// The models the chart shows.
    pub fn models(&self) -> Vec<&str> {
        match self {
            Chart::Latency { bars, .. } => bars.iter().map(|b| b.model.as_str()).collect(),
            Chart::Tokens { bars, .. } => bars.iter().map(|b| b.model.as_str()).collect(),
            Chart::Cost { bars, .. } => bars.iter().map(|b| b.model.as_str()).collect(),
            Chart::Ratings { ratings, .. } => ratings.iter().map(|r| r.model.as_str()).collect(),
            Chart::LatencyOverTime { series, .. } => {
                series.iter().map(|s| s.model.as_str()).collect()
            }
            Chart::Values { bars, .. } => bars.iter().map(|b| b.model.as_str()).collect(),
        }
    }

    /// True when there is nothing to draw (the chart then shows a "No data yet" notice).
    pub fn is_empty(&self) -> bool {
        match self {
            Chart::Latency { bars, .. } => bars.is_empty(),
            Chart::Tokens { bars, .. } => bars.is_empty(),
            Chart::Cost { bars, .. } => bars.is_empty(),
            Chart::Ratings { ratings, .. } => ratings.is_empty(),
            Chart::LatencyOverTime { series, .. } => series.iter().all(|s| s.points.is_empty()),
            Chart::Values { bars, .. } => bars.is_empty(),
        }
    }
}

pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Shortens a label to at most `max_chars` characters, ending in `…` when cut.
pub fn truncate_label(label: &str, max_chars: usize) -> String {
    if label.chars().count() <= max_chars {
        return label.to_owned();
    }
    let kept: String = label.chars().take(max_chars.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// Registers the bundled font with plotters once per process.
pub(crate) fn ensure_font() -> Result<(), ChartError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok()
    });
    if ok { Ok(()) } else { Err(ChartError::Font) }
}

pub(crate) fn text_style(size: u32, colour: RGBColor) -> TextStyle<'static> {
    (FONT, size).into_font().color(&colour)
}

/// Renders a chart to PNG bytes.
pub fn render(chart: &Chart, width: u32, height: u32) -> Result<Vec<u8>, ChartError> {
    render_png(width, height, BACKGROUND, |root| {
        let (header, body) = root.split_vertically(44);
        header
            .draw_text(chart.title(), &text_style(22, TEXT), (18, 14))
            .map_err(draw_error)?;
        if chart.is_empty() {
            return draw_no_data(&body);
        }
        let colours = &Colours::for_models(chart.models());
        match chart {
            Chart::Latency { bars, .. } => draw_latency(&body, bars, colours),
            Chart::Tokens { bars, .. } => draw_tokens(&body, bars, colours),
            Chart::Cost { bars, .. } => draw_cost(&body, bars, colours),
            Chart::Ratings { ratings, .. } => draw_ratings(&body, ratings, colours),
            Chart::LatencyOverTime { series, .. } => draw_latency_over_time(&body, series, colours),
            Chart::Values { axis, bars, .. } => draw_values(&body, axis, bars, colours),
        }
    })
}

pub(crate) type Area<'a> = DrawingArea<ChartBitmap<'a>, Shift>;

/// Allocates an RGB canvas, lets `draw` paint it and encodes the result as PNG.
pub(crate) fn render_png(
    width: u32,
    height: u32,
    background: RGBColor,
    draw: impl FnOnce(&Area<'_>) -> Result<(), ChartError>,
) -> Result<Vec<u8>, ChartError> {
    if !(MIN_SIDE..=MAX_SIDE).contains(&width) || !(MIN_SIDE..=MAX_SIDE).contains(&height) {
        return Err(ChartError::InvalidSize { width, height });
    }
    ensure_font()?;
    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    {
        let root =
            ChartBitmap(BitMapBackend::with_buffer(&mut rgb, (width, height))).into_drawing_area();
        root.fill(&background).map_err(draw_error)?;
        draw(&root)?;
        root.present().map_err(draw_error)?;
    }
    encode_png(&rgb, width, height)
}

fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, ChartError> {
    let mut out = Vec::with_capacity(rgb.len() / 8);
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // Flat chart colours compress well even at the fast setting, which keeps a render cheap.
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder
        .write_header()
        .map_err(|e| ChartError::Encode(e.to_string()))?;
    writer
        .write_image_data(rgb)
        .map_err(|e| ChartError::Encode(e.to_string()))?;
    writer
        .finish()
        .map_err(|e| ChartError::Encode(e.to_string()))?;
    Ok(out)
}

pub(crate) fn draw_no_data(area: &Area<'_>) -> Result<(), ChartError> {
    let (w, h) = area.dim_in_pixel();
    let style = text_style(20, MUTED).pos(Pos::new(HPos::Center, VPos::Center));
    area.draw_text("No data yet", &style, (w as i32 / 2, h as i32 / 2))
        .map_err(draw_error)
}

/// Roughly how many characters fit in `pixels` at the 14 px label size.
fn chars_that_fit(pixels: u32) -> usize {
    ((pixels / 8) as usize).clamp(4, 28)
}

pub(crate) fn model_labels(models: &[&str], slot_pixels: u32) -> Vec<String> {
    let max_chars = chars_that_fit(slot_pixels);
    short_labels(models)
        .iter()
        .map(|m| truncate_label(m, max_chars))
        .collect()
}

/// Compact axis numbers: 950, 1.5k, 2.3M.
fn compact_number(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1e6 {
        format!("{:.1}M", value / 1e6)
    } else if magnitude >= 1e4 {
        format!("{:.0}k", value / 1e3)
    } else if magnitude >= 1e3 {
        format!("{:.1}k", value / 1e3)
    } else if magnitude >= 10.0 || magnitude == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

/// Seconds with the precision that tells latencies apart: 0.45, 2.3, 14.
fn seconds(value: f64) -> String {
    if value.abs() >= 10.0 || value == 0.0 {
        format!("{value:.0}")
    } else if value.abs() >= 1.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

fn usd(value: f64) -> String {
    if value.abs() >= 100.0 {
        format!("${value:.0}")
    } else if value.abs() >= 1.0 {
        format!("${value:.2}")
    } else {
        format!("${value:.4}")
    }
}

/// Upper end of a value axis: a little headroom above the largest value, never zero.
fn axis_top(max: f64) -> f64 {
    if max.is_finite() && max > 0.0 {
        max * 1.15
    } else {
        1.0
    }
}

fn finite_or_zero(value: f64) -> f64 {
    if value.is_finite() { value } else { 0.0 }
}

/// Shared frame of the vertical bar charts: one segment per model on x, values on y.
fn bar_frame<'a, 'b>(
    area: &'a Area<'b>,
    models: &[&str],
    y_top: f64,
    y_desc: &str,
    y_format: &dyn Fn(&f64) -> String,
) -> Result<ChartContext<'a, ChartBitmap<'b>, Cartesian2d<Slots, RangedCoordf64>>, ChartError> {
    let (width, _) = area.dim_in_pixel();
    let labels = model_labels(models, (width.saturating_sub(110)) / models.len() as u32);
    let mut chart = ChartBuilder::on(area)
        .margin_left(12)
        .margin_right(24)
        .margin_bottom(10)
        .x_label_area_size(34)
        .y_label_area_size(80)
        .build_cartesian_2d(slots(models.len()), 0f64..y_top)
        .map_err(draw_error)?;
    let x_format = |v: &f64| slot_label(&labels, *v);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .axis_style(MUTED)
        .label_style(text_style(14, TEXT))
        .axis_desc_style(text_style(15, TEXT))
        .x_labels(models.len())
        .x_label_formatter(&x_format)
        .y_labels(6)
        .y_label_formatter(y_format)
        .y_desc(y_desc)
        .draw()
        .map_err(draw_error)?;
    Ok(chart)
}

/// A category axis: item `i` occupies `i..i + 1`, and its tick and label sit at the centre.
/// (plotters' segmented integer axis cannot hold a single category.)
struct Slots {
    count: usize,
}

fn slots(count: usize) -> Slots {
    Slots { count }
}

impl Ranged for Slots {
    type ValueType = f64;
    type FormatOption = DefaultFormatting;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let fraction = value / self.count.max(1) as f64;
        limit.0 + (fraction * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.max_num_points() == 0 {
            return Vec::new();
        }
        (0..self.count).map(slot_centre).collect()
    }

    fn range(&self) -> std::ops::Range<f64> {
        0.0..self.count as f64
    }
}

fn slot_centre(i: usize) -> f64 {
    i as f64 + 0.5
}

/// The label of the slot whose centre is at `value`.
fn slot_label(labels: &[String], value: f64) -> String {
    let index = (value - 0.5).round();
    if index < 0.0 {
        return String::new();
    }
    labels.get(index as usize).cloned().unwrap_or_default()
}

fn bar(i: usize, bottom: f64, top: f64, colour: RGBColor) -> Rectangle<(f64, f64)> {
    let left = i as f64 + 0.2;
    Rectangle::new([(left, bottom), (left + 0.6, top)], colour.filled())
}

fn value_label(text: String, i: usize, y: f64) -> Text<'static, (f64, f64), String> {
    Text::new(
        text,
        (slot_centre(i), y),
        text_style(13, TEXT).pos(Pos::new(HPos::Center, VPos::Bottom)),
    )
}

fn draw_latency(area: &Area<'_>, bars: &[LatencyBar], colours: &Colours) -> Result<(), ChartError> {
    let models: Vec<&str> = bars.iter().map(|b| b.model.as_str()).collect();
    // In seconds, as the leaderboard shows them.
    let p50 = |b: &LatencyBar| finite_or_zero(b.p50_ms) / 1000.0;
    let p95 = |b: &LatencyBar| (finite_or_zero(b.p95_ms) / 1000.0).max(p50(b));
    let top = bars.iter().map(p95).fold(0.0, f64::max);
    let mut chart = bar_frame(
        area,
        &models,
        axis_top(top),
        "latency (s): bar p50, whisker p95",
        &|v| seconds(*v),
    )?;
    chart
        .draw_series(
            bars.iter()
                .enumerate()
                .map(|(i, b)| bar(i, 0.0, p50(b), colours.of(&b.model))),
        )
        .map_err(draw_error)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, b)| {
            let x = slot_centre(i);
            PathElement::new(vec![(x, p50(b)), (x, p95(b))], TEXT.stroke_width(2))
        }))
        .map_err(draw_error)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, b)| {
            EmptyElement::at((slot_centre(i), p95(b)))
                + PathElement::new(vec![(-8, 0), (8, 0)], TEXT.stroke_width(2))
        }))
        .map_err(draw_error)?;
    chart
        .draw_series(
            bars.iter()
                .enumerate()
                .map(|(i, b)| value_label(format!("{} s", seconds(p50(b))), i, p95(b))),
        )
        .map_err(draw_error)?;
    Ok(())
}

/// Input tokens are the model colour faded into the card, output tokens the full colour.
fn faded(colour: RGBColor) -> RGBColor {
    let mix = |c: u8, b: u8| ((u16::from(c) * 45 + u16::from(b) * 55) / 100) as u8;
    RGBColor(
        mix(colour.0, BACKGROUND.0),
        mix(colour.1, BACKGROUND.1),
        mix(colour.2, BACKGROUND.2),
    )
}

fn draw_tokens(area: &Area<'_>, bars: &[TokenBar], colours: &Colours) -> Result<(), ChartError> {
    let models: Vec<&str> = bars.iter().map(|b| b.model.as_str()).collect();
    let totals: Vec<(f64, f64)> = bars
        .iter()
        .map(|b| {
            (
                finite_or_zero(b.tokens_in).max(0.0),
                finite_or_zero(b.tokens_out).max(0.0),
            )
        })
        .collect();
    let top = totals.iter().map(|(i, o)| i + o).fold(0.0, f64::max);
    // Extra headroom for the legend box.
    let mut chart = bar_frame(
        area,
        &models,
        axis_top(top) * 1.15,
        "tokens per call (mean)",
        &|v| compact_number(*v),
    )?;
    chart
        .draw_series(
            bars.iter()
                .zip(&totals)
                .enumerate()
                .map(|(i, (b, (tokens_in, _)))| {
                    bar(i, 0.0, *tokens_in, faded(colours.of(&b.model)))
                }),
        )
        .map_err(draw_error)?
        .label("input tokens (faded)")
        .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], faded(TEXT).filled()));
    chart
        .draw_series(bars.iter().zip(&totals).enumerate().map(
            |(i, (b, (tokens_in, tokens_out)))| {
                bar(i, *tokens_in, tokens_in + tokens_out, colours.of(&b.model))
            },
        ))
        .map_err(draw_error)?
        .label("output tokens (solid)")
        .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], TEXT.filled()));
    chart
        .draw_series(
            totals
                .iter()
                .enumerate()
                .map(|(i, (tokens_in, tokens_out))| {
                    value_label(
                        format!(
                            "{} / {}",
                            compact_number(*tokens_in),
                            compact_number(*tokens_out)
                        ),
                        i,
                        tokens_in + tokens_out,
                    )
                }),
        )
        .map_err(draw_error)?;
    draw_legend(&mut chart)
}

pub(crate) fn draw_legend<'a, 'b, X, Y>(
    chart: &mut ChartContext<'a, ChartBitmap<'b>, Cartesian2d<X, Y>>,
) -> Result<(), ChartError>
where
    X: plotters::coord::ranged1d::Ranged,
    Y: plotters::coord::ranged1d::Ranged,
    'b: 'a,
{
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(BACKGROUND.mix(0.92))
        .border_style(MUTED)
        .label_font(text_style(13, TEXT))
        .draw()
        .map_err(draw_error)
}

fn draw_cost(area: &Area<'_>, bars: &[CostBar], colours: &Colours) -> Result<(), ChartError> {
    let values: Vec<ValueBar> = bars
        .iter()
        .map(|b| ValueBar {
            model: b.model.clone(),
            value: b.cost_usd,
            label: usd(b.cost_usd),
        })
        .collect();
    // Axis ticks share one precision so they line up: cents above $1, finer below.
    let decimals = |top: f64| match top {
        t if t >= 1.0 => 2,
        t if t >= 0.01 => 3,
        _ => 5,
    };
    draw_bars(area, "cost (USD)", &values, colours, ("$", decimals))
}

fn draw_values(
    area: &Area<'_>,
    axis: &str,
    bars: &[ValueBar],
    colours: &Colours,
) -> Result<(), ChartError> {
    let decimals = |top: f64| match top {
        t if t >= 10.0 => 0,
        t if t >= 0.1 => 2,
        _ => 4,
    };
    draw_bars(area, axis, bars, colours, ("", decimals))
}

/// One bar per model, its label above it; axis ticks are `prefix` and the value with as many
/// decimals as `decimals` gives for the highest value.
fn draw_bars(
    area: &Area<'_>,
    axis: &str,
    bars: &[ValueBar],
    colours: &Colours,
    (prefix, decimals): (&str, impl Fn(f64) -> usize),
) -> Result<(), ChartError> {
    let models: Vec<&str> = bars.iter().map(|b| b.model.as_str()).collect();
    let top = bars
        .iter()
        .map(|b| finite_or_zero(b.value))
        .fold(0.0, f64::max);
    let height = |b: &ValueBar| finite_or_zero(b.value).max(0.0);
    let decimals = decimals(top);
    let mut chart = bar_frame(area, &models, axis_top(top), axis, &|v| {
        format!("{prefix}{v:.decimals$}")
    })?;
    chart
        .draw_series(
            bars.iter()
                .enumerate()
                .map(|(i, b)| bar(i, 0.0, height(b), colours.of(&b.model))),
        )
        .map_err(draw_error)?;
    chart
        .draw_series(
            bars.iter()
                .enumerate()
                .map(|(i, b)| value_label(b.label.clone(), i, height(b))),
        )
        .map_err(draw_error)?;
    Ok(())
}

fn draw_ratings(
    area: &Area<'_>,
    ratings: &[RatingInterval],
    colours: &Colours,
) -> Result<(), ChartError> {
    // Best at the top: segment 0 is the bottom row.
    let mut rows: Vec<&RatingInterval> = ratings.iter().collect();
    rows.sort_by(|a, b| a.rating.total_cmp(&b.rating));
    let names: Vec<&str> = rows.iter().map(|r| r.model.as_str()).collect();
    let labels = model_labels(&names, 200);
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(4) as u32;
    let label_area = (longest * 8 + 16).clamp(60, 240);

    let low = rows
        .iter()
        .map(|r| r.low.min(r.rating))
        .fold(f64::INFINITY, f64::min);
    let high = rows
        .iter()
        .map(|r| r.high.max(r.rating))
        .fold(f64::NEG_INFINITY, f64::max);
    let (low, high) = if low.is_finite() && high.is_finite() {
        (low, high)
    } else {
        (900.0, 1100.0)
    };
    let pad = ((high - low) * 0.12).max(20.0);
    // Room on the right for the value labels.
    let x_range = (low - pad)..(high + pad * 2.5);

    let mut chart = ChartBuilder::on(area)
        .margin_left(12)
        .margin_right(24)
        .margin_bottom(10)
        .x_label_area_size(44)
        .y_label_area_size(label_area)
        .build_cartesian_2d(x_range, slots(rows.len()))
        .map_err(draw_error)?;
    let y_format = |v: &f64| slot_label(&labels, *v);
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .axis_style(MUTED)
        .label_style(text_style(14, TEXT))
        .axis_desc_style(text_style(15, TEXT))
        .y_labels(rows.len())
        .y_label_formatter(&y_format)
        .x_labels(7)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .x_desc("rating (Elo scale, 1000 = average) with 95% interval")
        .draw()
        .map_err(draw_error)?;

    chart
        .draw_series(rows.iter().enumerate().map(|(i, r)| {
            ErrorBar::new_horizontal(
                slot_centre(i),
                r.low.min(r.rating),
                r.rating,
                r.high.max(r.rating),
                colours.of(&r.model).stroke_width(3),
                12,
            )
        }))
        .map_err(draw_error)?;
    chart
        .draw_series(rows.iter().enumerate().map(|(i, r)| {
            Circle::new((r.rating, slot_centre(i)), 6, colours.of(&r.model).filled())
        }))
        .map_err(draw_error)?;
    chart
        .draw_series(rows.iter().enumerate().map(|(i, r)| {
            Text::new(
                format!("{:.0}  [{:.0}–{:.0}]", r.rating, r.low, r.high),
                (r.high.max(r.rating) + pad * 0.15, slot_centre(i)),
                text_style(13, TEXT).pos(Pos::new(HPos::Left, VPos::Center)),
            )
        }))
        .map_err(draw_error)?;
    Ok(())
}

fn draw_latency_over_time(
    area: &Area<'_>,
    series: &[DailyLatency],
    colours: &Colours,
) -> Result<(), ChartError> {
    let points = || series.iter().flat_map(|s| s.points.iter());
    let first = points().map(|p| p.0).min().unwrap_or(0);
    let last = points().map(|p| p.0).max().unwrap_or(0);
    let (first, last) = if first == last {
        (first - 1, last + 1)
    } else {
        (first, last)
    };
    let top = points()
        .map(|p| finite_or_zero(p.1) / 1000.0)
        .fold(0.0, f64::max);
    let days = (last - first + 1) as usize;

    let mut chart = ChartBuilder::on(area)
        .margin_left(12)
        .margin_right(28)
        .margin_bottom(10)
        .x_label_area_size(44)
        .y_label_area_size(80)
        .build_cartesian_2d(f64::from(first)..f64::from(last), 0f64..axis_top(top) * 1.2)
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .axis_style(MUTED)
        .label_style(text_style(14, TEXT))
        .axis_desc_style(text_style(15, TEXT))
        .x_labels(days.min(8))
        .x_label_formatter(&|v| month_day(v.round() as i32))
        .y_labels(6)
        .y_label_formatter(&|v| seconds(*v))
        .x_desc("day (UTC)")
        .y_desc("latency, daily mean (s)")
        .draw()
        .map_err(draw_error)?;

    let lines: Vec<&DailyLatency> = series.iter().filter(|s| !s.points.is_empty()).collect();
    let names: Vec<&str> = lines.iter().map(|l| l.model.as_str()).collect();
    for (line, label) in lines.iter().zip(model_labels(&names, 28 * 8)) {
        let colour = colours.of(&line.model);
        let mut sorted: Vec<(f64, f64)> = line
            .points
            .iter()
            .map(|(day, ms)| (f64::from(*day), finite_or_zero(*ms) / 1000.0))
            .collect();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart
            .draw_series(LineSeries::new(
                sorted.iter().copied(),
                colour.stroke_width(2),
            ))
            .map_err(draw_error)?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(3))
            });
        chart
            .draw_series(sorted.iter().map(|p| Circle::new(*p, 3, colour.filled())))
            .map_err(draw_error)?;
    }
    draw_legend(&mut chart)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_truncated_by_characters() {
        assert_eq!(truncate_label("short", 10), "short");
        assert_eq!(truncate_label("anthropic/claude-sonnet", 10), "anthropic…");
        assert_eq!(truncate_label("ドラゴンの物語", 4), "ドラゴ…");
    }

    #[test]
    fn compact_numbers() {
        assert_eq!(compact_number(950.0), "950");
        assert_eq!(compact_number(1500.0), "1.5k");
        assert_eq!(compact_number(25_000.0), "25k");
        assert_eq!(compact_number(2_300_000.0), "2.3M");
        assert_eq!(compact_number(2.5), "2.5");
        assert_eq!(usd(0.01234), "$0.0123");
        assert_eq!(seconds(0.456), "0.46");
        assert_eq!(seconds(2.34), "2.3");
        assert_eq!(seconds(14.2), "14");
    }
}
