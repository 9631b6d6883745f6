//! What an observer shows: the entry's data, or a placeholder while it has none (TanStack's
//! `placeholderData`, with `keepPreviousData` as [`Placeholder::KeepPrevious`]).

use super::data::{Data, QueryState};

/// What to show while the entry has no data.
#[derive(Clone, Default)]
pub enum Placeholder {
    /// Nothing (the observer is pending). The default.
    #[default]
    None,
    /// What the observer showed before its key changed (pages, filters, search as you type).
    KeepPrevious,
    /// This value.
    Data(Data),
}

/// An observer's data and whether it is a placeholder.
#[derive(Clone, Default)]
pub struct ObserverView {
    /// What to show.
    pub data: Option<Data>,
    /// `data` is a placeholder, not the entry's.
    pub is_placeholder: bool,
}

impl ObserverView {
    /// The view of an entry in `state` (`None`: no entry yet) for an observer that showed
    /// `previous` before.
    pub fn compute(
        state: Option<&QueryState>,
        previous: Option<&Data>,
        placeholder: Placeholder,
    ) -> Self {
        if let Some(data) = state.and_then(|s| s.data.clone()) {
            return ObserverView { data: Some(data), is_placeholder: false };
        }
        let data = match placeholder {
            Placeholder::None => None,
            Placeholder::KeepPrevious => previous.cloned(),
            Placeholder::Data(d) => Some(d),
        };
        ObserverView { is_placeholder: data.is_some(), data }
    }
}
