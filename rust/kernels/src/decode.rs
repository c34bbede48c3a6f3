//! Decode images by content, convert them to 1 or 3 channels, resize them to a square and write
//! them channel-first into one preallocated batch buffer.
//!
//! Choices (documented in `docs/kernels.md`):
//! - alpha is composited over the target's background (black unless set), the colour `Fit::Pad`
//!   pads with;
//! - 16-bit samples keep their high byte (as libpng's `strip_16` and Pillow do);
//! - colour to gray uses ITU-R 601-2 luma with Pillow's fixed-point rounding;
//! - resizing is a bicubic (Catmull-Rom, a = -0.5) convolution that widens its support when
//!   downscaling (antialiased), the same filter as Pillow's `Image.BICUBIC`; Lanczos3 costs 2.5×
//!   more time for no visible gain at GAN resolutions.

use std::borrow::Cow;
use std::io::Cursor;
use std::path::Path;

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use rayon::prelude::*;
use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;

use crate::error::{ErrorKind, Failure, ImageError};
use crate::sniff::{sniff, Format};

/// Default limit on declared width × height: larger images are refused before any allocation.
pub const DEFAULT_MAX_PIXELS: u64 = 1 << 26;

/// How a non-square image becomes a square.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// Scale the short side to the target size and cut the centre square.
    Crop,
    /// Scale the long side to the target size and pad the rest with the background.
    Pad,
}

impl Fit {
    /// The names `parse` accepts.
    pub const NAMES: [&'static str; 2] = ["crop", "pad"];

    pub fn parse(name: &str) -> Result<Fit, String> {
        match name {
            "crop" => Ok(Fit::Crop),
            "pad" => Ok(Fit::Pad),
            _ => Err(format!("fit must be 'crop' or 'pad', not {name:?}")),
        }
    }
}

/// The channels of a decoded image: the only two the decoders produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channels {
    Gray = 1,
    Rgb = 3,
}

impl TryFrom<u8> for Channels {
    type Error = String;

    fn try_from(count: u8) -> Result<Channels, String> {
        match count {
            1 => Ok(Channels::Gray),
            3 => Ok(Channels::Rgb),
            _ => Err(format!("channels must be 1 or 3, not {count}")),
        }
    }
}

/// What every decoded image becomes; valid by construction ([`Target::new`]), so the decoders
/// never check it again.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    size: u32,
    channels: Channels,
    fit: Fit,
    max_pixels: u64,
    background: Rgb,
}

/// An RGB colour.
pub type Rgb = [u8; 3];

/// The background of a [`Target`] unless [`Target::with_background`] sets another.
pub const BLACK: Rgb = [0, 0, 0];

impl Target {
    /// A square `size` × `size` target over black; `max_pixels` refuses inputs declaring more
    /// width × height, and the output obeys it too, so a typo in the size cannot exhaust memory.
    pub fn new(size: u32, channels: Channels, fit: Fit, max_pixels: u64) -> Result<Target, String> {
        if size == 0 {
            return Err("size must be positive".into());
        }
        let side = size as u64;
        if side * side > max_pixels {
            return Err(format!(
                "size {side} makes {side}x{side} images, more than the limit of {max_pixels} pixels"
            ));
        }
        Ok(Target {
            size,
            channels,
            fit,
            max_pixels,
            background: BLACK,
        })
    }

    /// This target with `background` under transparent pixels and around padded images (any
    /// colour is valid, so nothing is checked).
    pub fn with_background(self, background: Rgb) -> Target {
        Target { background, ..self }
    }

    /// The value of output channel `k` around a padded image: the background, or its luma for gray.
    fn fill(&self, k: usize) -> u8 {
        let [r, g, b] = self.background;
        match self.channels {
            Channels::Gray => luma(r, g, b),
            Channels::Rgb => self.background[k],
        }
    }

    /// The gray target that output plane `k` is resized with when planes are resized one by one.
    fn plane(&self, k: usize) -> Target {
        Target {
            channels: Channels::Gray,
            background: [self.fill(k); 3],
            ..*self
        }
    }

    /// Output width and height.
    pub fn size(&self) -> u32 {
        self.size
    }

    pub fn channels(&self) -> Channels {
        self.channels
    }

    /// Bytes of one image in the batch.
    pub fn image_len(&self) -> usize {
        self.channels as usize * self.size as usize * self.size as usize
    }
}

/// An 8-bit image with interleaved channels: 1 or 3 once converted, as a decoder gives it 1 to 4
/// (gray, gray + alpha, RGB, RGBA).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pixels {
    pub width: u32,
    pub height: u32,
    pub channels: u8,
    pub data: Vec<u8>,
}

impl Pixels {
    /// (width, height, data), the borrowed form `fit_into` takes.
    fn view(&self) -> (u32, u32, &[u8]) {
        (self.width, self.height, &self.data)
    }
}

/// A decoded batch: `count` images of `Target::image_len` bytes each, channel-first, plus the
/// inputs that were skipped (by index) when `skip_bad` was set.
#[derive(Debug)]
pub struct Batch {
    pub data: Vec<u8>,
    pub count: usize,
    pub skipped: Vec<(usize, ImageError)>,
}

/// Decode `bytes` (any supported format, recognised by content) to `channels` at full size,
/// compositing any alpha over `background`.
pub fn decode_pixels(
    bytes: &[u8],
    channels: Channels,
    background: Rgb,
    max_pixels: u64,
) -> Result<Pixels, Failure> {
    decode_pixels_for(bytes, channels, background, max_pixels, None)
}

/// How much larger than the target a DCT-downscaled JPEG must stay.
const JPEG_REDUCING_GAP: u32 = 2;

