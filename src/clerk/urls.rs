//! Where clerk-js and @clerk/ui come from: the pinned npm versions, under a Frontend API base.

/// The clerk-js version this crate is built and tested against.
pub const CLERK_JS_VERSION: &str = "6.40.0";
/// The @clerk/ui version this crate is built and tested against.
pub const CLERK_UI_VERSION: &str = "1.36.0";

/// Where to load the scripts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptUrls {
    /// `clerk.browser.js`.
    pub clerk_js: String,
    /// `ui.browser.js` (its chunks load from the same folder).
    pub ui: String,
}

impl ScriptUrls {
    /// The pinned bundles under a Frontend API base (`https://<fapi>` or a proxy URL such as
    /// `/__clerk`).
    pub fn under(base: &str) -> Self {
        let base = base.trim_end_matches('/');
        Self {
            clerk_js: format!(
                "{base}/npm/@clerk/clerk-js@{CLERK_JS_VERSION}/dist/clerk.browser.js"
            ),
            ui: format!("{base}/npm/@clerk/ui@{CLERK_UI_VERSION}/dist/ui.browser.js"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_urls() {
        let urls = ScriptUrls::under("/__clerk/");
        assert_eq!(urls.clerk_js, "/__clerk/npm/@clerk/clerk-js@6.40.0/dist/clerk.browser.js");
        assert_eq!(urls.ui, "/__clerk/npm/@clerk/ui@1.36.0/dist/ui.browser.js");
    }
}
