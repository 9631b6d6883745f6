//! The rest of convex/react's client surface, in headless Chromium against the devserver:
//! `expectAuth`, the unsaved-changes warning, `useQueries` and preloaded queries.
#![cfg(target_arch = "wasm32")]

mod support;

use std::{collections::BTreeMap, time::Duration};

use serde_json::json;
use support::{install_send_spy, post, sent, token, unique, wait_until, Log, CONVEX_URL};
use wasm_bindgen_test::*;
use yew::prelude::*;
use yew_convex::{
    client::ConvexClient, preload_query, sync::SyncConfig, use_preloaded_query, use_queries,
    value::Value, ConvexProvider, PreloadedQuery, QuerySpec, QueryState,
};

wasm_bindgen_test_configure!(run_in_browser);

const WAIT: Duration = Duration::from_secs(15);

/// Where, among `frames` of `session`'s sockets, the first Authenticate and the first
/// ModifyQuerySet asking for `users:me` are.
fn order(frames: &[serde_json::Value], session: &str) -> (Option<usize>, Option<usize>) {
    // Frames of this client: from its Connect (with its session id) to the next Connect.
    let mut mine = false;
    let mut authenticate = None;
    let mut me = None;
    for (i, frame) in frames.iter().enumerate() {
        if frame["type"] == "Connect" {
            mine = frame["sessionId"] == session;
        }
        if !mine {
            continue;
        }
        if frame["type"] == "Authenticate" && authenticate.is_none() {
            authenticate = Some(i);
        }
        if frame["type"] == "ModifyQuerySet"
            && frame.to_string().contains("users:me")
            && me.is_none()
        {
            me = Some(i);
        }
    }
    (authenticate, me)
}

async fn users_me_of(
    expect_auth: bool,
    sub: &str,
) -> (Vec<Option<Value>>, (Option<usize>, Option<usize>)) {
    let config = SyncConfig { expect_auth, ..SyncConfig::default() };
    let client = ConvexClient::with_config(CONVEX_URL, config).expect("client");
    let (me, _sub) = support::record(&client, "users:me");
    // The page renders and connects before the auth provider has a token (as a Clerk app
    // does: clerk-js loads, then the token comes).
    wait_until("the socket is open", WAIT, || client.connection_state().is_websocket_connected)
        .await;
    support::sleep(200).await;
    let token = token(sub, sub, 600).await;
    client.set_auth(move |_| std::future::ready(Some(token.clone())), |_| {});
    wait_until("users:me is the user", WAIT, || {
        me.last().flatten().and_then(|v| v.as_object().and_then(|o| o.get("subject").cloned()))
            == Some(Value::from(sub))
    })
    .await;
    (me.all(), order(&sent(), &client.session_id()))
}

#[wasm_bindgen_test]
async fn with_expect_auth_a_signed_in_page_never_asks_anonymously() {
    install_send_spy();
    let (shown, (authenticate, me)) = users_me_of(true, "expecting").await;
    let (authenticate, me) = (authenticate.expect("an Authenticate"), me.expect("users:me sent"));
    assert!(
        authenticate < me,
        "users:me is asked only after the token (frames {authenticate}, {me})"
    );
    assert!(!shown.contains(&Some(Value::Null)), "never shown signed out: {shown:?}");

    // Without it, the same page asks anonymously first (what expectAuth is for).
    let (shown, (authenticate, me)) = users_me_of(false, "not-expecting").await;
    assert!(me.expect("users:me sent") < authenticate.expect("an Authenticate"));
    assert_eq!(shown.first(), Some(&Some(Value::Null)), "shown as nobody first: {shown:?}");
}

/// Dispatches a cancelable `beforeunload`; whether a listener asked to stay.
fn leaving_is_questioned() -> bool {
    let init = web_sys::EventInit::new();
    init.set_cancelable(true);
    let event = web_sys::Event::new_with_event_init_dict("beforeunload", &init).expect("event");
    let window = web_sys::window().expect("window");
    let _ = window.dispatch_event(&event);
    event.default_prevented()
}

#[wasm_bindgen_test]
async fn leaving_with_an_unacknowledged_mutation_asks_first() {
    let client = ConvexClient::new(CONVEX_URL).expect("client");
    let quiet = ConvexClient::with_config(
        CONVEX_URL,
        SyncConfig { unsaved_changes_warning: false, ..SyncConfig::default() },
    )
    .expect("client");
    wait_until("both are connected", WAIT, || {
        client.connection_state().is_websocket_connected
            && quiet.connection_state().is_websocket_connected
    })
    .await;
    assert!(!leaving_is_questioned(), "nothing pending: leave freely");

    // The devserver runs this client's mutations but holds their answers back.
    let session = client.session_id();
    post("/dev/hold_mutations", &json!({"sessionId": session, "hold": true})).await;
    let done = Log::<bool>::default();
    {
        let (client, done) = (client.clone(), done.clone());
        let key = unique("unsaved");
        wasm_bindgen_futures::spawn_local(async move {
            let result = client.mutation::<_, String>("ledger:add", &json!({ "key": key })).await;
            done.push(result.is_ok());
        });
    }
    wait_until("the mutation is in flight", WAIT, || {
        client.connection_state().inflight_mutations == 1
    })
    .await;
    assert!(leaving_is_questioned(), "a mutation is not acknowledged: ask");

    // The quiet client's pending mutation never asks.
    let quiet_session = quiet.session_id();
    post("/dev/hold_mutations", &json!({"sessionId": session, "hold": false})).await;
    wait_until("the mutation is acknowledged", WAIT, || done.len() == 1).await;
    assert_eq!(done.all(), [true]);
    assert!(!leaving_is_questioned(), "acknowledged: leave freely");

    post("/dev/hold_mutations", &json!({"sessionId": quiet_session, "hold": true})).await;
    let quiet_done = Log::<bool>::default();
    {
        let (quiet, quiet_done) = (quiet.clone(), quiet_done.clone());
        let key = unique("quiet");
        wasm_bindgen_futures::spawn_local(async move {
            let result = quiet.mutation::<_, String>("ledger:add", &json!({ "key": key })).await;
            quiet_done.push(result.is_ok());
        });
    }
    wait_until("the quiet client's mutation is in flight", WAIT, || {
        quiet.connection_state().inflight_mutations == 1
    })
    .await;
    assert!(!leaving_is_questioned(), "unsaved_changes_warning: false never asks");
    post("/dev/hold_mutations", &json!({"sessionId": quiet_session, "hold": false})).await;
    wait_until("the quiet mutation is acknowledged", WAIT, || quiet_done.len() == 1).await;
}