/// The smallest image a decoder may return instead of the full one: (side, fit). JPEG decoding
/// then scales by 1/2, 1/4 or 1/8 in the DCT domain while the relevant side stays
/// >= `JPEG_REDUCING_GAP * side`.
type SizeHint = Option<(u32, Fit)>;

/// The format `bytes` announce, or why they are no image.
fn format_of(bytes: &[u8]) -> Result<Format, Failure> {
    if bytes.is_empty() {
        return Err(Failure::new(ErrorKind::Empty, "file is empty"));
    }
    sniff(&bytes[..bytes.len().min(crate::sniff::SNIFF_LEN)]).ok_or_else(|| {
        Failure::new(
            ErrorKind::NotAnImage,
            "not a PNG, JPEG, GIF, BMP or WebP image",
        )
    })
}

/// `read(format)`, where a panic inside a decoder fails this one file, not the process: zune-jpeg
/// 0.5.15's AVX2 IDCT unwraps a None on fuzz/corpus/regressions/decode/zune-jpeg-idct-panic.jpg.
fn guarded<T>(bytes: &[u8], read: impl FnOnce(Format) -> Result<T, Failure>) -> Result<T, Failure> {
    let format = format_of(bytes)?;
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read(format))).unwrap_or_else(|_| {
        Err(Failure::new(
            ErrorKind::Corrupt,
            "decoder failed on malformed data",
        ))
    })
}

fn decode_pixels_for(
    bytes: &[u8],
    channels: Channels,
    background: Rgb,
    max_pixels: u64,
    hint: SizeHint,
) -> Result<Pixels, Failure> {
    let decoded = guarded(bytes, |format| match format {
        Format::Png => decode_png(bytes, max_pixels),
        Format::Jpeg => match hint {
            Some(hint) => match decode_jpeg_scaled(bytes, max_pixels, hint)? {
                Some(pixels) => Ok(pixels),
                None => decode_jpeg(bytes, channels, max_pixels),
            },
            None => decode_jpeg(bytes, channels, max_pixels),
        },
        Format::Gif | Format::Bmp | Format::WebP => decode_other(bytes, format, max_pixels),
    })?;
    Ok(Pixels {
        width: decoded.width,
        height: decoded.height,
        channels: channels as u8,
        data: convert_channels(
            decoded.data,
            decoded.channels as usize,
            channels as u8,
            background,
        ),
    })
}

/// The width and height an encoded image declares, from its header alone (no pixel is decoded).
pub fn dimensions(bytes: &[u8]) -> Result<(u32, u32), Failure> {
    guarded(bytes, |format| match format {
        Format::Png => {
            let mut decoder = png::Decoder::new(Cursor::new(bytes));
            let header = decoder.read_header_info().map_err(|e| corrupt("PNG", e))?;
            Ok((header.width, header.height))
        }
        Format::Jpeg => jpeg_headers(bytes).map(|(_, size)| size),
        Format::Gif | Format::Bmp | Format::WebP => {
            let (image_format, name) = other_format(format);
            image::ImageReader::with_format(Cursor::new(bytes), image_format)
                .into_dimensions()
                .map_err(|e| corrupt(name, e))
        }
    })
}

/// The declared (width, height) of `count` inputs in parallel (`load(i)` yields input `i`'s
/// bytes); `None` for an input that cannot be read or parsed, which decoding will name.
pub fn dimensions_batch<'a, L>(count: usize, load: L) -> Vec<Option<(u32, u32)>>
where
    L: Fn(usize) -> Result<Cow<'a, [u8]>, Failure> + Sync,
{
    (0..count)
        .into_par_iter()
        .map(|i| load(i).and_then(|bytes| dimensions(&bytes)).ok())
        .collect()
}

fn check_pixels(width: u64, height: u64, max_pixels: u64) -> Result<(), Failure> {
    if width == 0 || height == 0 {
        return Err(Failure::new(
            ErrorKind::Corrupt,
            format!("declares an empty {width}x{height} image"),
        ));
    }
    if width.saturating_mul(height) > max_pixels {
        return Err(Failure::new(
            ErrorKind::TooLarge,
            format!("declares {width}x{height} pixels, more than the limit of {max_pixels}"),
        ));
    }
    Ok(())
}

fn corrupt(what: &str, err: impl std::fmt::Display) -> Failure {
    Failure::new(ErrorKind::Corrupt, format!("invalid {what}: {err}"))
}

/// A PNG at its own channels (palettes expanded, alpha kept).
fn decode_png(bytes: &[u8], max_pixels: u64) -> Result<Pixels, Failure> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    let header = decoder.read_header_info().map_err(|e| corrupt("PNG", e))?;
    check_pixels(header.width as u64, header.height as u64, max_pixels)?;
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| corrupt("PNG", e))?;
    let (color, _) = reader.output_color_type();
    let src_channels = match color {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => return Err(corrupt("PNG", "palette was not expanded")),
    };
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| corrupt("PNG", "image size overflows"))?;
    let mut buf = vec![0u8; size];
    let frame = reader.next_frame(&mut buf).map_err(|e| corrupt("PNG", e))?;
    let (width, height) = (frame.width, frame.height);
    let row = width as usize * src_channels;
    if frame.line_size != row {
        // Pack rows tightly; `EXPAND` + `STRIP_16` yields 8-bit samples so this is rare.
        let mut packed = Vec::with_capacity(row * height as usize);
        for line in buf.chunks(frame.line_size).take(height as usize) {
            packed.extend_from_slice(&line[..row]);
        }
        buf = packed;
    } else {
        buf.truncate(row * height as usize);
    }
    Ok(Pixels {
        width,
        height,
        channels: src_channels as u8,
        data: buf,
    })
}

