//! `use_queries`: a keyed set of live queries in one hook (convex/react's `useQueries`).

use std::{cell::RefCell, collections::BTreeMap, rc::Rc};

use serde::Serialize;
use yew::prelude::*;

use super::{provider::use_convex, use_query::QueryState};
use crate::{
    client::QuerySubscription,
    function::{kind, FunctionArgs},
    sync::{ConvexError, QueryResult},
    value::{encode_args, to_value, Value},
};

/// One query of a [`use_queries`] set: a function and its args.
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySpec {
    path: String,
    /// The args and their wire text, or why they do not encode.
    args: Result<(Value, String), ConvexError>,
}

impl QuerySpec {
    /// The query `query` (a reference or a path) with `args`.
    pub fn new<A: Serialize + ?Sized>(query: impl FunctionArgs<kind::Query, A>, args: &A) -> Self {
        let args = to_value(args).and_then(|value| {
            let text = encode_args(&value)?;
            Ok((value, text))
        });
        Self { path: query.path().to_string(), args: args.map_err(ConvexError::InvalidArgs) }
    }

    fn identity(&self) -> Option<(String, String)> {
        self.args.as_ref().ok().map(|(_, text)| (self.path.clone(), text.clone()))
    }
}

struct Entry {
    identity: Option<(String, String)>,
    state: QueryState<Value>,
    subscription: Option<QuerySubscription>,
}

fn state_of(raw: Option<QueryResult>) -> QueryState<Value> {
    match raw {
        None => QueryState::Loading,
        Some(Ok(value)) => match value.value() {
            Ok(value) => QueryState::Ready(value),
            Err(e) => QueryState::Failed(ConvexError::Decode(e)),
        },
        Some(Err(e)) => QueryState::Failed(e),
    }
}

/// Subscribes the component to a keyed set of queries, as `useQueries` does: each key's
/// [`QueryState`] (its value as a [`Value`]; decode it with
/// [`from_value_ref`](crate::value::from_value_ref)). Keys may come and go between renders:
/// a key whose query and args stay the same keeps its subscription (and its result); a new
/// key subscribes; a removed key unsubscribes. Args that do not encode show as
/// [`QueryState::Failed`] for their key alone.
///
/// # Example
/// ```no_run
/// use std::collections::BTreeMap;
/// use yew::prelude::*;
/// use yew_convex::{use_queries, QuerySpec};
///
/// #[derive(Properties, PartialEq)]
/// struct Props { ids: Vec<String> }
///
/// #[function_component]
/// fn Titles(props: &Props) -> Html {
///     let queries: BTreeMap<String, QuerySpec> = props.ids.iter()
///         .map(|id| (id.clone(), QuerySpec::new("posts:get", &serde_json::json!({ "id": id }))))
///         .collect();
///     let results = use_queries(queries);
///     html! { <ul>{ for results.iter().map(|(id, r)| html! {
///         <li>{ format!("{id}: {:?}", r.value()) }</li>
///     }) }</ul> }
/// }
/// ```
#[hook]
pub fn use_queries<K>(queries: BTreeMap<K, QuerySpec>) -> BTreeMap<K, QueryState<Value>>
where
    K: Ord + Clone + 'static,
{
    let client = use_convex();
    let update = use_force_update();
    let entries: Rc<RefCell<BTreeMap<K, Entry>>> = use_mut_ref(BTreeMap::new);

    {
        let mut map = entries.borrow_mut();
        // Keys gone, or whose query changed, lose their subscription and result.
        map.retain(|k, e| queries.get(k).is_some_and(|q| q.identity() == e.identity));
        for (key, spec) in &queries {
            if map.contains_key(key) {
                continue;
            }
            let identity = spec.identity();
            let mut entry = Entry {
                identity: identity.clone(),
                state: QueryState::Loading,
                subscription: None,
            };
            match &spec.args {
                Err(e) => entry.state = QueryState::Failed(e.clone()),
                Ok((value, _)) => {
                    let (entries_cb, update_cb, key_cb) =
                        (Rc::downgrade(&entries), update.clone(), key.clone());
                    let subscribed =
                        client.subscribe_value(&spec.path, value.clone(), move |raw| {
                            let Some(entries) = entries_cb.upgrade() else { return };
                            let Ok(mut map) = entries.try_borrow_mut() else { return };
                            let Some(entry) = map.get_mut(&key_cb) else { return };
                            if entry.identity != identity {
                                return;
                            }
                            let state = state_of(raw);
                            let same = match (&entry.state, &state) {
                                (QueryState::Ready(a), QueryState::Ready(b)) => a == b,
                                (a, b) => a == b,
                            };
                            if !same {
                                entry.state = state;
                                drop(map);
                                update_cb.force_update();
                            }
                        });
                    match subscribed {
                        Ok(sub) => {
                            entry.state = state_of(sub.current());
                            entry.subscription = Some(sub);
                        }
                        Err(e) => entry.state = QueryState::Failed(e),
                    }
                }
            }
            map.insert(key.clone(), entry);
        }
    }

    // Unmounting drops every subscription.
    {
        let entries = entries.clone();
        use_effect_with((), move |_| move || entries.borrow_mut().clear());
    }

    let map = entries.borrow();
    map.iter().map(|(k, e)| (k.clone(), e.state.clone())).collect()
}
