//! The web app, embedded in the binary: every file of its build (see build.rs), for the service
//! to serve at `/`.
mod content_type;

pub use content_type::content_type;

/// One file of the built app.
#[derive(Debug)]
pub struct Asset {
    /// Relative to the app's root, `/`-separated: `index.html`, `assets/index-1a2b3c.js`.
    pub path: &'static str,
    pub bytes: &'static [u8],
    pub content_type: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The file at `path` (relative to the app's root), if the build has it.
pub fn get(path: &str) -> Option<&'static Asset> {
    let index = ASSETS.binary_search_by(|a| a.path.cmp(path)).ok()?;
    ASSETS.get(index)
}

/// Every file of the build.
pub fn assets() -> &'static [Asset] {
    ASSETS
}

/// Whether this is the real app, rather than the page saying it could not be built.
pub fn built() -> bool {
    BUILT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_build_has_an_index_page_and_each_file_is_found_by_its_path() {
        let index = get("index.html").expect("an index.html");
        assert_eq!(index.content_type, "text/html; charset=utf-8");
        for asset in assets() {
            assert_eq!(get(asset.path).map(|a| a.path), Some(asset.path));
        }
        assert!(get("no-such-file.js").is_none());
    }
}