/// zune-jpeg's decoder of a JPEG in memory.
type JpegDecoder<'a> = zune_jpeg::JpegDecoder<ZCursor<&'a [u8]>>;

/// zune-jpeg's decoder of `bytes` with the headers read, and the frame's (width, height).
fn jpeg_headers(bytes: &[u8]) -> Result<(JpegDecoder<'_>, (u32, u32)), Failure> {
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), jpeg_options());
    decoder.decode_headers().map_err(|e| corrupt("JPEG", e))?;
    let info = decoder
        .info()
        .ok_or_else(|| corrupt("JPEG", "no frame header"))?;
    Ok((decoder, (info.width as u32, info.height as u32)))
}

/// zune-jpeg's options: no size limit of its own (`check_pixels` applies gancli's).
fn jpeg_options() -> DecoderOptions {
    DecoderOptions::default()
        .set_max_width(usize::MAX)
        .set_max_height(usize::MAX)
}

/// A JPEG as RGB, or as gray when `channels` is 1 and the file has a luma plane.
fn decode_jpeg(bytes: &[u8], channels: Channels, max_pixels: u64) -> Result<Pixels, Failure> {
    let (mut decoder, (width, height)) = jpeg_headers(bytes)?;
    check_pixels(width as u64, height as u64, max_pixels)?;
    // Gray output straight from the luma plane where the file has one; CMYK/YCCK go through RGB.
    let direct_luma = matches!(
        decoder.input_colorspace(),
        Some(ColorSpace::Luma | ColorSpace::YCbCr)
    );
    let out = if channels == Channels::Gray && direct_luma {
        ColorSpace::Luma
    } else {
        ColorSpace::RGB
    };
    decoder.set_options(jpeg_options().jpeg_set_out_colorspace(out));
    let size = decoder
        .output_buffer_size()
        .ok_or_else(|| corrupt("JPEG", "image size overflows"))?;
    let mut data = vec![0u8; size];
    decoder
        .decode_into(&mut data)
        .map_err(|e| corrupt("JPEG", e))?;
    let got = decoder
        .output_colorspace()
        .map_or(0, |c| c.num_components());
    if got != out.num_components() {
        return Err(corrupt(
            "JPEG",
            format!(
                "decoded to {got} channels, expected {}",
                out.num_components()
            ),
        ));
    }
    Ok(Pixels {
        width,
        height,
        channels: got as u8,
        data,
    })
}

/// Decode a JPEG scaled down in the DCT domain (skipping most of the inverse DCT and colour
/// conversion), or `None` when no scaling applies or the colour space needs `decode_jpeg`.
fn decode_jpeg_scaled(
    bytes: &[u8],
    max_pixels: u64,
    (side, fit): (u32, Fit),
) -> Result<Option<Pixels>, Failure> {
    use jpeg_decoder::{Decoder, PixelFormat};

    let mut decoder = Decoder::new(bytes);
    decoder.read_info().map_err(|e| corrupt("JPEG", e))?;
    let info = decoder
        .info()
        .ok_or_else(|| corrupt("JPEG", "no frame header"))?;
    let (w, h) = (info.width as u32, info.height as u32);
    check_pixels(w as u64, h as u64, max_pixels)?;
    let src_channels = match info.pixel_format {
        PixelFormat::L8 => 1,
        PixelFormat::RGB24 => 3,
        _ => return Ok(None),
    };
    // Ask only for the side that must stay >= `side`; the other is never "satisfied".
    let short_is_width = w <= h;
    let width_matters = (fit == Fit::Crop) == short_is_width;
    // Keep at least twice the target (Pillow's `reducing_gap = 2`): the DCT-domain step alone
    // aliases like a box filter, the final bicubic pass then antialiases properly.
    let mut want = side.saturating_mul(JPEG_REDUCING_GAP);
    if src_channels == 3 {
        // jpeg-decoder's chroma at 1/4 and 1/8 scale is visibly off (mean error ~6 levels vs a
        // full decode on test patterns), so colour images are at most halved.
        let relevant = if width_matters { w } else { h };
        want = want.max(relevant.div_ceil(2));
    }
    let want = want.min(u16::MAX as u32) as u16;
    let request = if width_matters {
        (want, u16::MAX)
    } else {
        (u16::MAX, want)
    };
    let (sw, sh) = decoder
        .scale(request.0, request.1)
        .map_err(|e| corrupt("JPEG", e))?;
    if (sw as u32, sh as u32) == (w, h) {
        return Ok(None);
    }
    decoder.set_max_decoding_buffer_size(
        usize::try_from(max_pixels.saturating_mul(4)).unwrap_or(usize::MAX),
    );
    let data = decoder.decode().map_err(|e| corrupt("JPEG", e))?;
    if data.len() != sw as usize * sh as usize * src_channels {
        return Err(corrupt("JPEG", "decoded size does not match the header"));
    }
    Ok(Some(Pixels {
        width: sw as u32,
        height: sh as u32,
        channels: src_channels as u8,
        data,
    }))
}

/// The `image` crate's format of a GIF, BMP or WebP, and its name for messages.
fn other_format(format: Format) -> (image::ImageFormat, &'static str) {
    use image::ImageFormat;

    match format {
        Format::Gif => (ImageFormat::Gif, "GIF"),
        Format::Bmp => (ImageFormat::Bmp, "BMP"),
        _ => (ImageFormat::WebP, "WebP"),
    }
}

