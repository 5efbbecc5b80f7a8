use std::collections::HashSet;

use gamemaster::core::stats::chart::{
    Chart, ChartError, CostBar, DEFAULT_HEIGHT, DEFAULT_WIDTH, DailyLatency, LatencyBar,
    RatingInterval, TokenBar, render,
};
use gamemaster::core::stats::palette::{Colours, short_labels};
use gamemaster::core::stats::{CallSample, model_stats};

struct Decoded {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

fn decode(bytes: &[u8]) -> Decoded {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    let decoder = png::Decoder::new(bytes);
    let mut reader = decoder.read_info().expect("PNG header");
    let mut rgb = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut rgb).expect("PNG frame");
    assert_eq!(info.color_type, png::ColorType::Rgb, "opaque RGB, no alpha");
    rgb.truncate(info.buffer_size());
    Decoded {
        width: info.width,
        height: info.height,
        rgb,
    }
}

fn distinct_colours(image: &Decoded) -> usize {
    image
        .rgb
        .chunks_exact(3)
        .map(|p| (p[0], p[1], p[2]))
        .collect::<HashSet<_>>()
        .len()
}

/// Bytes of the top `rows` pixel rows.
fn top_rows(image: &Decoded, rows: u32) -> &[u8] {
    &image.rgb[..(image.width * rows * 3) as usize]
}

const MODELS: [&str; 4] = [
    "gpt-4o-mini",
    "claude-3-5-sonnet",
    "deepseek-chat",
    "llama-3.1-70b-instruct",
];

fn all_kinds(title: &str) -> Vec<Chart> {
    let title = title.to_owned();
    vec![
        Chart::Latency {
            title: title.clone(),
            bars: MODELS
                .iter()
                .enumerate()
                .map(|(i, m)| LatencyBar {
                    model: m.to_string(),
                    p50_ms: 700.0 + 300.0 * i as f64,
                    p95_ms: 1400.0 + 500.0 * i as f64,
                })
                .collect(),
        },
        Chart::Tokens {
            title: title.clone(),
            bars: MODELS
                .iter()
                .enumerate()
                .map(|(i, m)| TokenBar {
                    model: m.to_string(),
                    tokens_in: 1800.0 + 100.0 * i as f64,
                    tokens_out: 250.0 + 40.0 * i as f64,
                })
                .collect(),
        },
        Chart::Cost {
            title: title.clone(),
            bars: MODELS
                .iter()
                .enumerate()
                .map(|(i, m)| CostBar {
                    model: m.to_string(),
                    cost_usd: 0.02 * (i + 1) as f64,
                })
                .collect(),
        },
        Chart::Ratings {
            title: title.clone(),
            ratings: MODELS
                .iter()
                .enumerate()
                .map(|(i, m)| RatingInterval {
                    model: m.to_string(),
                    rating: 925.0 + 50.0 * i as f64,
                    low: 900.0 + 50.0 * i as f64,
                    high: 955.0 + 50.0 * i as f64,
                })
                .collect(),
        },
        Chart::LatencyOverTime {
            title,
            series: MODELS
                .iter()
                .enumerate()
                .map(|(i, m)| DailyLatency {
                    model: m.to_string(),
                    points: (0..7)
                        .map(|d| (20_000 + d, 600.0 + 120.0 * i as f64 + 40.0 * (d % 3) as f64))
                        .collect(),
                })
                .collect(),
        },
    ]
}

#[test]
fn every_kind_renders_a_valid_non_trivial_png_of_the_requested_size() {
    for (width, height) in [(DEFAULT_WIDTH, DEFAULT_HEIGHT), (640, 360)] {
        for chart in all_kinds("Model comparison") {
            let image = decode(&render(&chart, width, height).expect("render"));
            assert_eq!((image.width, image.height), (width, height), "{chart:?}");
            let colours = distinct_colours(&image);
            assert!(colours > 20, "only {colours} colours in {chart:?}");
        }
    }
}

#[test]
fn the_title_is_drawn_in_the_title_area() {
    for (titled, untitled) in all_kinds("Latency by model").iter().zip(all_kinds("")) {
        let with_title = decode(&render(titled, 800, 500).unwrap());
        let without = decode(&render(&untitled, 800, 500).unwrap());
        assert_ne!(top_rows(&with_title, 40), top_rows(&without, 40));
        // An empty title leaves the title band as plain card background.
        let background = &without.rgb[..3];
        assert!(
            top_rows(&without, 40)
                .chunks_exact(3)
                .all(|p| p == background),
            "untitled band is not plain"
        );
    }
}

#[test]
fn the_card_is_opaque_and_mid_dark() {
    let image = decode(&render(&all_kinds("t")[0], 800, 500).unwrap());
    let corner = &image.rgb[..3];
    assert_eq!(corner, [0x2b, 0x2d, 0x31]);
}

#[test]
fn empty_data_renders_a_no_data_card() {
    let empty = [
        Chart::Latency {
            title: "Latency".into(),
            bars: vec![],
        },
        Chart::Ratings {
            title: "Arena".into(),
            ratings: vec![],
        },
        Chart::LatencyOverTime {
            title: "Per day".into(),
            series: vec![DailyLatency {
                model: "a".into(),
                points: vec![],
            }],
        },
    ];
    for chart in empty {
        let image = decode(&render(&chart, 800, 500).unwrap());
        // Title and notice only: far fewer colours than a real chart, but some text.
        let colours = distinct_colours(&image);
        assert!(colours > 3, "{chart:?}");
        // The notice is centred below the title band.
        let row_bytes = image.width as usize * 3;
        let band = &image.rgb
            [(image.height as usize / 2) * row_bytes..(image.height as usize / 2 + 40) * row_bytes];
        assert!(
            band.chunks_exact(3).any(|p| p != &image.rgb[..3]),
            "no notice in the middle of {chart:?}"
        );
    }
}

