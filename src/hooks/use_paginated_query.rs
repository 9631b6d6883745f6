//! `use_paginated_query`: a live list read page by page (convex/react's `usePaginatedQuery`).

use std::{cell::RefCell, rc::Rc};

use serde::{de::DeserializeOwned, Serialize};
use yew::prelude::*;

use super::provider::use_convex;
use crate::{
    client::{ConvexClient, QuerySubscription},
    function::{kind, Function, PaginationOpts, PaginationResult},
    sync::{ConvexError, QueryResult},
    value::{encode_args, to_value, Value},
};

/// Where a paginated list stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaginationStatus {
    /// The first page has not arrived.
    LoadingFirstPage,
    /// Every loaded page is here and there is more: [`UsePaginatedQuery::load_more`] works.
    CanLoadMore,
    /// A page asked for with `load_more` has not arrived.
    LoadingMore,
    /// The last page reached the end.
    Exhausted,
}

/// A page's latest result, decoded once.
struct Loaded<T> {
    items: Vec<Rc<T>>,
    is_done: bool,
    continue_cursor: String,
    /// The server suggests splitting here.
    split_cursor: Option<String>,
}

/// One page: its bounds, its subscription and its latest result.
struct Page<T> {
    /// Stable across splits and insertions (results find their page by it).
    id: u64,
    opts: PaginationOpts,
    result: Option<Result<Loaded<T>, ConvexError>>,
    subscription: Option<QuerySubscription>,
    /// The two halves replacing this page after the server suggested a split; this page's
    /// items show until both halves have theirs.
    split: Option<Box<(Page<T>, Page<T>)>>,
}

struct Pages<T> {
    /// Path and the other args' wire text: a change restarts the list.
    key: Option<(String, String)>,
    /// The client the pages are subscribed with: another one restarts the list.
    client: Option<ConvexClient>,
    path: String,
    args: Value,
    pages: Vec<Page<T>>,
    next_id: u64,
}

impl<T> Pages<T> {
    fn page(&mut self, opts: PaginationOpts) -> Page<T> {
        self.next_id += 1;
        Page { id: self.next_id, opts, result: None, subscription: None, split: None }
    }

    /// The page (or half) with this id.
    fn find(&mut self, id: u64) -> Option<&mut Page<T>> {
        self.pages.iter_mut().find_map(|p| {
            if p.id == id {
                return Some(p);
            }
            let halves = p.split.as_mut()?;
            if halves.0.id == id {
                Some(&mut halves.0)
            } else if halves.1.id == id {
                Some(&mut halves.1)
            } else {
                None
            }
        })
    }
}

fn decode<T: DeserializeOwned>(raw: Option<QueryResult>) -> Option<Result<Loaded<T>, ConvexError>> {
    raw.map(|r| {
        r.and_then(|value| {
            let result = value.deserialize::<PaginationResult<T>>().map_err(ConvexError::Decode)?;
            Ok(Loaded {
                items: result.page.into_iter().map(Rc::new).collect(),
                is_done: result.is_done,
                continue_cursor: result.continue_cursor,
                split_cursor: result.split_cursor.filter(|_| result.page_status.is_some()),
            })
        })
    })
}

/// Subscribes the page (or half) `id` of `state`.
fn subscribe<T: DeserializeOwned + 'static>(
    client: &ConvexClient,
    state: &Rc<RefCell<Pages<T>>>,
    id: u64,
    update: &Callback<()>,
) {
    let (path, args) = {
        let mut st = state.borrow_mut();
        let mut args = st.args.clone();
        let Some(page) = st.find(id) else { return };
        let opts = to_value(&page.opts).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut args {
            map.insert("paginationOpts".into(), opts);
        }
        (st.path.clone(), args)
    };
    let weak = Rc::downgrade(state);
    let update_cb = update.clone();
    let subscribed = client.subscribe_value(&path, args, move |raw| {
        let Some(state) = weak.upgrade() else { return };
        let Ok(mut st) = state.try_borrow_mut() else { return };
        // A page of a previous list (or one split away) is gone: nothing to update.
        let Some(page) = st.find(id) else { return };
        page.result = decode(raw);
        drop(st);
        update_cb.emit(());
    });
    let mut st = state.borrow_mut();
    if let Some(page) = st.find(id) {
        match subscribed {
            Ok(sub) => {
                if page.result.is_none() {
                    page.result = decode(sub.current());
                }
                page.subscription = Some(sub);
            }
            Err(e) => page.result = Some(Err(e)),
        }
    }
}

