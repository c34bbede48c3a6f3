//! Recognise image formats by their first bytes, never by file extension.

/// Formats we decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Png,
    Jpeg,
    Gif,
    Bmp,
    WebP,
}

impl Format {
    /// The lower-case name Python callers see: "png", "jpeg", "gif", "bmp" or "webp".
    pub fn name(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Jpeg => "jpeg",
            Format::Gif => "gif",
            Format::Bmp => "bmp",
            Format::WebP => "webp",
        }
    }
}

/// File extensions (lower case, no dot) that claim an image. A file or zip member with one of them is
/// a dataset image whatever its content, so an empty or broken `.png` is reported (or skipped with
/// `skip_bad`) instead of silently ignored; other files count only when their content is an image.
pub const IMAGE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "gif", "bmp", "webp"];

/// Whether `name` ends in one of [`IMAGE_EXTENSIONS`], in any case.
pub fn has_image_extension(name: &str) -> bool {
    name.rsplit_once('.').is_some_and(|(_, ext)| {
        IMAGE_EXTENSIONS
            .iter()
            .any(|known| ext.eq_ignore_ascii_case(known))
    })
}

/// How many leading bytes [`sniff`] needs to decide.
pub const SNIFF_LEN: usize = 18;

/// The format announced by `head` (the file's first bytes), if any.
pub fn sniff(head: &[u8]) -> Option<Format> {
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Format::Png)
    } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Format::Jpeg)
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        Some(Format::Gif)
    } else if head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WEBP" {
        Some(Format::WebP)
    } else if is_bmp(head) {
        Some(Format::Bmp)
    } else {
        None
    }
}

/// "BM" alone is too weak a signature (text files start with it), so also require a known
/// DIB header size.
fn is_bmp(head: &[u8]) -> bool {
    if head.len() < 18 || !head.starts_with(b"BM") {
        return false;
    }
    let dib = u32::from_le_bytes([head[14], head[15], head[16], head[17]]);
    matches!(dib, 12 | 16 | 40 | 52 | 56 | 64 | 108 | 124)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_signatures() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some(Format::Png));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(Format::Jpeg));
        assert_eq!(sniff(b"GIF89a......"), Some(Format::Gif));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(Format::WebP));
        let mut bmp = b"BM".to_vec();
        bmp.extend_from_slice(&[0; 12]);
        bmp.extend_from_slice(&40u32.to_le_bytes());
        assert_eq!(sniff(&bmp), Some(Format::Bmp));
        assert_eq!(Format::WebP.name(), "webp");
    }

    #[test]
    fn image_extensions_in_any_case() {
        assert!(has_image_extension("a/b.PNG"));
        assert!(has_image_extension("x.tar.jpeg"));
        assert!(!has_image_extension("notes.txt"));
        assert!(!has_image_extension("png"));
        assert!(!has_image_extension("a.pngx"));
    }

    #[test]
    fn rejects_text_and_short_input() {
        assert_eq!(sniff(b"BMW is a car brand, not a bitmap"), None);
        assert_eq!(sniff(b"hello"), None);
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b"\x89PN"), None);
    }
}
