//! Small copies of portraits for places Discord shows them tiny (the game master's icon on
//! every narration, drawn at 24 pixels). A generated 1024x1024 PNG weighs megabytes; the
//! icon a few kilobytes, so signing each narration costs almost nothing to upload.

/// Side of the icon in pixels: sharp on high-density screens at Discord's icon sizes.
pub const ICON_SIDE: u32 = 128;

/// A square `side`-pixel PNG of a PNG portrait (area-averaged, centre-cropped when not
/// square). `None` when the bytes are not a PNG this can read (JPEG and WebP are sent as
/// they are).
pub fn icon_png(bytes: &[u8], side: u32) -> Option<Vec<u8>> {
    let (width, height, rgba) = decode_rgba(bytes)?;
    let crop = width.min(height);
    if crop == 0 || side == 0 {
        return None;
    }
    let side = side.min(crop);
    let region = Region {
        x0: (width - crop) / 2,
        y0: (height - crop) / 2,
        width: crop,
        height: crop,
    };
    let out = resample(width, &rgba, region, side, side);
    encode_rgba(side, side, &out)
}

/// A rectangle of a picture's pixels.
#[derive(Clone, Copy)]
pub(super) struct Region {
    pub x0: u32,
    pub y0: u32,
    pub width: u32,
    pub height: u32,
}

/// Area-averaged resampling of `region` of an RGBA picture `width` pixels wide to
/// `out_w` x `out_h`.
pub(super) fn resample(width: u32, rgba: &[u8], region: Region, out_w: u32, out_h: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity((out_w * out_h * 4) as usize);
    for oy in 0..out_h {
        let (sy0, sy1) = span(oy, out_h, region.height);
        for ox in 0..out_w {
            let (sx0, sx1) = span(ox, out_w, region.width);
            let mut sum = [0u64; 4];
            for y in sy0..sy1 {
                let row = ((region.y0 + y) * width) as usize;
                for x in sx0..sx1 {
                    let p = (row + (region.x0 + x) as usize) * 4;
                    for (c, s) in sum.iter_mut().enumerate() {
                        *s += u64::from(rgba[p + c]);
                    }
                }
            }
            let n = u64::from((sy1 - sy0) * (sx1 - sx0));
            out.extend(sum.iter().map(|s| (s / n) as u8));
        }
    }
    out
}

/// The source pixels `[start, end)` that output pixel `i` of `out` averages over `src`.
fn span(i: u32, out: u32, src: u32) -> (u32, u32) {
    let start = u64::from(i) * u64::from(src) / u64::from(out);
    let end = (u64::from(i) + 1) * u64::from(src) / u64::from(out);
    (start as u32, (end as u32).max(start as u32 + 1))
}

pub(super) fn decode_rgba(bytes: &[u8]) -> Option<(u32, u32, Vec<u8>)> {
    let mut decoder = png::Decoder::new(bytes);
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().ok()?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).ok()?;
    buf.truncate(info.buffer_size());
    let (colour, depth) = reader.output_color_type();
    if depth != png::BitDepth::Eight {
        return None;
    }
    let rgba: Vec<u8> = match colour {
        png::ColorType::Rgba => buf,
        png::ColorType::Rgb => buf
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        png::ColorType::GrayscaleAlpha => buf
            .chunks_exact(2)
            .flat_map(|p| [p[0], p[0], p[0], p[1]])
            .collect(),
        png::ColorType::Grayscale => buf.iter().flat_map(|&g| [g, g, g, 255]).collect(),
        png::ColorType::Indexed => return None,
    };
    Some((info.width, info.height, rgba))
}

pub(super) fn encode_rgba(width: u32, height: u32, rgba: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().ok()?;
        writer.write_image_data(rgba).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_of(width: u32, height: u32, pixel: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
        let data: Vec<u8> = (0..height)
            .flat_map(|y| (0..width).map(move |x| (x, y)))
            .flat_map(|(x, y)| pixel(x, y))
            .collect();
        let mut out = Vec::new();
        {
            let mut e = png::Encoder::new(&mut out, width, height);
            e.set_color(png::ColorType::Rgb);
            e.set_depth(png::BitDepth::Eight);
            e.write_header().unwrap().write_image_data(&data).unwrap();
        }
        out
    }

    #[test]
    fn a_large_portrait_becomes_a_small_square_with_the_same_colours() {
        // Left half red, right half blue.
        let big = png_of(
            1024,
            1024,
            |x, _| if x < 512 { [255, 0, 0] } else { [0, 0, 255] },
        );
        let icon = icon_png(&big, ICON_SIDE).unwrap();
        let (w, h, rgba) = decode_rgba(&icon).unwrap();
        assert_eq!((w, h), (ICON_SIDE, ICON_SIDE));
        assert_eq!(&rgba[..4], [255, 0, 0, 255]);
        let last = rgba.len() - 4;
        assert_eq!(&rgba[last..], [0, 0, 255, 255]);
        assert!(icon.len() < big.len());
    }

    #[test]
    fn wide_images_are_centre_cropped_and_small_ones_are_not_enlarged() {
        let wide = png_of(30, 10, |x, _| {
            if (10..20).contains(&x) {
                [0, 255, 0]
            } else {
                [0; 3]
            }
        });
        let (w, h, rgba) = decode_rgba(&icon_png(&wide, 128).unwrap()).unwrap();
        assert_eq!((w, h), (10, 10));
        assert!(rgba.chunks_exact(4).all(|p| p == [0, 255, 0, 255]));
    }

    #[test]
    fn other_formats_are_left_alone() {
        assert_eq!(icon_png(&[0xFF, 0xD8, 0xFF, 0xE0], 128), None);
        assert_eq!(icon_png(b"not an image", 128), None);
    }
}
