//! Portraits that fit in a chat message. Discord refuses a message whose files pass 10 MiB,
//! and an image model can return more: a larger size, or a lossless PNG of a detailed
//! picture. Such a PNG is downscaled (area-averaged, its sides shrunk by a quarter at a time
//! until it fits) and stored as the smaller PNG; a JPEG or WebP over the limit cannot be
//! decoded here and is refused, so the placeholder shows instead.

use super::icon::{Region, decode_rgba, encode_rgba, resample};

/// The most bytes a portrait may have: Discord's upload limit for a bot's message, less room
/// for the rest of the request (the embed's JSON and the multipart framing).
pub const MAX_PORTRAIT_BYTES: usize = (10 << 20) - (64 << 10);

/// Why a picture cannot be made to fit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FitError {
    #[error(
        "the image is {bytes} bytes, over the {limit}-byte limit, and is not a PNG that can be scaled down"
    )]
    TooLarge { bytes: usize, limit: usize },
}

/// `bytes` as they are when they fit in `limit`, or else a downscaled PNG that does.
pub fn fit_upload(bytes: Vec<u8>, limit: usize) -> Result<Vec<u8>, FitError> {
    if bytes.len() <= limit {
        return Ok(bytes);
    }
    let too_large = FitError::TooLarge {
        bytes: bytes.len(),
        limit,
    };
    let (mut width, mut height, mut rgba) = decode_rgba(&bytes).ok_or(too_large.clone())?;
    while width > 1 && height > 1 {
        let (w, h) = ((width * 3 / 4).max(1), (height * 3 / 4).max(1));
        rgba = resize(width, height, &rgba, w, h);
        (width, height) = (w, h);
        let png = encode_rgba(width, height, &rgba).ok_or(too_large.clone())?;
        if png.len() <= limit {
            return Ok(png);
        }
    }
    Err(too_large)
}

/// Area-averaged resampling of a whole RGBA picture to `out_w` x `out_h`.
fn resize(width: u32, height: u32, rgba: &[u8], out_w: u32, out_h: u32) -> Vec<u8> {
    let whole = Region {
        x0: 0,
        y0: 0,
        width,
        height,
    };
    resample(width, rgba, whole, out_w, out_h)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A picture PNG cannot compress: every byte from a simple generator.
    fn noise_png(side: u32) -> Vec<u8> {
        let mut state = 0x2545_f491_u32;
        let rgba: Vec<u8> = (0..side * side * 4)
            .map(|i| {
                if i % 4 == 3 {
                    return 255;
                }
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect();
        encode_rgba(side, side, &rgba).unwrap()
    }

    #[test]
    fn a_picture_that_fits_is_left_as_it_is() {
        let png = noise_png(64);
        assert_eq!(fit_upload(png.clone(), png.len()).unwrap(), png);
    }

    #[test]
    fn a_png_over_the_limit_is_scaled_down_until_it_fits() {
        let png = noise_png(512);
        let limit = png.len() / 2;
        let fitted = fit_upload(png, limit).unwrap();
        assert!(fitted.len() <= limit, "{} > {limit}", fitted.len());
        let (w, h, _) = decode_rgba(&fitted).unwrap();
        assert_eq!(w, h);
        assert!((256..512).contains(&w), "{w}");
    }

    #[test]
    fn other_formats_over_the_limit_are_refused() {
        let jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0, 0, 0];
        assert_eq!(
            fit_upload(jpeg, 4),
            Err(FitError::TooLarge { bytes: 8, limit: 4 })
        );
    }

    #[test]
    fn resizing_averages_areas() {
        // 2x1 black and white becomes one grey pixel.
        let rgba = [0, 0, 0, 255, 255, 255, 255, 255];
        assert_eq!(resize(2, 1, &rgba, 1, 1), vec![127, 127, 127, 255]);
    }
}