/// The last render of `Echoes`: key → what it showed.
#[derive(Clone, Default, PartialEq)]
struct LastRender(std::rc::Rc<std::cell::RefCell<BTreeMap<String, String>>>);

#[derive(Properties, PartialEq)]
struct EchoesProps {
    values: Vec<(String, serde_json::Value)>,
    seen: LastRender,
}

#[function_component]
fn Echoes(props: &EchoesProps) -> Html {
    let queries: BTreeMap<String, QuerySpec> = props
        .values
        .iter()
        .map(|(key, value)| {
            (key.clone(), QuerySpec::new("values:echo", &json!({ "value": value })))
        })
        .collect();
    let results = use_queries(queries);
    let shown: BTreeMap<String, String> = results
        .iter()
        .map(|(k, r)| {
            let text = match r {
                QueryState::Loading => "loading".to_string(),
                QueryState::Ready(v) => format!("{}", v.to_json().unwrap_or_default()),
                QueryState::Failed(e) => format!("error: {e}"),
            };
            (k.clone(), text)
        })
        .collect();
    *props.seen.0.borrow_mut() = shown;
    html! {}
}

#[derive(Properties, PartialEq)]
struct AppProps {
    client: ConvexClient,
    values: Vec<(String, serde_json::Value)>,
    seen: LastRender,
}

#[function_component]
fn EchoesApp(props: &AppProps) -> Html {
    html! {
        <ConvexProvider client={props.client.clone()}>
            <Echoes values={props.values.clone()} seen={props.seen.clone()} />
        </ConvexProvider>
    }
}

#[wasm_bindgen_test]
async fn use_queries_keeps_a_keyed_set_of_live_queries() {
    let client = ConvexClient::new(CONVEX_URL).expect("client");
    let seen = LastRender::default();
    let props = |values: Vec<(&str, serde_json::Value)>| AppProps {
        client: client.clone(),
        values: values.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        seen: seen.clone(),
    };
    let mut handle = support::mount::<EchoesApp>(props(vec![
        ("a", json!("one")),
        ("b", json!(2.5)),
        ("c", json!([true])),
    ]));
    let shows = |expected: Vec<(&str, &str)>| {
        let expected: BTreeMap<String, String> =
            expected.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let seen = seen.clone();
        move || *seen.0.borrow() == expected
    };
    wait_until(
        "the three results",
        WAIT,
        shows(vec![("a", "\"one\""), ("b", "2.5"), ("c", "[true]")]),
    )
    .await;
    // b's args change, c goes, d comes; a keeps its result.
    handle.update(props(vec![("a", json!("one")), ("b", json!("two")), ("d", json!(null))]));
    wait_until("the new set", WAIT, shows(vec![("a", "\"one\""), ("b", "\"two\""), ("d", "null")]))
        .await;
    // Args that are not Convex values fail their key alone.
    handle.update(props(vec![("a", json!("one")), ("bad", json!({"$x": 1}))]));
    wait_until("a failed key beside a good one", WAIT, || {
        let seen = seen.0.borrow();
        seen.get("a").map(String::as_str) == Some("\"one\"")
            && seen.get("bad").is_some_and(|s| s.starts_with("error: "))
            && seen.len() == 2
    })
    .await;
    handle.destroy();
}

#[derive(Properties, PartialEq)]
struct PreloadedProps {
    client: ConvexClient,
    query: PreloadedQuery<String>,
    renders: Log<String>,
}

#[function_component]
fn ShowPreloaded(props: &PreloadedProps) -> Html {
    let state = use_preloaded_query(&props.query);
    props.renders.push(match &state {
        QueryState::Loading => "loading".to_string(),
        QueryState::Ready(text) => format!("ready: {text}"),
        QueryState::Failed(e) => format!("error: {e}"),
    });
    html! {}
}

#[function_component]
fn PreloadedApp(props: &PreloadedProps) -> Html {
    html! {
        <ConvexProvider client={props.client.clone()}>
            <ShowPreloaded client={props.client.clone()} query={props.query.clone()} renders={props.renders.clone()} />
        </ConvexProvider>
    }
}

#[wasm_bindgen_test]
async fn a_preloaded_query_shows_its_data_in_the_first_render() {
    let client = ConvexClient::new(CONVEX_URL).expect("client");
    let text = unique("preloaded");
    let query = preload_query::<String, _>(&client, "values:echo", &json!({ "value": text }))
        .expect("preload");
    wait_until("the preload's result", WAIT, || query.is_ready()).await;
    let renders = Log::<String>::default();
    let handle = support::mount::<PreloadedApp>(PreloadedProps {
        client: client.clone(),
        query,
        renders: renders.clone(),
    });
    wait_until("a render", WAIT, || renders.len() > 0).await;
    assert_eq!(
        renders.all().first(),
        Some(&format!("ready: {text}")),
        "no loading state: {:?}",
        renders.all()
    );
    handle.destroy();
}
