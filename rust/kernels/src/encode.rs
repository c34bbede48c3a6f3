//! PNG encoding: sample grids laid out like `torchvision.utils.make_grid`, single images and
//! APNG animations. Fast compression uses `png`'s fdeflate path.

/// How hard to compress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// fdeflate, a DEFLATE specialised for PNG: several times faster than zlib level 6.
    Fast,
    /// zlib-like balanced level.
    Default,
    /// Smallest files, slowest.
    Best,
}

impl Compression {
    pub fn parse(name: &str) -> Option<Compression> {
        match name {
            "fast" => Some(Compression::Fast),
            "default" => Some(Compression::Default),
            "best" => Some(Compression::Best),
            _ => None,
        }
    }

    fn to_png(self) -> png::Compression {
        match self {
            Compression::Fast => png::Compression::Fast,
            Compression::Default => png::Compression::Balanced,
            Compression::Best => png::Compression::High,
        }
    }
}

/// Samples of a batch to tile: floats in [-1, 1] or bytes.
#[derive(Debug, Clone, Copy)]
pub enum Samples<'a> {
    F32(&'a [f32]),
    U8(&'a [u8]),
}

impl Samples<'_> {
    fn len(&self) -> usize {
        match self {
            Samples::F32(v) => v.len(),
            Samples::U8(v) => v.len(),
        }
    }
}

/// Map a float in [-1, 1] to a byte exactly as torchvision does with
/// `make_grid(normalize=True, value_range=(-1, 1))` then `save_image`.
#[inline]
fn float_to_byte(x: f32) -> u8 {
    let v = if x.is_nan() { -1.0 } else { x.clamp(-1.0, 1.0) };
    (((v + 1.0) / 2.0) * 255.0 + 0.5).clamp(0.0, 255.0) as u8
}

/// A tiled grid: interleaved `channels`-channel pixels, `width` × `height`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grid {
    pub width: u32,
    pub height: u32,
    pub channels: u8,
    pub data: Vec<u8>,
}

/// Tile `n` channel-first images of `channels`×`height`×`width` like `make_grid`: `nrow` images
/// per row, `padding` pixels around and between them filled with `pad_value`.
pub fn make_grid(
    samples: Samples<'_>,
    shape: [usize; 4],
    nrow: usize,
    padding: usize,
    pad_value: u8,
) -> Result<Grid, String> {
    let [n, c, h, w] = shape;
    if n == 0 || h == 0 || w == 0 {
        return Err(format!("cannot tile an empty batch of shape {shape:?}"));
    }
    if c != 1 && c != 3 {
        return Err(format!("images must have 1 or 3 channels, not {c}"));
    }
    if nrow == 0 {
        return Err("nrow must be positive".into());
    }
    if samples.len() != n * c * h * w {
        return Err(format!(
            "buffer of {} values does not match shape {shape:?}",
            samples.len()
        ));
    }
    let cols = nrow.min(n);
    let rows = n.div_ceil(cols);
    let gw = cols * (w + padding) + padding;
    let gh = rows * (h + padding) + padding;
    if gw > u32::MAX as usize || gh > u32::MAX as usize {
        return Err("grid too large".into());
    }
    let mut data = vec![pad_value; gw * gh * c];
    let plane = h * w;
    for k in 0..n {
        let (gy, gx) = (k / cols, k % cols);
        let (y0, x0) = (gy * (h + padding) + padding, gx * (w + padding) + padding);
        for ch in 0..c {
            let src = (k * c + ch) * plane;
            for y in 0..h {
                let row = (y0 + y) * gw * c + x0 * c + ch;
                let dst = &mut data[row..row + (w - 1) * c + 1];
                let at = src + y * w;
                match samples {
                    Samples::F32(v) => {
                        for (x, &s) in v[at..at + w].iter().enumerate() {
                            dst[x * c] = float_to_byte(s);
                        }
                    }
                    Samples::U8(v) => {
                        for (x, &s) in v[at..at + w].iter().enumerate() {
                            dst[x * c] = s;
                        }
                    }
                }
            }
        }
    }
    Ok(Grid {
        width: gw as u32,
        height: gh as u32,
        channels: c as u8,
        data,
    })
}

