//! `Link`: a link to a route that preloads it on intent (hover, focus, touch) and knows
//! whether it is active.

use yew::prelude::*;
use yew_router::prelude::*;

use super::{
    active::is_active,
    dom,
    route::RouteDef,
    runtime::{use_router, PRELOAD_DELAY},
};

/// Props of [`Link`].
#[derive(Properties, PartialEq)]
pub struct LinkProps<R: RouteDef> {
    /// Where it goes.
    pub to: R,
    /// Preload the route (its `before_load` and loader) when the pointer rests on the link,
    /// it gets focus or it is touched (`defaultPreload: 'intent'`). Default: `true`.
    #[prop_or(true)]
    pub preload: bool,
    /// Classes always set.
    #[prop_or_default]
    pub classes: Classes,
    /// Classes when the link is active. Default: `active`.
    #[prop_or_else(|| classes!("active"))]
    pub active_class: Classes,
    /// Classes when it is not.
    #[prop_or_default]
    pub inactive_class: Classes,
    /// Active only on exactly its path (otherwise also on paths below it). Default: `false`.
    #[prop_or_default]
    pub exact: bool,
    /// The content.
    #[prop_or_default]
    pub children: Html,
}

/// A link to a route of a [`super::RouterProvider`]: a real `<a href>` (opening in a new tab
/// works), navigating in the app on a plain click, preloading the route on intent so the click
/// shows it at once, with `aria-current="page"` and the active classes when it is active.
///
/// # Example
/// ```no_run
/// use yew::prelude::*;
/// use yew_router::Routable;
/// use yew_convex::router::{Link, RouteDef};
///
/// #[derive(Clone, PartialEq, Routable)]
/// enum Route { #[at("/")] Home, #[at("/posts")] Posts }
/// impl RouteDef for Route { fn render(&self) -> Html { html! {} } }
///
/// #[function_component]
/// fn Nav() -> Html {
///     html! { <nav>
///         <Link<Route> to={Route::Home} exact=true>{"Home"}</Link<Route>>
///         <Link<Route> to={Route::Posts}>{"Posts"}</Link<Route>>
///     </nav> }
/// }
/// ```
#[function_component]
pub fn Link<R: RouteDef>(props: &LinkProps<R>) -> Html {
    let router = use_router::<R>();
    let navigator = use_navigator();
    let location = use_location();
    let timer = use_mut_ref(|| None::<i32>);
    let href = props.to.to_path();
    let active = location.as_ref().is_some_and(|l| is_active(l.path(), &href, props.exact));

    let onclick = {
        let to = props.to.clone();
        Callback::from(move |e: MouseEvent| {
            // Let the browser handle new tabs and windows.
            if e.ctrl_key() || e.meta_key() || e.shift_key() || e.alt_key() || e.button() != 0 {
                return;
            }
            e.prevent_default();
            if let Some(navigator) = &navigator {
                navigator.push(&to);
            }
        })
    };
    let intent = {
        let (router, to, timer, enabled) =
            (router.clone(), props.to.clone(), timer.clone(), props.preload);
        Callback::from(move |_: ()| {
            if !enabled || timer.borrow().is_some() {
                return;
            }
            let (router, to, t) = (router.clone(), to.clone(), timer.clone());
            *timer.borrow_mut() = dom::set_timeout(PRELOAD_DELAY, move || {
                t.borrow_mut().take();
                router.preload(&to);
            });
        })
    };
    let leave = {
        let timer = timer.clone();
        Callback::from(move |_: MouseEvent| {
            if let Some(handle) = timer.borrow_mut().take() {
                dom::clear_timeout(handle);
            }
        })
    };
    let (hover, focus) = (intent.reform(|_: MouseEvent| ()), intent.reform(|_: FocusEvent| ()));
    let touch = intent.reform(|_: TouchEvent| ());
    let class = if active {
        classes!(props.classes.clone(), props.active_class.clone())
    } else {
        classes!(props.classes.clone(), props.inactive_class.clone())
    };
    html! {
        <a {href} {class} {onclick} onmouseenter={hover} onmouseleave={leave} onfocus={focus}
           ontouchstart={touch} aria-current={active.then_some("page")}>
            { props.children.clone() }
        </a>
    }
}
