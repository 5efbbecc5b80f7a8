//! The bitmap the charts draw on, with text laid out properly.
//!
//! plotters 0.3.7's ab_glyph path places each glyph at its advance origin rounded down to a
//! whole pixel and ignores the glyph's left side bearing, so letters sit unevenly ("T o
//! k ens"). [`ChartBitmap`] hands every drawing call to plotters' `BitMapBackend` except
//! text: there, glyphs are positioned at fractional x by their advances and kerning pairs,
//! rasterised at that fractional position with their bearings, and blended by coverage.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use plotters::backend::{BitMapBackend, DrawingBackend};
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind,
};

type Error = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

/// The chart font, parsed once.
fn font() -> &'static FontRef<'static> {
    static FONT: OnceLock<FontRef<'static>> = OnceLock::new();
    FONT.get_or_init(|| {
        FontRef::try_from_slice(super::chart::FONT_BYTES).expect("the bundled font parses")
    })
}

/// One glyph of a laid-out line: its pixels relative to the line's top-left corner.
struct Laid {
    width: f32,
    height: f32,
    pixels: Vec<(i32, i32, f32)>,
}

/// Lays `text` out on one line at `size` pixels: the pen moves by each advance plus the
/// kerning with the previous glyph, and the baseline sits at the font's ascent.
fn lay_out(text: &str, size: f32, rasterise: bool) -> Laid {
    let font = font();
    let scaled = font.as_scaled(PxScale::from(size));
    let ascent = scaled.ascent();
    let mut pen = 0f32;
    let mut previous = None;
    let mut pixels = Vec::new();
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(prev) = previous {
            pen += scaled.kern(prev, id);
        }
        previous = Some(id);
        if rasterise {
            let glyph = id.with_scale_and_position(PxScale::from(size), point(pen, ascent));
            if let Some(outline) = font.outline_glyph(glyph) {
                let bounds = outline.px_bounds();
                outline.draw(|x, y, coverage| {
                    let x = bounds.min.x as i32 + x as i32;
                    let y = bounds.min.y as i32 + y as i32;
                    pixels.push((x, y, coverage));
                });
            }
        }
        pen += scaled.h_advance(id);
    }
    Laid {
        width: pen,
        height: ascent - scaled.descent(),
        pixels,
    }
}

/// Width and height in whole pixels of `text` at `size`, as the charts lay it out.
pub fn text_size(text: &str, size: f64) -> (u32, u32) {
    let laid = lay_out(text, size as f32, false);
    (laid.width.ceil() as u32, laid.height.ceil() as u32)
}

/// plotters' bitmap backend, with [`lay_out`] for text.
pub struct ChartBitmap<'a>(pub BitMapBackend<'a>);

impl DrawingBackend for ChartBitmap<'_> {
    type ErrorType = Error;

    fn get_size(&self) -> (u32, u32) {
        self.0.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Error>> {
        self.0.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Error>> {
        self.0.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.0.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.0.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.0.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.0.blit_bitmap(pos, size, src)
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Error>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let laid = lay_out(text, style.size() as f32, true);
        let (width, height) = (laid.width.round() as i32, laid.height.round() as i32);
        let anchor = style.anchor();
        let dx = match anchor.h_pos {
            HPos::Left => 0,
            HPos::Right => -width,
            HPos::Center => -width / 2,
        };
        let dy = match anchor.v_pos {
            VPos::Top => 0,
            VPos::Center => -height / 2,
            VPos::Bottom => -height,
        };
        let transform = style.transform();
        let (w, h) = self.get_size();
        for (x, y, coverage) in laid.pixels {
            let (x, y) = transform.transform(x + dx, y + dy);
            let (x, y) = (pos.0 + x, pos.1 + y);
            if x >= 0 && x < w as i32 && y >= 0 && y < h as i32 {
                self.0.draw_pixel((x, y), color.mix(f64::from(coverage)))?;
            }
        }
        Ok(())
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<Error>> {
        Ok(text_size(text, style.size()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The columns holding ink in a rendering of `text`, left to right.
    fn inked_columns(text: &str) -> Vec<i32> {
        let mut columns: Vec<i32> = lay_out(text, 22.0, true)
            .pixels
            .into_iter()
            .filter(|(_, _, c)| *c > 0.5)
            .map(|(x, _, _)| x)
            .collect();
        columns.sort_unstable();
        columns.dedup();
        columns
    }

    #[test]
    fn glyphs_keep_their_bearings_and_advances() {
        // "l" has a left side bearing: its ink does not start at the pen.
        let l = inked_columns("l");
        assert!(l[0] > 0, "{l:?}");
        // A glyph's ink moves with the text before it by that text's advance, not rounded
        // per glyph: "ll" ends where "l" does plus one advance.
        let one = text_size("l", 22.0).0 as f32;
        let ll = inked_columns("ll");
        let shift = *ll.last().unwrap() - *l.last().unwrap();
        assert!((shift as f32 - one).abs() <= 1.0, "{shift} vs {one}");
    }

    #[test]
    fn size_is_the_advance_width_and_line_height() {
        let (w, h) = text_size("Latency (p50)", 22.0);
        assert!((100..200).contains(&w), "{w}");
        assert!((22..32).contains(&h), "{h}");
        assert_eq!(text_size("", 22.0).0, 0);
    }
}
