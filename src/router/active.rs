//! Whether a link is active: its path equals the current one (`exact`), or is a prefix of it
//! by whole segments (`/posts` is active on `/posts/42`, not on `/postscript`).

/// Whether a link to `target` is active at `current` (paths without query or hash).
pub fn is_active(current: &str, target: &str, exact: bool) -> bool {
    let trim = |p: &str| -> String {
        let p = p.split(['?', '#']).next().unwrap_or("");
        let t = p.trim_end_matches('/');
        if t.is_empty() {
            "/".to_string()
        } else {
            t.to_string()
        }
    };
    let (current, target) = (trim(current), trim(target));
    if exact || target == "/" {
        return current == target;
    }
    current == target || current.starts_with(&format!("{target}/"))
}

#[cfg(test)]
mod tests {
    use super::is_active;

    #[test]
    fn prefixes_match_whole_segments_and_root_only_exactly() {
        assert!(is_active("/posts/42", "/posts", false));
        assert!(!is_active("/posts/42", "/posts", true));
        assert!(is_active("/posts/", "/posts", true));
        assert!(!is_active("/postscript", "/posts", false));
        assert!(!is_active("/posts", "/", false), "home is active only on itself");
        assert!(is_active("/", "/", false));
        assert!(is_active("/posts?page=2#top", "/posts", true));
    }
}
