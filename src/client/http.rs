//! `ConvexHttpClient`: queries, mutations and actions over Convex's HTTP API, without a
//! WebSocket (one-shot calls, server-side-style code, scripts).

use std::{cell::RefCell, rc::Rc};

use futures_channel::oneshot;
use gloo_net::http::Request;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use super::url::normalize_deployment_url;
use crate::{
    function::{kind, Function},
    sync::ConvexError,
    value::{from_value, to_value, Value},
};

/// A client for Convex's HTTP API.
///
/// Mutations run one at a time, in the order they were called (as the JavaScript client's
/// queue does; see [`ConvexHttpClient::mutation`]); queries and actions run concurrently. Function errors (HTTP 200 or 560 with
/// `status: "error"`) become [`ConvexError::Function`], with ConvexError data; other failures
/// become [`ConvexError::Http`] with the backend's error code.
///
/// # Example
/// ```no_run
/// # async fn demo() -> Result<(), yew_convex::sync::ConvexError> {
/// use yew_convex::client::ConvexHttpClient;
/// let client = ConvexHttpClient::new("http://127.0.0.1:3210")?;
/// let posts: Vec<serde_json::Value> = client.query("posts:list", &serde_json::json!({})).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ConvexHttpClient {
    url: String,
    auth: Rc<RefCell<Option<String>>>,
    /// Completion of the last queued mutation: its sender is dropped once that mutation's
    /// request has finished (or was never sent).
    last_mutation: Rc<RefCell<Option<oneshot::Receiver<()>>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Reply {
    status: Option<String>,
    #[serde(default)]
    value: Option<Value>,
    error_message: Option<String>,
    #[serde(default)]
    error_data: Option<Value>,
    #[serde(default)]
    log_lines: Vec<String>,
    code: Option<String>,
    message: Option<String>,
}

impl ConvexHttpClient {
    /// A client for the deployment at `deployment_url`.
    pub fn new(deployment_url: &str) -> Result<Self, ConvexError> {
        Ok(Self {
            url: normalize_deployment_url(deployment_url)?,
            auth: Rc::new(RefCell::new(None)),
            last_mutation: Rc::new(RefCell::new(None)),
        })
    }

    /// Sends `Authorization: Bearer <token>` with every call (`None`: no header). The token
    /// is used as is (this client never refreshes it).
    pub fn set_auth(&self, token: Option<String>) {
        *self.auth.borrow_mut() = token;
    }

    /// Runs a query.
    pub async fn query<A: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        query: impl Function<kind::Query, A, T>,
        args: &A,
    ) -> Result<T, ConvexError> {
        self.call("query", query.path(), args).await
    }

    /// Runs a mutation, after every mutation queued before it has finished.
    ///
    /// The queue: the returned future takes its place in the queue when first polled (for
    /// `client.mutation(..).await`, when called). The request is sent by a task of its own
    /// (`spawn_local`) once the previous mutation's request has finished, and the next mutation
    /// starts only when this request has finished: answered, or failed. Dropping the returned
    /// future cannot cancel a request already sent (the server may run it), so it does not
    /// shorten the wait of the next one; it only discards the result. A mutation whose future
    /// is dropped before its turn comes is never sent.
    pub async fn mutation<A: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        mutation: impl Function<kind::Mutation, A, T>,
        args: &A,
    ) -> Result<T, ConvexError> {
        let path = mutation.path();
        let body = request_body(path, args)?;
        let (done, finished) = oneshot::channel::<()>();
        let previous = self.last_mutation.borrow_mut().replace(finished);
        let (reply, answer) = oneshot::channel();
        let (client, path) = (self.clone(), path.to_string());
        wasm_bindgen_futures::spawn_local(async move {
            if let Some(previous) = previous {
                // Canceled (the previous one finished and dropped its sender) is the signal.
                let _ = previous.await;
            }
            if !reply.is_canceled() {
                let result = client.send("mutation", &path, body).await;
                let _ = reply.send(result);
            }
            // Only now (the request has finished, or was never sent) may the next one start.
            drop(done);
        });
        let value = answer.await.map_err(|_| ConvexError::Closed)??;
        from_value(value).map_err(ConvexError::Decode)
    }

    /// Runs an action.
    pub async fn action<A: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        action: impl Function<kind::Action, A, T>,
        args: &A,
    ) -> Result<T, ConvexError> {
        self.call("action", action.path(), args).await
    }

    async fn call<A: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        kind: &str,
        path: &str,
        args: &A,
    ) -> Result<T, ConvexError> {
        let body = request_body(path, args)?;
        let value = self.send(kind, path, body).await?;
        from_value(value).map_err(ConvexError::Decode)
    }

    /// POSTs `body` to `/api/<kind>`; the function's return value, or the error.
    async fn send(&self, kind: &str, path: &str, body: String) -> Result<Value, ConvexError> {
        let mut request = Request::post(&format!("{}/api/{kind}", self.url))
            .header("Content-Type", "application/json")
            .header("Convex-Client", &format!("npm-{}", super::url::PROTOCOL_CLIENT_VERSION));
        if let Some(token) = self.auth.borrow().as_deref() {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        let network = |e: gloo_net::Error| ConvexError::Http {
            code: "NetworkError".into(),
            message: e.to_string(),
        };
        let response = request.body(body).map_err(network)?.send().await.map_err(network)?;
        let status = response.status();
        let text = response.text().await.map_err(network)?;
        let reply =
            crate::value::RawValue::from_json(&text).and_then(|raw| raw.deserialize::<Reply>());
        let reply = reply.map_err(|_| ConvexError::Http {
            code: format!("HTTP {status}"),
            message: text.chars().take(500).collect(),
        })?;
        for line in &reply.log_lines {
            web_sys::console::log_1(
                &format!("[CONVEX {}({path})] {line}", kind_letter(kind)).into(),
            );
        }
        match (reply.status.as_deref(), status) {
            (Some("success"), 200) => Ok(reply.value.unwrap_or(Value::Null)),
            (Some("error"), 200 | 560) => Err(ConvexError::Function {
                message: reply.error_message.unwrap_or_default(),
                data: reply.error_data.map(std::sync::Arc::new),
            }),
            _ => Err(ConvexError::Http {
                code: reply.code.unwrap_or_else(|| format!("HTTP {status}")),
                message: reply.message.unwrap_or(text),
            }),
        }
    }
}

/// The JSON body of a call: `{path, format, args}` with Convex-encoded args.
fn request_body<A: Serialize + ?Sized>(path: &str, args: &A) -> Result<String, ConvexError> {
    let args = to_value(args).map_err(ConvexError::InvalidArgs)?;
    let args_json = crate::value::encode_args(&args).map_err(ConvexError::InvalidArgs)?;
    let mut body = String::with_capacity(path.len() + args_json.len() + 48);
    body.push_str(r#"{"path":"#);
    crate::value::push_json_string(&mut body, path);
    body.push_str(r#","format":"convex_encoded_json","args":"#);
    body.push_str(&args_json);
    body.push('}');
    Ok(body)
}

fn kind_letter(kind: &str) -> char {
    match kind {
        "query" => 'Q',
        "mutation" => 'M',
        _ => 'A',
    }
}