fn color_type(channels: u8) -> Result<png::ColorType, String> {
    match channels {
        1 => Ok(png::ColorType::Grayscale),
        2 => Ok(png::ColorType::GrayscaleAlpha),
        3 => Ok(png::ColorType::Rgb),
        4 => Ok(png::ColorType::Rgba),
        _ => Err(format!("cannot encode {channels} channels as PNG")),
    }
}

fn check_frame(data: &[u8], width: u32, height: u32, channels: u8) -> Result<(), String> {
    if width == 0 || height == 0 {
        return Err("image must not be empty".into());
    }
    if data.len() != width as usize * height as usize * channels as usize {
        return Err(format!(
            "buffer of {} bytes does not match {width}x{height}x{channels}",
            data.len()
        ));
    }
    Ok(())
}

/// Encode interleaved 8-bit pixels as a PNG.
pub fn encode_png(
    data: &[u8],
    width: u32,
    height: u32,
    channels: u8,
    compression: Compression,
) -> Result<Vec<u8>, String> {
    check_frame(data, width, height, channels)?;
    let mut out = Vec::with_capacity(data.len() / 2 + 1024);
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(color_type(channels)?);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(compression.to_png());
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(data).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

/// Encode equally sized frames as an endlessly looping APNG showing each for `delay_ms`.
pub fn encode_apng(
    frames: &[&[u8]],
    width: u32,
    height: u32,
    channels: u8,
    delay_ms: u16,
) -> Result<Vec<u8>, String> {
    if frames.is_empty() {
        return Err("an animation needs at least one frame".into());
    }
    for frame in frames {
        check_frame(frame, width, height, channels)?;
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(color_type(channels)?);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    encoder
        .set_animated(frames.len() as u32, 0)
        .map_err(|e| e.to_string())?;
    encoder
        .set_frame_delay(delay_ms, 1000)
        .map_err(|e| e.to_string())?;
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    for frame in frames {
        writer.write_image_data(frame).map_err(|e| e.to_string())?;
    }
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_mapping_matches_torchvision() {
        assert_eq!(float_to_byte(-1.0), 0);
        assert_eq!(float_to_byte(1.0), 255);
        assert_eq!(float_to_byte(0.0), 128);
        assert_eq!(float_to_byte(5.0), 255);
        assert_eq!(float_to_byte(f32::NAN), 0);
    }

    #[test]
    fn grid_layout_matches_make_grid() {
        // Three 1x1 gray images, two per row, padding 1: a 5x5 grid.
        let grid = make_grid(Samples::U8(&[10, 20, 30]), [3, 1, 1, 1], 2, 1, 0).unwrap();
        assert_eq!((grid.width, grid.height, grid.channels), (5, 5, 1));
        #[rustfmt::skip]
        let expected = vec![
            0, 0, 0, 0, 0,
            0, 10, 0, 20, 0,
            0, 0, 0, 0, 0,
            0, 30, 0, 0, 0,
            0, 0, 0, 0, 0,
        ];
        assert_eq!(grid.data, expected);
    }

    #[test]
    fn png_round_trips() {
        let data: Vec<u8> = (0..4 * 3 * 3).map(|v| v as u8).collect();
        let bytes = encode_png(&data, 4, 3, 3, Compression::Fast).unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut buf).unwrap();
        assert_eq!(buf, data);
    }

    #[test]
    fn apng_has_all_frames() {
        let frames: Vec<Vec<u8>> = (0..3).map(|i| vec![i * 50; 2 * 2 * 3]).collect();
        let refs: Vec<&[u8]> = frames.iter().map(|f| f.as_slice()).collect();
        let bytes = encode_apng(&refs, 2, 2, 3, 100).unwrap();
        let reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        assert_eq!(reader.info().animation_control().unwrap().num_frames, 3);
    }

    #[test]
    fn rejects_bad_shapes() {
        assert!(make_grid(Samples::U8(&[0; 8]), [2, 2, 1, 2], 8, 2, 0).is_err());
        assert!(encode_png(&[0; 5], 2, 2, 1, Compression::Fast).is_err());
    }
}
