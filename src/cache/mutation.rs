//! Mutations with TanStack Query's lifecycle: `on_mutate` before the call (it may return a
//! context, e.g. what an optimistic edit replaced), then `on_success` or `on_error` (with that
//! context, to roll back), then `on_settled`, then the invalidation of the keys it affects.
//! Framework-free: the caller says how to invalidate.

use std::{any::Any, future::Future, pin::Pin, rc::Rc};

use super::{data::QueryError, key::QueryKey};

type MutationFn<V, T> = Rc<dyn Fn(V) -> Pin<Box<dyn Future<Output = Result<T, QueryError>>>>>;
/// What `on_mutate` hands to the later callbacks.
pub type Context = Option<Rc<dyn Any>>;
type OnMutate<V> = Option<Rc<dyn Fn(&V) -> Context>>;
type OnSuccess<V, T> = Option<Rc<dyn Fn(&T, &V, &Context)>>;
type OnError<V> = Option<Rc<dyn Fn(&QueryError, &V, &Context)>>;
type OnSettled<V, T> = Option<Rc<dyn Fn(Result<&T, &QueryError>, &V, &Context)>>;

/// A mutation: its function, lifecycle callbacks and the keys it invalidates.
///
/// # Example
/// ```
/// use yew_convex::cache::{Mutation, QueryError, QueryKey};
/// let todos = QueryKey::from_serialize(&["todos"]).unwrap();
/// let add = Mutation::new(|title: String| async move { Ok::<_, QueryError>(title.len()) })
///     .on_success(|len: &usize, _title: &String, _ctx| assert!(*len > 0))
///     .invalidates(todos);
/// ```
pub struct Mutation<V, T> {
    mutation_fn: MutationFn<V, T>,
    on_mutate: OnMutate<V>,
    on_success: OnSuccess<V, T>,
    on_error: OnError<V>,
    on_settled: OnSettled<V, T>,
    invalidates: Vec<QueryKey>,
}

impl<V, T> Clone for Mutation<V, T> {
    fn clone(&self) -> Self {
        Self {
            mutation_fn: self.mutation_fn.clone(),
            on_mutate: self.on_mutate.clone(),
            on_success: self.on_success.clone(),
            on_error: self.on_error.clone(),
            on_settled: self.on_settled.clone(),
            invalidates: self.invalidates.clone(),
        }
    }
}

/// Where a mutation hook stands.
#[derive(Debug, PartialEq)]
pub enum MutationState<T> {
    /// Not run yet (or reset).
    Idle,
    /// Running.
    Pending,
    /// The last run succeeded.
    Success(Rc<T>),
    /// The last run failed.
    Error(QueryError),
}

impl<T> Clone for MutationState<T> {
    fn clone(&self) -> Self {
        match self {
            MutationState::Idle => MutationState::Idle,
            MutationState::Pending => MutationState::Pending,
            MutationState::Success(v) => MutationState::Success(v.clone()),
            MutationState::Error(e) => MutationState::Error(e.clone()),
        }
    }
}

impl<V: 'static, T: 'static> Mutation<V, T> {
    /// A mutation running `f`.
    pub fn new<F, Fut>(f: F) -> Self
    where
        F: Fn(V) -> Fut + 'static,
        Fut: Future<Output = Result<T, QueryError>> + 'static,
    {
        Self {
            mutation_fn: Rc::new(move |v| Box::pin(f(v))),
            on_mutate: None,
            on_success: None,
            on_error: None,
            on_settled: None,
            invalidates: Vec::new(),
        }
    }

    /// Runs before the mutation; what it returns reaches the other callbacks.
    pub fn on_mutate(mut self, f: impl Fn(&V) -> Context + 'static) -> Self {
        self.on_mutate = Some(Rc::new(f));
        self
    }

    /// Runs after a success.
    pub fn on_success(mut self, f: impl Fn(&T, &V, &Context) + 'static) -> Self {
        self.on_success = Some(Rc::new(f));
        self
    }

