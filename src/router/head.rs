//! Document head per route: title, meta and link tags, merged from the root route down (the
//! deepest route wins for the title and for a meta tag with the same key), as TanStack
//! Router's `head()` does.

/// A `<meta>` tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Meta {
    /// `<meta charset>`.
    Charset(String),
    /// `<meta name content>`.
    Name(String, String),
    /// `<meta property content>` (Open Graph).
    Property(String, String),
}

impl Meta {
    /// What makes two tags "the same" (a deeper route's replaces the root's).
    fn key(&self) -> (u8, &str) {
        match self {
            Meta::Charset(_) => (0, ""),
            Meta::Name(name, _) => (1, name),
            Meta::Property(property, _) => (2, property),
        }
    }
}

/// A `<link>` tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkTag {
    /// `rel` (`stylesheet`, `icon`, `manifest`, `apple-touch-icon`, …).
    pub rel: String,
    /// `href`.
    pub href: String,
    /// Other attributes (`type`, `sizes`, `color`, …).
    pub attrs: Vec<(String, String)>,
}

/// The head a route asks for.
///
/// # Example
/// ```
/// use yew_convex::router::{Head, Meta};
/// let root = Head::new().title("yew-convex").meta(Meta::Name("description".into(), "Posts".into()));
/// let page = Head::new().title("Posts | yew-convex");
/// let merged = Head::merge([&root, &page]);
/// assert_eq!(merged.title.as_deref(), Some("Posts | yew-convex"));
/// assert_eq!(merged.meta.len(), 1);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Head {
    /// `<title>`.
    pub title: Option<String>,
    /// `<meta>` tags.
    pub meta: Vec<Meta>,
    /// `<link>` tags.
    pub links: Vec<LinkTag>,
}

impl Head {
    /// An empty head.
    pub fn new() -> Self {
        Self::default()
    }

    /// With this title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// With this meta tag.
    pub fn meta(mut self, meta: Meta) -> Self {
        self.meta.push(meta);
        self
    }

    /// With a `<link rel href>`.
    pub fn link(mut self, rel: impl Into<String>, href: impl Into<String>) -> Self {
        self.links.push(LinkTag { rel: rel.into(), href: href.into(), attrs: Vec::new() });
        self
    }

    /// With a `<link>` with more attributes.
    pub fn link_with(
        mut self,
        rel: impl Into<String>,
        href: impl Into<String>,
        attrs: &[(&str, &str)],
    ) -> Self {
        self.links.push(LinkTag {
            rel: rel.into(),
            href: href.into(),
            attrs: attrs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        });
        self
    }

    /// Merges heads from the root down: the deepest title wins, a deeper meta tag replaces one
    /// with the same key (charset, name or property) in place, links are kept once each
    /// (by `rel` and `href`) in order.
    pub fn merge<'a>(heads: impl IntoIterator<Item = &'a Head>) -> Head {
        let mut merged = Head::default();
        for head in heads {
            if head.title.is_some() {
                merged.title.clone_from(&head.title);
            }
            for meta in &head.meta {
                match merged.meta.iter_mut().find(|m| m.key() == meta.key()) {
                    Some(existing) => *existing = meta.clone(),
                    None => merged.meta.push(meta.clone()),
                }
            }
            for link in &head.links {
                match merged.links.iter_mut().find(|l| l.rel == link.rel && l.href == link.href) {
                    Some(existing) => *existing = link.clone(),
                    None => merged.links.push(link.clone()),
                }
            }
        }
        merged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deepest_route_wins_and_nothing_is_duplicated() {
        let root = Head::new()
            .title("Root")
            .meta(Meta::Charset("utf-8".into()))
            .meta(Meta::Name("viewport".into(), "width=device-width".into()))
            .meta(Meta::Name("description".into(), "root".into()))
            .link("stylesheet", "/app.css")
            .link("icon", "/favicon.svg");
        let posts =
            Head::new().title("Posts").meta(Meta::Name("description".into(), "posts".into()));
        let post = Head::new()
            .link("stylesheet", "/app.css")
            .meta(Meta::Property("og:title".into(), "A".into()));
        let merged = Head::merge([&root, &posts, &post]);
        assert_eq!(
            merged.title.as_deref(),
            Some("Posts"),
            "a route without a title keeps its parent's"
        );
        assert_eq!(
            merged.meta,
            vec![
                Meta::Charset("utf-8".into()),
                Meta::Name("viewport".into(), "width=device-width".into()),
                Meta::Name("description".into(), "posts".into()),
                Meta::Property("og:title".into(), "A".into()),
            ]
        );
        assert_eq!(merged.links.len(), 2);
        assert_eq!(Head::merge([]), Head::default());
    }
}