/// A GIF (first frame), BMP or WebP as RGBA.
fn decode_other(bytes: &[u8], format: Format, max_pixels: u64) -> Result<Pixels, Failure> {
    use image::{ImageDecoder, ImageReader};

    let (image_format, name) = other_format(format);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), image_format);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(max_pixels.saturating_mul(8).max(1 << 20));
    reader.limits(limits);
    let decoder = reader.into_decoder().map_err(|e| corrupt(name, e))?;
    let (width, height) = decoder.dimensions();
    check_pixels(width as u64, height as u64, max_pixels)?;
    let rgba = image::DynamicImage::from_decoder(decoder)
        .map_err(|e| corrupt(name, e))?
        .into_rgba8();
    Ok(Pixels {
        width,
        height,
        channels: 4,
        data: rgba.into_raw(),
    })
}

/// Pillow's fixed-point ITU-R 601-2 luma (`L = R*299/1000 + G*587/1000 + B*114/1000`).
#[inline]
fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((r as u32 * 19595 + g as u32 * 38470 + b as u32 * 7471 + 0x8000) >> 16) as u8
}

/// `value` composited with `alpha` over `under` (straight alpha), rounded.
#[inline]
fn over(value: u8, alpha: u8, under: u8) -> u8 {
    let alpha = alpha as u32;
    ((value as u32 * alpha + under as u32 * (255 - alpha) + 127) / 255) as u8
}

/// The colour `[r, g, b]` composited with `alpha` over `background`, channel by channel.
#[inline]
fn over_rgb([r, g, b]: [u8; 3], alpha: u8, background: Rgb) -> [u8; 3] {
    [
        over(r, alpha, background[0]),
        over(g, alpha, background[1]),
        over(b, alpha, background[2]),
    ]
}

/// Convert interleaved 8-bit pixels from `src` channels (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA) to
/// `dst` channels (1 or 3), compositing alpha over `background` in RGB, then taking the luma for
/// gray (as Pillow's `alpha_composite` onto a solid image, then `convert`).
pub fn convert_channels(data: Vec<u8>, src: usize, dst: u8, background: Rgb) -> Vec<u8> {
    let gray_over = |rgb: [u8; 3], alpha: u8| {
        let [r, g, b] = over_rgb(rgb, alpha, background);
        luma(r, g, b)
    };
    match (src, dst) {
        (1, 1) | (3, 3) => data,
        (1, _) => data.iter().flat_map(|&v| [v, v, v]).collect(),
        (2, 1) => data
            .chunks_exact(2)
            .map(|p| gray_over([p[0]; 3], p[1]))
            .collect(),
        (2, _) => data
            .chunks_exact(2)
            .flat_map(|p| over_rgb([p[0]; 3], p[1], background))
            .collect(),
        (3, _) => data
            .chunks_exact(3)
            .map(|p| luma(p[0], p[1], p[2]))
            .collect(),
        (_, 1) => data
            .chunks_exact(4)
            .map(|p| gray_over([p[0], p[1], p[2]], p[3]))
            .collect(),
        _ => data
            .chunks_exact(4)
            .flat_map(|p| over_rgb([p[0], p[1], p[2]], p[3], background))
            .collect(),
    }
}

/// Per-thread reusable state: the resizer's buffers and one interleaved output image.
#[derive(Default)]
struct Scratch {
    resizer: Resizer,
    resized: Vec<u8>,
}

/// Where a resized image lies in its `size` × `size` target: `rw` × `rh` pixels from (`x0`, `y0`);
/// the rest of the square is the background.
#[derive(Debug, Clone, Copy)]
struct Placement {
    size: usize,
    rw: usize,
    rh: usize,
    x0: usize,
    y0: usize,
}

impl Placement {
    /// Where a `w` × `h` image goes: the whole square (crop), or centred at its aspect (pad).
    fn of(w: u32, h: u32, target: &Target) -> Placement {
        let size = target.size;
        let (rw, rh) = match target.fit {
            Fit::Crop => (size, size),
            Fit::Pad => {
                let long = w.max(h) as u64;
                let scaled = |v: u32| {
                    (((v as u64 * size as u64 * 2 + long) / (2 * long)) as u32).clamp(1, size)
                };
                (scaled(w), scaled(h))
            }
        };
        let (size, rw, rh) = (size as usize, rw as usize, rh as usize);
        Placement {
            size,
            rw,
            rh,
            x0: (size - rw) / 2,
            y0: (size - rh) / 2,
        }
    }

    /// Set the pixels of one `size` × `size` plane that the image leaves uncovered to `value`.
    fn fill_border(&self, plane: &mut [u8], value: u8) {
        let Placement {
            size,
            rw,
            rh,
            x0,
            y0,
        } = *self;
        if (rw, rh) == (size, size) {
            return;
        }
        plane[..y0 * size].fill(value);
        plane[(y0 + rh) * size..].fill(value);
        for row in plane[y0 * size..(y0 + rh) * size].chunks_exact_mut(size) {
            row[..x0].fill(value);
            row[x0 + rw..].fill(value);
        }
    }
}