/// Swaps in the halves of split pages once both have results, and splits pages the server
/// suggested splitting. Returns the new halves to subscribe.
fn maintain<T>(st: &mut Pages<T>) -> Vec<u64> {
    let mut new_halves = Vec::new();
    let mut i = 0;
    while i < st.pages.len() {
        let ready = st.pages[i].split.as_ref().is_some_and(|h| {
            matches!(h.0.result, Some(Ok(_))) && matches!(h.1.result, Some(Ok(_)))
        });
        if ready {
            if let Some(halves) = st.pages[i].split.take() {
                let (first, second) = *halves;
                st.pages[i] = first;
                st.pages.insert(i + 1, second);
                i += 2;
                continue;
            }
        }
        let split_at = match (&st.pages[i].split, &st.pages[i].result) {
            (None, Some(Ok(loaded))) => {
                loaded.split_cursor.clone().map(|s| (s, loaded.continue_cursor.clone()))
            }
            _ => None,
        };
        if let Some((split, end)) = split_at {
            let opts = st.pages[i].opts.clone();
            let first = st.page(PaginationOpts { end_cursor: Some(split.clone()), ..opts.clone() });
            let second =
                st.page(PaginationOpts { cursor: Some(split), end_cursor: Some(end), ..opts });
            new_halves.extend([first.id, second.id]);
            st.pages[i].split = Some(Box::new((first, second)));
        }
        i += 1;
    }
    new_halves
}

/// What [`use_paginated_query`] returns.
#[derive(Clone)]
pub struct UsePaginatedQuery<T> {
    /// Every loaded item, page after page.
    pub results: Vec<Rc<T>>,
    /// Where the list stands.
    pub status: PaginationStatus,
    /// A page failed (its error), if any.
    pub error: Option<ConvexError>,
    load_more: Callback<usize>,
}

impl<T> UsePaginatedQuery<T> {
    /// Asks for `num_items` more items after the last page; does nothing unless the status is
    /// [`PaginationStatus::CanLoadMore`].
    pub fn load_more(&self, num_items: usize) {
        self.load_more.emit(num_items);
    }

    /// [`UsePaginatedQuery::load_more`] as a callback (for event handlers).
    pub fn load_more_callback(&self) -> Callback<usize> {
        self.load_more.clone()
    }

    /// Whether a page is on its way.
    pub fn is_loading(&self) -> bool {
        matches!(self.status, PaginationStatus::LoadingFirstPage | PaginationStatus::LoadingMore)
    }
}

fn status_of<T>(pages: &[Page<T>]) -> PaginationStatus {
    let (Some(first), Some(last)) = (pages.first(), pages.last()) else {
        return PaginationStatus::LoadingFirstPage;
    };
    if first.result.is_none() {
        return PaginationStatus::LoadingFirstPage;
    }
    match &last.result {
        None => PaginationStatus::LoadingMore,
        Some(Ok(loaded)) if loaded.is_done => PaginationStatus::Exhausted,
        Some(_) => PaginationStatus::CanLoadMore,
    }
}

