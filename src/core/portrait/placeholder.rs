//! A local placeholder portrait for characters without a generated image: a background
//! derived from the name, the initials large in the centre, and a simple emblem and banner for
//! the class. Deterministic, so the same character always gets the same picture.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::core::stats::chart::{ChartError, fnv1a, render_png, text_style, truncate_label};

/// Side of the square placeholder, in pixels.
pub const PORTRAIT_SIDE: u32 = 512;

const INK: RGBColor = RGBColor(0xf2, 0xf3, 0xf5);

/// Renders a `PORTRAIT_SIDE`-square PNG placeholder portrait.
pub fn render_placeholder(name: &str, class: &str) -> Result<Vec<u8>, ChartError> {
    let background = background_colour(name);
    let initials = initials(name);
    let emblem = Emblem::for_class(class);
    let banner = truncate_label(class.trim(), 18).to_uppercase();
    render_png(PORTRAIT_SIDE, PORTRAIT_SIDE, background, |root| {
        let s = PORTRAIT_SIDE as i32;
        let draw_error = |e: DrawingAreaErrorKind<_>| ChartError::Draw(e.to_string());
        // A darker inner frame gives the card some depth.
        let frame = darker(background, 0.75);
        root.draw(&Rectangle::new(
            [(16, 16), (s - 16, s - 16)],
            frame.stroke_width(6),
        ))
        .map_err(draw_error)?;
        root.draw(&Circle::new(
            (s / 2, 200),
            130,
            darker(background, 0.8).filled(),
        ))
        .map_err(draw_error)?;
        let initials_style = text_style(150, INK).pos(Pos::new(HPos::Center, VPos::Center));
        root.draw_text(&initials, &initials_style, (s / 2, 200))
            .map_err(draw_error)?;
        emblem.draw(root, (s / 2, 385))?;
        if !banner.is_empty() {
            root.draw(&Rectangle::new([(40, 440), (s - 40, 488)], frame.filled()))
                .map_err(draw_error)?;
            let banner_style = text_style(28, INK).pos(Pos::new(HPos::Center, VPos::Center));
            root.draw_text(&banner, &banner_style, (s / 2, 464))
                .map_err(draw_error)?;
        }
        Ok(())
    })
}

/// A mid-dark colour from the name's hash: any hue, fixed saturation and lightness, so the
/// light initials always stand out.
pub fn background_colour(name: &str) -> RGBColor {
    let hash = fnv1a(name.trim().to_lowercase().as_bytes());
    let hue = (hash % 360) as f64;
    let (r, g, b) = hsl_to_rgb(hue, 0.45, 0.32);
    RGBColor(r, g, b)
}

/// Up to two initials: the first letter of the first and last words, upper-cased.
/// `"Elara Moonwhisper"` -> `"EM"`, `"Grog"` -> `"G"`, `""` -> `"?"`.
pub fn initials(name: &str) -> String {
    let words: Vec<&str> = name.split_whitespace().collect();
    let first_letter = |word: &str| word.chars().find(|c| c.is_alphanumeric());
    let letters: Vec<char> = match words.as_slice() {
        [] => vec![],
        [only] => first_letter(only).into_iter().collect(),
        [first, .., last] => first_letter(first)
            .into_iter()
            .chain(first_letter(last))
            .collect(),
    };
    if letters.is_empty() {
        return "?".to_owned();
    }
    letters.into_iter().flat_map(char::to_uppercase).collect()
}

fn darker(colour: RGBColor, factor: f64) -> RGBColor {
    let scale = |c: u8| (f64::from(c) * factor).round() as u8;
    RGBColor(scale(colour.0), scale(colour.1), scale(colour.2))
}

pub(crate) fn hsl_to_rgb(hue: f64, saturation: f64, lightness: f64) -> (u8, u8, u8) {
    let chroma = (1.0 - (2.0 * lightness - 1.0).abs()) * saturation;
    let h = hue / 60.0;
    let x = chroma * (1.0 - (h % 2.0 - 1.0).abs());
    let (r, g, b) = match h as u32 {
        0 => (chroma, x, 0.0),
        1 => (x, chroma, 0.0),
        2 => (0.0, chroma, x),
        3 => (0.0, x, chroma),
        4 => (x, 0.0, chroma),
        _ => (chroma, 0.0, x),
    };
    let m = lightness - chroma / 2.0;
    let byte = |v: f64| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    (byte(r), byte(g), byte(b))
}