/// Resize a `w` × `h` image (`data`: interleaved, `target.channels` channels) to the target square
/// and write it channel-first into `out` (`target.image_len()` bytes), the background around it.
fn fit_into(
    (w, h, data): (u32, u32, &[u8]),
    target: &Target,
    out: &mut [u8],
    scratch: &mut Scratch,
) -> Result<(), Failure> {
    let ch = target.channels as usize;
    let pixel_type = if ch == 1 {
        PixelType::U8
    } else {
        PixelType::U8x3
    };
    let src = ImageRef::new(w, h, data, pixel_type).map_err(|e| corrupt("image buffer", e))?;
    let filter = ResizeAlg::Convolution(FilterType::CatmullRom);
    let place = Placement::of(w, h, target);
    let (rw, rh) = (place.rw as u32, place.rh as u32);
    let options = match target.fit {
        Fit::Crop => {
            let side = w.min(h) as f64;
            let left = (w as f64 - side) / 2.0;
            let top = (h as f64 - side) / 2.0;
            ResizeOptions::new()
                .resize_alg(filter)
                .crop(left, top, side, side)
        }
        Fit::Pad => ResizeOptions::new().resize_alg(filter),
    };

    let resized: &[u8] = if (w, h) == (rw, rh) && (target.fit == Fit::Pad || w == h) {
        data
    } else {
        scratch.resized.clear();
        scratch.resized.resize(rw as usize * rh as usize * ch, 0);
        let mut dst = Image::from_slice_u8(rw, rh, &mut scratch.resized, pixel_type)
            .map_err(|e| corrupt("resize buffer", e))?;
        scratch
            .resizer
            .resize(&src, &mut dst, &options)
            .map_err(|e| corrupt("resize", e))?;
        &scratch.resized
    };

    let Placement {
        size, rw, x0, y0, ..
    } = place;
    let plane = size * size;
    for (k, channel) in out.chunks_exact_mut(plane).enumerate() {
        place.fill_border(channel, target.fill(k));
    }
    for (y, row) in resized.chunks_exact(rw * ch).enumerate() {
        let base = (y0 + y) * size + x0;
        if ch == 1 {
            out[base..base + rw].copy_from_slice(row);
        } else {
            let (r, rest) = out.split_at_mut(plane);
            let (g, b) = rest.split_at_mut(plane);
            let (r, g, b) = (
                &mut r[base..base + rw],
                &mut g[base..base + rw],
                &mut b[base..base + rw],
            );
            for (x, p) in row.chunks_exact(3).enumerate() {
                r[x] = p[0];
                g[x] = p[1];
                b[x] = p[2];
            }
        }
    }
    Ok(())
}

/// Decode, convert and fit one encoded image into `out`.
pub fn decode_into(bytes: &[u8], target: &Target, out: &mut [u8]) -> Result<(), Failure> {
    decode_fit(bytes, target, out, &mut Scratch::default())
}

/// Decode `bytes` for `target` (a JPEG at reduced scale where it may) and fit it into `out`.
fn decode_fit(
    bytes: &[u8],
    target: &Target,
    out: &mut [u8],
    scratch: &mut Scratch,
) -> Result<(), Failure> {
    let hint = Some((target.size, target.fit));
    let pixels = decode_pixels_for(
        bytes,
        target.channels,
        target.background,
        target.max_pixels,
        hint,
    )?;
    fit_into(pixels.view(), target, out, scratch)
}

/// Why a batch could not be decoded: bad arguments, or the first bad image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchError {
    Invalid(String),
    Image(ImageError),
}

impl std::fmt::Display for BatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BatchError::Invalid(message) => f.write_str(message),
            BatchError::Image(err) => err.fmt(f),
        }
    }
}

/// Decode `count` inputs in parallel into one batch. `load(i)` yields the bytes of input `i` and
/// `name(i)` its name for errors. Without `skip_bad` the first failing input (lowest index) is
/// returned as the error; with it, failures are listed and the batch compacted.
pub fn decode_batch<'a, L, N>(
    count: usize,
    load: L,
    name: N,
    target: &Target,
    skip_bad: bool,
) -> Result<Batch, BatchError>
where
    L: Fn(usize) -> Result<Cow<'a, [u8]>, Failure> + Sync,
    N: Fn(usize) -> String + Sync,
{
    let len = target.image_len();
    let total = count
        .checked_mul(len)
        .ok_or_else(|| BatchError::Invalid("batch size overflows".into()))?;
    let mut data = vec![0u8; total];
    let results: Vec<Result<(), Failure>> = data
        .par_chunks_mut(len.max(1))
        .enumerate()
        .map_init(Scratch::default, |scratch, (i, out)| {
            let bytes = load(i)?;
            decode_fit(&bytes, target, out, scratch)
        })
        .collect();

    let mut skipped = Vec::new();
    let mut kept = 0;
    for (i, result) in results.into_iter().enumerate() {
        match result {
            Ok(()) => {
                if kept != i {
                    data.copy_within(i * len..(i + 1) * len, kept * len);
                }
                kept += 1;
            }
            Err(failure) => {
                let err = ImageError::new(name(i), failure);
                if !skip_bad {
                    return Err(BatchError::Image(err));
                }
                skipped.push((i, err));
            }
        }
    }
    data.truncate(kept * len);
    Ok(Batch {
        data,
        count: kept,
        skipped,
    })
}

/// Read a whole file, mapping errors to a [`Failure`]; a symbolic link to nothing says so, naming
/// where it points, as "No such file" would puzzle about a file that is listed.
pub fn read_file(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| {
        let message = match std::fs::read_link(path) {
            Ok(to) if e.kind() == std::io::ErrorKind::NotFound => {
                format!("broken symbolic link to {}", to.display())
            }
            _ => format!("cannot read: {e}"),
        };
        Failure::new(ErrorKind::Io, message)
    })
}

/// The declared (width, height) of image files (see [`dimensions_batch`]).
pub fn file_dimensions(paths: &[std::path::PathBuf]) -> Vec<Option<(u32, u32)>> {
    dimensions_batch(paths.len(), |i| read_file(&paths[i]).map(Cow::Owned))
}

/// The declared (width, height) of encoded images in memory (see [`dimensions_batch`]).
pub fn blob_dimensions(blobs: &[&[u8]]) -> Vec<Option<(u32, u32)>> {
    dimensions_batch(blobs.len(), |i| Ok(Cow::Borrowed(blobs[i])))
}