/// A live list read page by page, as `usePaginatedQuery`: the paginated query `query`
/// (one taking `paginationOpts` and returning a [`PaginationResult<T>`]) with the other
/// arguments `args` (an object without `paginationOpts`, or `()` for none), `initial_num_items`
/// first. With a generated reference, `T` is the page's item type:
/// `use_paginated_query(api::posts::list_paginated, (), 10)`.
///
/// Every loaded page stays live: items added, changed or removed inside a loaded page show at
/// once (the server keeps each page's bounds in its query journal, so pages never overlap or
/// leave gaps). [`UsePaginatedQuery::load_more`] adds a page after the last. A page that grew
/// large is split in two when the server suggests it, with its items shown throughout. New
/// `args` (or another query) start over.
///
/// # Example
/// ```no_run
/// use serde::Deserialize;
/// use yew::prelude::*;
/// use yew_convex::{use_paginated_query, PaginationStatus};
///
/// #[derive(Deserialize)]
/// struct Post { title: String }
///
/// #[function_component]
/// fn Posts() -> Html {
///     let posts = use_paginated_query::<Post, serde_json::Value>(
///         "posts:listPaginated",
///         serde_json::json!({}),
///         10,
///     );
///     let more = {
///         let load = posts.load_more_callback();
///         Callback::from(move |_| load.emit(10))
///     };
///     html! {
///         <>
///             <ul>{ for posts.results.iter().map(|p| html! { <li>{ &p.title }</li> }) }</ul>
///             if posts.status == PaginationStatus::CanLoadMore {
///                 <button onclick={more}>{"Load more"}</button>
///             }
///         </>
///     }
/// }
/// ```
#[hook]
pub fn use_paginated_query<T, A>(
    query: impl Function<kind::Query, A, PaginationResult<T>>,
    args: impl Serialize,
    initial_num_items: usize,
) -> UsePaginatedQuery<T>
where
    T: DeserializeOwned + 'static,
    A: 'static,
{
    let client = use_convex();
    let update = use_force_update();
    let update = {
        let update = update.clone();
        Callback::from(move |()| update.force_update())
    };
    let state: Rc<RefCell<Pages<T>>> = use_mut_ref(|| Pages {
        key: None,
        client: None,
        path: String::new(),
        args: Value::Null,
        pages: Vec::new(),
        next_id: 0,
    });

    let path = query.path().to_string();
    let args = to_value(&args).map_err(ConvexError::InvalidArgs).and_then(|v| match v {
        Value::Object(_) => Ok(v),
        // `()`: no other args.
        Value::Null => Ok(Value::Object(Default::default())),
        other => Err(ConvexError::InvalidArgs(crate::value::ValueError::Custom(format!(
            "the other args of a paginated query are an object, not {}",
            other.type_name()
        )))),
    });
    // The args and their wire text (the list's identity), or why they cannot be sent.
    let args = args.and_then(|a| {
        let text = encode_args(&a).map_err(ConvexError::InvalidArgs)?;
        Ok((a, text))
    });
    let invalid = args.as_ref().err().cloned();
    let key = args.as_ref().ok().map(|(_, text)| (path.clone(), text.clone()));

    // A new list (other args, another query, another client): the first page, subscribed now
    // (a result the client already has shows in this very render).
    let restart = {
        let st = state.borrow();
        st.key != key || st.client.as_ref() != Some(&client)
    };
    if restart {
        let first = {
            let mut st = state.borrow_mut();
            st.key = key.clone();
            st.client = Some(client.clone());
            st.path = path;
            st.args = args.map(|(a, _)| a).unwrap_or(Value::Null);
            st.pages = Vec::new();
            key.is_some().then(|| {
                let page = st.page(PaginationOpts::first(initial_num_items));
                let id = page.id;
                st.pages.push(page);
                id
            })
        };
        if let Some(id) = first {
            subscribe(&client, &state, id, &update);
        }
    }

    // Splits suggested by the server, and halves ready to replace their page.
    let halves = maintain(&mut state.borrow_mut());
    for id in halves {
        subscribe(&client, &state, id, &update);
    }

    // Unmounting drops every page's subscription.
    {
        let state = state.clone();
        use_effect_with((), move |_| move || state.borrow_mut().pages.clear());
    }

    let load_more = {
        let (client, state, update) = (client.clone(), state.clone(), update.clone());
        Callback::from(move |num_items: usize| {
            let next = {
                let st = state.borrow();
                if status_of(&st.pages) != PaginationStatus::CanLoadMore {
                    return;
                }
                match st.pages.last().and_then(|p| p.result.as_ref()) {
                    Some(Ok(loaded)) => loaded.continue_cursor.clone(),
                    _ => return,
                }
            };
            let id = {
                let mut st = state.borrow_mut();
                let page = st.page(PaginationOpts {
                    cursor: Some(next),
                    ..PaginationOpts::first(num_items)
                });
                let id = page.id;
                st.pages.push(page);
                id
            };
            subscribe(&client, &state, id, &update);
            update.emit(());
        })
    };

    let st = state.borrow();
    let mut results = Vec::new();
    let mut error = invalid;
    for page in &st.pages {
        match &page.result {
            Some(Ok(loaded)) => results.extend(loaded.items.iter().cloned()),
            Some(Err(e)) => {
                error.get_or_insert_with(|| e.clone());
            }
            None => break,
        }
    }
    UsePaginatedQuery { results, status: status_of(&st.pages), error, load_more }
}