#[test]
fn unicode_long_names_and_single_items_render() {
    let long = "openrouter/anthropic/claude-3-5-sonnet-20241022:beta-with-a-very-long-suffix";
    let charts = [
        Chart::Cost {
            title: "Coût par modèle — ドラゴン 🐉".into(),
            bars: vec![
                CostBar {
                    model: "ドラゴン-モデル".into(),
                    cost_usd: 0.5,
                },
                CostBar {
                    model: long.into(),
                    cost_usd: 12.0,
                },
            ],
        },
        Chart::Latency {
            title: "one".into(),
            bars: vec![LatencyBar {
                model: "solo".into(),
                p50_ms: 100.0,
                p95_ms: 100.0,
            }],
        },
        Chart::Ratings {
            title: "one".into(),
            ratings: vec![RatingInterval {
                model: long.into(),
                rating: 1000.0,
                low: 1000.0,
                high: 1000.0,
            }],
        },
        Chart::LatencyOverTime {
            title: "one day".into(),
            series: vec![DailyLatency {
                model: "Ünïcødé".into(),
                points: vec![(19_000, 0.0)],
            }],
        },
    ];
    for chart in charts {
        let image = decode(&render(&chart, 800, 500).expect("render"));
        assert!(distinct_colours(&image) > 10, "{chart:?}");
    }
}

#[test]
fn non_finite_values_do_not_break_rendering() {
    let chart = Chart::Cost {
        title: "odd".into(),
        bars: vec![
            CostBar {
                model: "nan".into(),
                cost_usd: f64::NAN,
            },
            CostBar {
                model: "inf".into(),
                cost_usd: f64::INFINITY,
            },
        ],
    };
    decode(&render(&chart, 800, 500).expect("render"));
}

#[test]
fn rejects_unreasonable_sizes() {
    let chart = &all_kinds("t")[0];
    assert_eq!(
        render(chart, 0, 500),
        Err(ChartError::InvalidSize {
            width: 0,
            height: 500
        })
    );
    assert!(matches!(
        render(chart, 800, 100_000),
        Err(ChartError::InvalidSize { .. })
    ));
}

#[test]
fn five_models_get_five_colours_and_bars_as_tall_as_their_latency() {
    let models = [
        "openai:gpt-4o",
        "anthropic:claude-sonnet-4-5",
        "deepseek:deepseek-chat",
        "openrouter:meta-llama/llama-3.3-70b-instruct",
        "local:gemma-3-270m",
    ];
    let bars: Vec<LatencyBar> = models
        .iter()
        .enumerate()
        .map(|(i, m)| LatencyBar {
            model: (*m).into(),
            p50_ms: 1000.0 * (i + 1) as f64,
            p95_ms: 1000.0 * (i + 1) as f64,
        })
        .collect();
    let chart = Chart::Latency {
        title: String::new(),
        bars,
    };
    let colours = Colours::for_models(chart.models());
    let image = decode(&render(&chart, 800, 500).unwrap());
    let area = |m: &str| {
        let c = colours.of(m);
        image
            .rgb
            .chunks(3)
            .filter(|px| px == &[c.0, c.1, c.2])
            .count() as f64
    };
    let areas: Vec<f64> = models.iter().map(|m| area(m)).collect();
    let distinct: HashSet<_> = models
        .iter()
        .map(|m| {
            let c = colours.of(m);
            (c.0, c.1, c.2)
        })
        .collect();
    assert_eq!(distinct.len(), 5);
    // Equal widths, so each bar's area is its height: 1 : 2 : 3 : 4 : 5 as the data.
    for (i, a) in areas.iter().enumerate() {
        let ratio = a / areas[0];
        assert!(
            (ratio - (i + 1) as f64).abs() < 0.05 * (i + 1) as f64,
            "bar {i}: {ratio:.2} times the first ({areas:?})"
        );
    }
    assert_eq!(
        short_labels(&models),
        [
            "gpt-4o",
            "claude-sonnet-4-5",
            "deepseek-chat",
            "llama-3.3-70b-instruct",
            "gemma-3-270m"
        ]
    );
}

#[test]
fn charts_from_aggregated_stats() {
    let calls: Vec<CallSample> = (0..50)
        .map(|i| CallSample {
            model: MODELS[i % 4].to_owned(),
            latency_ms: 500 + 10 * i as i64,
            ttft_ms: Some(100),
            tokens_in: Some(1000),
            tokens_out: Some(200),
            cost_usd: Some(0.001),
            ok: i % 7 != 0,
        })
        .collect();
    let stats = model_stats(&calls, &[], &[]);
    let bars: Vec<LatencyBar> = stats.iter().filter_map(LatencyBar::from_stats).collect();
    assert_eq!(bars.len(), 4);
    let costs: Vec<CostBar> = stats.iter().filter_map(CostBar::from_stats).collect();
    let tokens: Vec<TokenBar> = stats.iter().filter_map(TokenBar::from_stats).collect();
    assert_eq!(tokens[0].tokens_out, 200.0);
    for chart in [
        Chart::Latency {
            title: "Latency".into(),
            bars,
        },
        Chart::Cost {
            title: "Cost".into(),
            bars: costs,
        },
        Chart::Tokens {
            title: "Tokens".into(),
            bars: tokens,
        },
    ] {
        decode(&render(&chart, 800, 500).unwrap());
    }
    assert!(
        stats
            .iter()
            .filter_map(RatingInterval::from_stats)
            .next()
            .is_none()
    );
}