/// Decode image files into one batch (see [`decode_batch`]).
pub fn decode_files(
    paths: &[std::path::PathBuf],
    target: &Target,
    skip_bad: bool,
) -> Result<Batch, BatchError> {
    decode_batch(
        paths.len(),
        |i| read_file(&paths[i]).map(Cow::Owned),
        |i| paths[i].display().to_string(),
        target,
        skip_bad,
    )
}

/// Decode in-memory encoded images (e.g. zip members) into one batch (see [`decode_batch`]).
pub fn decode_blobs(
    blobs: &[&[u8]],
    names: &[String],
    target: &Target,
    skip_bad: bool,
) -> Result<Batch, BatchError> {
    if blobs.len() != names.len() {
        return Err(BatchError::Invalid(format!(
            "{} blobs but {} names",
            blobs.len(),
            names.len()
        )));
    }
    decode_batch(
        blobs.len(),
        |i| Ok(Cow::Borrowed(blobs[i])),
        |i| names[i].clone(),
        target,
        skip_bad,
    )
}

/// Resize a channel-first uint8 batch of shape `[n, c, h, w]` (c: 1 gray, 2 gray+alpha, 3 RGB,
/// 4 RGBA) to `n` images of the target, with the same channel conversion, filter and fit as
/// decoding, in parallel over images.
///
/// When no conversion mixes channels (c equal to the target's, or gray to RGB) each plane is
/// resized straight from `input`; otherwise the image is interleaved and converted first.
pub fn resize_batch(input: &[u8], shape: [usize; 4], target: &Target) -> Result<Vec<u8>, String> {
    let [n, c, h, w] = shape;
    if !(1..=4).contains(&c) {
        return Err(format!(
            "batch must have 1 to 4 channels (gray, gray+alpha, RGB, RGBA), not {c}"
        ));
    }
    let too_big = |_| format!("image size {w}x{h} is too large");
    let (width, height) = (
        u32::try_from(w).map_err(too_big)?,
        u32::try_from(h).map_err(too_big)?,
    );
    if width == 0 || height == 0 {
        return Err(format!("cannot resize empty {w}x{h} images"));
    }
    let plane = h * w;
    let image = c * plane;
    if n.checked_mul(image) != Some(input.len()) {
        return Err(format!(
            "batch holds {} bytes, not {n}x{c}x{h}x{w}",
            input.len()
        ));
    }
    let len = target.image_len();
    let total = n
        .checked_mul(len)
        .ok_or_else(|| "batch size overflows".to_string())?;
    let mut out = vec![0u8; total];
    let channels = target.channels as usize;
    let planar = c == channels || c == 1;
    let placement = Placement::of(width, height, target);
    let out_plane = len / channels;
    out.par_chunks_mut(len)
        .zip(input.par_chunks(image))
        .try_for_each_init(Scratch::default, |scratch, (out, src)| {
            if planar {
                let planes = src.chunks_exact(plane).zip(out.chunks_exact_mut(out_plane));
                for (k, (src_plane, dst)) in planes.enumerate() {
                    fit_into((width, height, src_plane), &target.plane(k), dst, scratch)?;
                }
                if c < channels {
                    // gray to RGB: the one plane copied to the others, each with its own border
                    let (gray, rest) = out.split_at_mut(out_plane);
                    for (k, p) in rest.chunks_exact_mut(out_plane).enumerate() {
                        p.copy_from_slice(gray);
                        placement.fill_border(p, target.fill(k + 1));
                    }
                }
                Ok(())
            } else {
                let mut interleaved = vec![0u8; image];
                for (k, src_plane) in src.chunks_exact(plane).enumerate() {
                    for (i, &v) in src_plane.iter().enumerate() {
                        interleaved[i * c + k] = v;
                    }
                }
                let converted =
                    convert_channels(interleaved, c, target.channels as u8, target.background);
                fit_into((width, height, &converted), target, out, scratch)
            }
        })
        .map_err(|failure| failure.message)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_bytes(width: u32, height: u32, color: png::ColorType, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(color);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(data).unwrap();
        writer.finish().unwrap();
        out
    }

    fn target(size: u32, channels: u8, fit: Fit) -> Target {
        Target::new(size, channels.try_into().unwrap(), fit, DEFAULT_MAX_PIXELS).unwrap()
    }

    #[test]
    fn bad_targets_are_refused_at_construction() {
        assert_eq!(
            Channels::try_from(2).unwrap_err(),
            "channels must be 1 or 3, not 2"
        );
        assert_eq!(
            Fit::parse("stretch").unwrap_err(),
            "fit must be 'crop' or 'pad', not \"stretch\""
        );
        assert!(Target::new(0, Channels::Rgb, Fit::Crop, DEFAULT_MAX_PIXELS).is_err());
        let err = Target::new(4, Channels::Gray, Fit::Crop, 15).unwrap_err();
        assert!(err.contains("more than the limit of 15 pixels"), "{err}");
        assert!(Target::new(4, Channels::Gray, Fit::Crop, 16).is_ok());
    }

    #[test]
    fn png_rgb_same_size_is_exact_and_channel_first() {
        let data: Vec<u8> = (0..2 * 2 * 3).map(|v| v as u8 * 10).collect();
        let bytes = png_bytes(2, 2, png::ColorType::Rgb, &data);
        let mut out = vec![0; 12];
        decode_into(&bytes, &target(2, 3, Fit::Crop), &mut out).unwrap();
        assert_eq!(out, vec![0, 30, 60, 90, 10, 40, 70, 100, 20, 50, 80, 110]);
    }

    #[test]
    fn rgba_is_composited_over_black() {
        let bytes = png_bytes(1, 1, png::ColorType::Rgba, &[200, 100, 50, 128]);
        let mut out = vec![0; 3];
        decode_into(&bytes, &target(1, 3, Fit::Crop), &mut out).unwrap();
        assert_eq!(out, vec![100, 50, 25]);
    }

    #[test]
    fn alpha_is_composited_over_the_background() {
        let orange = [255, 128, 0];
        let decoded = |color: png::ColorType, data: &[u8], channels: u8| {
            let bytes = png_bytes(1, 1, color, data);
            let t = target(1, channels, Fit::Crop).with_background(orange);
            let mut out = vec![0; channels as usize];
            decode_into(&bytes, &t, &mut out).unwrap();
            out
        };
        // (200, 100, 50) at alpha 128 over (255, 128, 0): (200·128 + 255·127) / 255 = 227.9, …
        let rgba = png::ColorType::Rgba;
        assert_eq!(decoded(rgba, &[200, 100, 50, 128], 3), vec![227, 114, 25]);
        assert_eq!(
            decoded(rgba, &[200, 100, 50, 128], 1),
            vec![luma(227, 114, 25)]
        );
        assert_eq!(decoded(rgba, &[9, 8, 7, 0], 3), orange.to_vec());
        assert_eq!(decoded(rgba, &[9, 8, 7, 255], 3), vec![9, 8, 7]);
        let gray_alpha = png::ColorType::GrayscaleAlpha;
        assert_eq!(decoded(gray_alpha, &[100, 0], 3), orange.to_vec());
        assert_eq!(decoded(gray_alpha, &[100, 0], 1), vec![luma(255, 128, 0)]);
        assert_eq!(decoded(gray_alpha, &[100, 255], 3), vec![100; 3]);
        // opaque pixels ignore it
        assert_eq!(decoded(png::ColorType::Rgb, &[1, 2, 3], 3), vec![1, 2, 3]);
    }

    #[test]
    fn gray_converts_to_rgb_and_rgb_to_luma() {
        assert_eq!(
            convert_channels(vec![7, 9], 1, 3, BLACK),
            vec![7, 7, 7, 9, 9, 9]
        );
        assert_eq!(
            convert_channels(vec![255, 255, 255, 0, 0, 0], 3, 1, BLACK),
            vec![255, 0]
        );
        assert_eq!(
            convert_channels(vec![10, 20, 30], 3, 1, BLACK),
            vec![luma(10, 20, 30)]
        );
    }

    #[test]
    fn pad_keeps_aspect_and_pads_with_the_background() {
        let bytes = png_bytes(4, 2, png::ColorType::Grayscale, &[200; 8]);
        let mut out = vec![7; 16];
        decode_into(&bytes, &target(4, 1, Fit::Pad), &mut out).unwrap();
        assert_eq!(&out[..4], &[0; 4]);
        assert_eq!(&out[4..12], &[200; 8]);
        assert_eq!(&out[12..], &[0; 4]);
        // in colour, each plane around the image is the background's channel, decoded or resized
        let orange = target(4, 3, Fit::Pad).with_background([255, 128, 0]);
        let mut decoded = vec![7; 48];
        decode_into(&bytes, &orange, &mut decoded).unwrap();
        let resized = resize_batch(&[200; 8], [1, 1, 2, 4], &orange).unwrap();
        assert_eq!(resized, decoded);
        for (plane, fill) in decoded.chunks_exact(16).zip([255, 128, 0]) {
            assert_eq!(&plane[..4], &[fill; 4]);
            assert_eq!(&plane[4..12], &[200; 8]);
            assert_eq!(&plane[12..], &[fill; 4]);
        }
        let mut gray = vec![7; 16];
        let gray_target = target(4, 1, Fit::Pad).with_background([255, 128, 0]);
        decode_into(&bytes, &gray_target, &mut gray).unwrap();
        assert_eq!(&gray[..4], &[luma(255, 128, 0); 4]);
    }

    #[test]
    fn dimensions_come_from_the_header_alone() {
        let png = png_bytes(5, 3, png::ColorType::Rgb, &[0; 45]);
        assert_eq!(dimensions(&png).unwrap(), (5, 3));
        assert_eq!(dimensions(&png[..40]).unwrap(), (5, 3)); // signature, IHDR and a little more
        assert_eq!(dimensions(b"").unwrap_err().kind, ErrorKind::Empty);
        assert_eq!(dimensions(b"text").unwrap_err().kind, ErrorKind::NotAnImage);
        let blobs: Vec<&[u8]> = vec![&png, b"nope"];
        assert_eq!(blob_dimensions(&blobs), vec![Some((5, 3)), None]);
    }

    #[test]
    fn crop_of_uniform_image_stays_uniform() {
        let bytes = png_bytes(30, 20, png::ColorType::Rgb, &[77; 30 * 20 * 3]);
        let mut out = vec![0; 3 * 8 * 8];
        decode_into(&bytes, &target(8, 3, Fit::Crop), &mut out).unwrap();
        assert!(out.iter().all(|&v| v == 77));
    }

    #[test]
    fn bad_inputs_fail_with_a_kind() {
        let t = target(4, 3, Fit::Crop);
        let mut out = vec![0; t.image_len()];
        let kind = |b: &[u8]| decode_into(b, &t, &mut out.clone()).unwrap_err().kind;
        assert_eq!(kind(b""), ErrorKind::Empty);
        assert_eq!(kind(b"just some text"), ErrorKind::NotAnImage);
        let good = png_bytes(4, 4, png::ColorType::Rgb, &[1; 48]);
        assert_eq!(kind(&good[..good.len() - 20]), ErrorKind::Corrupt);
        let mut bomb = png_bytes(1, 1, png::ColorType::Rgb, &[1; 3]);
        // IHDR width and height at bytes 16..24 (CRC is not checked before the size check).
        bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        assert!(matches!(
            kind(&bomb),
            ErrorKind::TooLarge | ErrorKind::Corrupt
        ));
        assert!(decode_into(&good, &t, &mut out).is_ok());
    }

    /// A flipped pixel byte in a stored deflate block inflates without complaint (`png` skips the
    /// Adler-32 by default): only the chunk's CRC reports it. Skipping CRCs for speed (about 1 %
    /// of decoding a noise PNG) would hand such a file back with wrong pixels.
    #[test]
    fn a_damaged_stored_block_is_reported_by_the_crc() {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, 4, 4);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_compression(png::Compression::NoCompression);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&[1; 48]).unwrap();
        writer.finish().unwrap();
        let idat = out.windows(4).position(|w| w == b"IDAT").unwrap() + 4;
        let mut damaged = out.clone();
        // Past the zlib header (2), the stored block's header (5), the row's filter byte and red.
        damaged[idat + 2 + 5 + 2] ^= 0x10;
        let unchecked = {
            let mut decoder = png::Decoder::new(Cursor::new(&damaged[..]));
            decoder.ignore_checksums(true);
            let mut reader = decoder.read_info().unwrap();
            let mut buf = vec![0; reader.output_buffer_size().unwrap()];
            reader.next_frame(&mut buf).unwrap();
            buf
        };
        assert_eq!(&unchecked[..3], &[1, 17, 1]);
        let failure =
            decode_pixels(&damaged, Channels::Rgb, BLACK, DEFAULT_MAX_PIXELS).unwrap_err();
        assert_eq!(failure.kind, ErrorKind::Corrupt);
        assert!(failure.message.contains("CRC error"), "{}", failure.message);
        assert!(decode_pixels(&out, Channels::Rgb, BLACK, DEFAULT_MAX_PIXELS).is_ok());
    }

    /// Channel-first copy of interleaved pixels.
    fn planar(data: &[u8], channels: usize) -> Vec<u8> {
        (0..channels)
            .flat_map(|k| data.iter().skip(k).step_by(channels).copied())
            .collect()
    }

    #[test]
    fn resize_batch_matches_decoding_the_same_pixels() {
        let (w, h) = (13u32, 9u32);
        let rgb: Vec<u8> = (0..w * h * 3).map(|v| (v * 37 % 251) as u8).collect();
        let bytes = png_bytes(w, h, png::ColorType::Rgb, &rgb);
        for (channels, fit) in [(3, Fit::Crop), (3, Fit::Pad), (1, Fit::Crop)] {
            let t = target(6, channels, fit);
            let mut decoded = vec![0; t.image_len()];
            decode_into(&bytes, &t, &mut decoded).unwrap();
            let shape = [1, 3, h as usize, w as usize];
            let resized = resize_batch(&planar(&rgb, 3), shape, &t).unwrap();
            assert_eq!(resized, decoded, "{channels} channels, {fit:?}");
        }
    }

    #[test]
    fn resize_batch_converts_channels() {
        let t = target(2, 3, Fit::Crop);
        // Two 2x2 gray images become RGB with equal channels.
        let gray = [[5u8; 4], [9; 4]].concat();
        let rgb = resize_batch(&gray, [2, 1, 2, 2], &t).unwrap();
        assert_eq!(rgb, [[5u8; 12], [9; 12]].concat());
        // RGBA planes (200, 100, 50, alpha 128) are composited over black.
        let rgba = [[200u8; 4], [100; 4], [50; 4], [128; 4]].concat();
        let out = resize_batch(&rgba, [1, 4, 2, 2], &t).unwrap();
        assert_eq!(out, [[100u8; 4], [50; 4], [25; 4]].concat());
        let gray = resize_batch(&rgba, [1, 4, 2, 2], &target(2, 1, Fit::Crop)).unwrap();
        assert_eq!(gray, vec![luma(100, 50, 25); 4]);
    }

    #[test]
    fn resize_batch_refuses_bad_shapes() {
        let t = target(2, 3, Fit::Crop);
        assert!(resize_batch(&[0; 10], [1, 5, 1, 2], &t).is_err());
        assert!(resize_batch(&[0; 3], [1, 1, 2, 2], &t).is_err());
        assert!(resize_batch(&[], [1, 1, 0, 2], &t).is_err());
        assert_eq!(
            resize_batch(&[], [0, 3, 4, 4], &t).unwrap(),
            Vec::<u8>::new()
        );
    }

    #[test]
    fn batch_skips_and_compacts() {
        let a = png_bytes(2, 2, png::ColorType::Grayscale, &[1; 4]);
        let b = png_bytes(2, 2, png::ColorType::Grayscale, &[2; 4]);
        let blobs: Vec<&[u8]> = vec![&a, b"nope", &b];
        let names: Vec<String> = ["a", "bad", "b"].iter().map(|s| s.to_string()).collect();
        let t = target(2, 1, Fit::Crop);
        let err = decode_blobs(&blobs, &names, &t, false).unwrap_err();
        assert!(err.to_string().starts_with("bad: "), "{err}");
        let batch = decode_blobs(&blobs, &names, &t, true).unwrap();
        assert_eq!(batch.count, 2);
        assert_eq!(batch.data, vec![1, 1, 1, 1, 2, 2, 2, 2]);
        assert_eq!(batch.skipped.len(), 1);
        assert_eq!(batch.skipped[0].0, 1);
        assert_eq!(batch.skipped[0].1.kind, ErrorKind::NotAnImage);
    }
}