/// A simple glyph per D&D class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emblem {
    Sword,
    Staff,
    Dagger,
    Cross,
    Bow,
    Shield,
    Axe,
    Note,
    Leaf,
    Fist,
    Star,
    Eye,
    Gear,
    Diamond,
}

impl Emblem {
    /// Matches the class name loosely (case-insensitive, first word): unknown classes get a
    /// plain diamond.
    pub fn for_class(class: &str) -> Emblem {
        let class = class.trim().to_lowercase();
        match class.split_whitespace().next().unwrap_or("") {
            "fighter" | "warrior" | "knight" => Emblem::Sword,
            "wizard" | "mage" => Emblem::Staff,
            "rogue" | "thief" | "assassin" => Emblem::Dagger,
            "cleric" | "priest" => Emblem::Cross,
            "ranger" | "hunter" => Emblem::Bow,
            "paladin" => Emblem::Shield,
            "barbarian" => Emblem::Axe,
            "bard" => Emblem::Note,
            "druid" => Emblem::Leaf,
            "monk" => Emblem::Fist,
            "sorcerer" => Emblem::Star,
            "warlock" => Emblem::Eye,
            "artificer" => Emblem::Gear,
            _ => Emblem::Diamond,
        }
    }

    /// Draws the emblem in a box of about 90×90 pixels centred on `centre`.
    fn draw<DB: DrawingBackend>(
        self,
        area: &DrawingArea<DB, plotters::coord::Shift>,
        (cx, cy): (i32, i32),
    ) -> Result<(), ChartError> {
        let at = |dx: i32, dy: i32| (cx + dx, cy + dy);
        let fill = INK.filled();
        let line = INK.stroke_width(6);
        let thin = INK.stroke_width(3);
        let result = match self {
            Emblem::Sword => area
                .draw(&Polygon::new(
                    vec![at(-6, 20), at(-6, -38), at(0, -46), at(6, -38), at(6, 20)],
                    fill,
                ))
                .and_then(|_| area.draw(&Rectangle::new([at(-22, 20), at(22, 27)], fill)))
                .and_then(|_| area.draw(&Rectangle::new([at(-4, 27), at(4, 44)], fill))),
            Emblem::Staff => area
                .draw(&PathElement::new(vec![at(-22, 44), at(14, -24)], line))
                .and_then(|_| area.draw(&Circle::new(at(18, -32), 13, fill))),
            Emblem::Dagger => area
                .draw(&Polygon::new(vec![at(-5, 10), at(0, -34), at(5, 10)], fill))
                .and_then(|_| area.draw(&Rectangle::new([at(-16, 10), at(16, 16)], fill)))
                .and_then(|_| area.draw(&Rectangle::new([at(-4, 16), at(4, 34)], fill))),
            Emblem::Cross => area
                .draw(&Rectangle::new([at(-8, -44), at(8, 44)], fill))
                .and_then(|_| area.draw(&Rectangle::new([at(-30, -22), at(30, -6)], fill))),
            Emblem::Bow => {
                let arc: Vec<(i32, i32)> = (0..=16)
                    .map(|k| {
                        let t = -1.2 + 2.4 * f64::from(k) / 16.0;
                        at((t.cos() * 40.0) as i32 - 18, (t.sin() * 44.0) as i32)
                    })
                    .collect();
                let (top, bottom) = (arc[0], arc[16]);
                area.draw(&PathElement::new(arc, line))
                    .and_then(|_| area.draw(&PathElement::new(vec![top, bottom], thin)))
                    .and_then(|_| area.draw(&PathElement::new(vec![at(-30, 0), at(36, 0)], thin)))
            }
            Emblem::Shield => area.draw(&Polygon::new(
                vec![at(-34, -40), at(34, -40), at(34, 0), at(0, 44), at(-34, 0)],
                fill,
            )),
            Emblem::Axe => area
                .draw(&PathElement::new(vec![at(0, -44), at(0, 44)], line))
                .and_then(|_| {
                    area.draw(&Polygon::new(
                        vec![at(0, -36), at(34, -48), at(34, 4), at(0, -8)],
                        fill,
                    ))
                }),
            Emblem::Note => area
                .draw(&Circle::new(at(-14, 28), 14, fill))
                .and_then(|_| area.draw(&PathElement::new(vec![at(-2, 28), at(-2, -40)], line)))
                .and_then(|_| area.draw(&PathElement::new(vec![at(-2, -40), at(24, -26)], line))),
            Emblem::Leaf => area
                .draw(&Polygon::new(
                    vec![
                        at(0, -46),
                        at(26, -16),
                        at(22, 18),
                        at(0, 40),
                        at(-22, 18),
                        at(-26, -16),
                    ],
                    fill,
                ))
                .and_then(|_| {
                    area.draw(&PathElement::new(vec![at(0, -30), at(0, 46)], darker_ink()))
                }),
            Emblem::Fist => area
                .draw(&Circle::new(at(0, 0), 36, line))
                .and_then(|_| area.draw(&Circle::new(at(0, 0), 14, fill))),
            Emblem::Star => area.draw(&Polygon::new(star_points(at(0, 0), 46.0, 19.0), fill)),
            Emblem::Eye => area
                .draw(&Polygon::new(
                    vec![
                        at(-46, 0),
                        at(-20, -22),
                        at(20, -22),
                        at(46, 0),
                        at(20, 22),
                        at(-20, 22),
                    ],
                    fill,
                ))
                .and_then(|_| area.draw(&Circle::new(at(0, 0), 12, darker_ink().filled()))),
            Emblem::Gear => area
                .draw(&Circle::new(at(0, 0), 30, fill))
                .and_then(|_| area.draw(&Polygon::new(star_points(at(0, 0), 44.0, 30.0), fill)))
                .and_then(|_| area.draw(&Circle::new(at(0, 0), 11, darker_ink().filled()))),
            Emblem::Diamond => area.draw(&Polygon::new(
                vec![at(0, -44), at(32, 0), at(0, 44), at(-32, 0)],
                fill,
            )),
        };
        result.map_err(|e| ChartError::Draw(e.to_string()))
    }
}

