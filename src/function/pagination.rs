//! Convex's pagination types: what a paginated query takes (`paginationOpts`) and returns.

use serde::{Deserialize, Serialize};

/// `paginationOpts`, the argument every paginated query takes (`paginationOptsValidator`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaginationOpts {
    /// How many items the page should hold (when it has no `end_cursor`).
    pub num_items: f64,
    /// Where the page starts: `None` for the beginning, else a `continueCursor`.
    pub cursor: Option<String>,
    /// Where the page ends, when fixed (a split page's halves).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_cursor: Option<String>,
    /// A client-side id for the page set (convex/react sends one; optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<f64>,
    /// Read at most this many rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_rows_read: Option<f64>,
    /// Read at most this many bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_bytes_read: Option<f64>,
}

impl PaginationOpts {
    /// The first `num_items` items.
    pub fn first(num_items: usize) -> Self {
        Self {
            num_items: num_items as f64,
            cursor: None,
            end_cursor: None,
            id: None,
            maximum_rows_read: None,
            maximum_bytes_read: None,
        }
    }
}

/// Why the server suggests splitting a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PageStatus {
    /// The page grew large: split it when convenient.
    SplitRecommended,
    /// The page is too large to read whole: it must be split.
    SplitRequired,
}

/// What a paginated query returns (Convex's `PaginationResult<T>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaginationResult<T> {
    /// The page's items.
    pub page: Vec<T>,
    /// Whether this page reaches the end.
    pub is_done: bool,
    /// Where the next page starts.
    pub continue_cursor: String,
    /// Where to split this page in two, when the server suggests it.
    #[serde(default)]
    pub split_cursor: Option<String>,
    /// Whether (and how urgently) to split.
    #[serde(default)]
    pub page_status: Option<PageStatus>,
}
