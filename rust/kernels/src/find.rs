//! Find image files under a directory by content.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::sniff::{has_image_extension, sniff, SNIFF_LEN};

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if is_hidden(&path) {
            continue;
        }
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            // Unreadable subdirectories are skipped rather than failing the whole scan.
            let _ = collect_files(&path, files);
        } else if file_type.is_file() || (file_type.is_symlink() && !path.is_dir()) {
            // A link to nothing is kept: named like an image, it reaches the decoder, which names it.
            files.push(path);
        }
        // Symlinked directories are not followed, so a link cycle cannot loop forever.
    }
    Ok(())
}

/// A file named like an image (see [`crate::sniff::IMAGE_EXTENSIONS`]), or one whose first bytes are an image.
fn is_image_candidate(path: &Path) -> bool {
    if path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(has_image_extension)
    {
        return true;
    }
    let mut head = [0u8; SNIFF_LEN];
    let Ok(mut file) = fs::File::open(path) else {
        return false;
    };
    let mut filled = 0;
    while filled < SNIFF_LEN {
        match file.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    sniff(&head[..filled]).is_some()
}

/// All non-hidden files under `root` (recursively, hidden directories skipped) named like an image
/// or whose content is one, sorted by path.
pub fn find_images(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    collect_files(root, &mut files)?;
    let mut images: Vec<PathBuf> = files
        .into_par_iter()
        .filter(|p| is_image_candidate(p))
        .collect();
    images.sort();
    Ok(images)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_by_content_or_name_and_skips_hidden() {
        let root = std::env::temp_dir().join(format!("gancli-find-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("sub")).unwrap();
        fs::create_dir_all(root.join(".hidden")).unwrap();
        let png = b"\x89PNG\r\n\x1a\n0000000000";
        fs::write(root.join("sub/b.jpg"), png).unwrap();
        fs::write(root.join("a.png"), png).unwrap();
        fs::write(root.join(".dot.png"), png).unwrap();
        fs::write(root.join(".hidden/c.png"), png).unwrap();
        fs::write(root.join("noext"), png).unwrap();
        fs::write(root.join("broken.PNG"), b"text").unwrap();
        fs::write(root.join("notes.txt"), b"text").unwrap();
        #[cfg(unix)]
        {
            // a link to nothing named like an image is listed (and reported when decoded); one
            // named otherwise cannot be told from any other file, and a link to a folder is not followed
            std::os::unix::fs::symlink(root.join("gone.png"), root.join("link.png")).unwrap();
            std::os::unix::fs::symlink(root.join("gone"), root.join("link")).unwrap();
            std::os::unix::fs::symlink(root.join("sub"), root.join("dir.png")).unwrap();
        }
        let found = find_images(&root).unwrap();
        let mut expected = vec!["a.png", "broken.PNG", "noext", "sub/b.jpg"];
        if cfg!(unix) {
            expected.insert(2, "link.png");
        }
        let expected: Vec<PathBuf> = expected.into_iter().map(|p| root.join(p)).collect();
        assert_eq!(found, expected);
        fs::remove_dir_all(&root).unwrap();
    }
}