fn darker_ink() -> RGBColor {
    RGBColor(0x30, 0x30, 0x36)
}

/// A five-pointed star (or an eight-toothed gear outline, same helper) around `centre`.
fn star_points((cx, cy): (i32, i32), outer: f64, inner: f64) -> Vec<(i32, i32)> {
    let points = if inner / outer > 0.6 { 16 } else { 10 };
    (0..points)
        .map(|k| {
            let radius = if k % 2 == 0 { outer } else { inner };
            let angle = -std::f64::consts::FRAC_PI_2
                + std::f64::consts::PI * 2.0 * f64::from(k) / f64::from(points);
            (
                cx + (angle.cos() * radius).round() as i32,
                cy + (angle.sin() * radius).round() as i32,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_from_names() {
        assert_eq!(initials("Elara Moonwhisper"), "EM");
        assert_eq!(initials("grog"), "G");
        assert_eq!(initials("Sir Reginald of the Vale"), "SV");
        assert_eq!(initials("  "), "?");
        assert_eq!(initials("élodie 'Quick' Durand"), "ÉD");
    }

    #[test]
    fn classes_map_to_emblems() {
        assert_eq!(Emblem::for_class("Fighter"), Emblem::Sword);
        assert_eq!(Emblem::for_class(" wizard "), Emblem::Staff);
        assert_eq!(Emblem::for_class("Cleric (Life domain)"), Emblem::Cross);
        assert_eq!(Emblem::for_class("Blood Hunter"), Emblem::Diamond);
    }

    #[test]
    fn hsl_primaries() {
        assert_eq!(hsl_to_rgb(0.0, 1.0, 0.5), (255, 0, 0));
        assert_eq!(hsl_to_rgb(120.0, 1.0, 0.5), (0, 255, 0));
        assert_eq!(hsl_to_rgb(240.0, 1.0, 0.5), (0, 0, 255));
    }
}