    /// Runs after a failure (roll back what `on_mutate` did).
    pub fn on_error(mut self, f: impl Fn(&QueryError, &V, &Context) + 'static) -> Self {
        self.on_error = Some(Rc::new(f));
        self
    }

    /// Runs after either.
    pub fn on_settled(
        mut self,
        f: impl Fn(Result<&T, &QueryError>, &V, &Context) + 'static,
    ) -> Self {
        self.on_settled = Some(Rc::new(f));
        self
    }

    /// Invalidates the entries under `prefix` once the mutation settled (success or not).
    pub fn invalidates(mut self, prefix: QueryKey) -> Self {
        self.invalidates.push(prefix);
        self
    }

    /// Runs the mutation with `vars`, its callbacks in order, then `invalidate` for each key.
    pub async fn run(&self, vars: V, invalidate: impl Fn(&QueryKey)) -> Result<Rc<T>, QueryError>
    where
        V: Clone,
    {
        let context = self.on_mutate.as_ref().and_then(|f| f(&vars));
        let result = (self.mutation_fn)(vars.clone()).await.map(Rc::new);
        match &result {
            Ok(value) => {
                if let Some(f) = &self.on_success {
                    f(value, &vars, &context);
                }
            }
            Err(error) => {
                if let Some(f) = &self.on_error {
                    f(error, &vars, &context);
                }
            }
        }
        if let Some(f) = &self.on_settled {
            f(result.as_deref(), &vars, &context);
        }
        for key in &self.invalidates {
            invalidate(key);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{
        cell::RefCell,
        task::{Context as TaskContext, Poll, Waker},
    };

    /// Polls a future that needs no waking to completion.
    fn block_on<F: Future>(f: F) -> F::Output {
        let mut f = Box::pin(f);
        let mut cx = TaskContext::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    #[test]
    fn callbacks_run_in_order_with_the_context_and_invalidation_follows() {
        let log = Rc::new(RefCell::new(Vec::<String>::new()));
        let l = |log: &Rc<RefCell<Vec<String>>>| log.clone();
        let (a, b, c, d) = (l(&log), l(&log), l(&log), l(&log));
        let key = QueryKey::from_serialize(&["todos"]).unwrap();
        let m = Mutation::new(|n: i32| async move {
            if n < 0 {
                Err(QueryError::msg("negative"))
            } else {
                Ok(n * 2)
            }
        })
        .on_mutate(move |n| {
            a.borrow_mut().push(format!("mutate {n}"));
            Some(Rc::new(format!("snapshot before {n}")) as Rc<dyn Any>)
        })
        .on_success(move |v, n, ctx| {
            let ctx = ctx.as_ref().and_then(|c| c.downcast_ref::<String>()).cloned();
            b.borrow_mut().push(format!("success {n} -> {v} ({ctx:?})"))
        })
        .on_error(move |e, n, ctx| {
            let ctx = ctx.as_ref().and_then(|c| c.downcast_ref::<String>()).cloned();
            c.borrow_mut().push(format!("error {n}: {e} (roll back {ctx:?})"))
        })
        .on_settled(move |r, n, _| d.borrow_mut().push(format!("settled {n} ok={}", r.is_ok())))
        .invalidates(key.clone());
        let invalidated = Rc::new(RefCell::new(Vec::new()));
        let inv = invalidated.clone();
        assert_eq!(block_on(m.run(21, |k| inv.borrow_mut().push(k.clone()))).map(|v| *v), Ok(42));
        let inv = invalidated.clone();
        assert!(block_on(m.run(-1, |k| inv.borrow_mut().push(k.clone()))).is_err());
        assert_eq!(
            *log.borrow(),
            vec![
                "mutate 21",
                "success 21 -> 42 (Some(\"snapshot before 21\"))",
                "settled 21 ok=true",
                "mutate -1",
                "error -1: negative (roll back Some(\"snapshot before -1\"))",
                "settled -1 ok=false",
            ]
        );
        assert_eq!(*invalidated.borrow(), vec![key.clone(), key]);
    }
}
