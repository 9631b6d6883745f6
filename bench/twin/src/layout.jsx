// The shell every page shares (header with the connection indicator and Clerk's buttons,
// footer) and the router's boundaries: pending skeleton, error, not found. Markup and class
// names are the Rust demo's (demo/src/app.rs, src/router/boundary.rs), styled by static/app.css.
import { HeadContent, Link, Outlet, useRouter } from '@tanstack/react-router';
import { useQueryClient } from '@tanstack/react-query';
import { useConvexConnectionState } from 'convex/react';
import { Show, SignInButton, UserButton } from '@clerk/react';
import { APP } from './config.js';

/** For links that never take the `active` class (the Rust demo's `active_class={classes!()}`). */
export const NO_ACTIVE = {};

export function Layout() {
  return (
    <div className="app">
      <HeadContent />
      <Header />
      <main className="main">
        <Outlet />
      </main>
      <footer className="footer">
        <span>Built with Yew, Convex and Clerk — in Rust and WebAssembly.</span>
      </footer>
    </div>
  );
}

function Header() {
  const connection = useConvexConnectionState();
  const [status, label] = connection.isWebSocketConnected
    ? ['online', 'Live']
    : connection.hasEverConnected
      ? ['offline', 'Reconnecting…']
      : ['connecting', 'Connecting…'];
  return (
    <header className="header">
      <div className="header-inner">
        <Link to="/" className="brand" activeProps={NO_ACTIVE}>
          <span className="logo" aria-hidden="true">◆</span>
          <span className="brand-name">{APP}</span>
        </Link>
        <nav className="nav">
          <Link to="/" className="nav-link" activeOptions={{ exact: true }}>Home</Link>
          <Link to="/posts" className="nav-link">Posts</Link>
        </nav>
        <span className="spacer" />
        <span className={`connection ${status}`} role="status" title={label}>
          <span className="dot" />
          <span className="connection-label">{label}</span>
        </span>
        <span className="auth-slot">
          <Show when="signed-in">
            <UserButton />
          </Show>
          <Show when="signed-out">
            <SignInButton mode="modal"><button type="button">Sign in</button></SignInButton>
          </Show>
        </span>
      </div>
    </header>
  );
}

export function PendingSkeleton() {
  return (
    <section className="skeleton" aria-busy="true" aria-label="Loading">
      <div className="skeleton-line wide" />
      <div className="skeleton-line" />
      <div className="skeleton-line" />
    </section>
  );
}

export function NotFound({ children }) {
  return (
    <section className="boundary not-found">
      <h2>Not found</h2>
      {children ?? <p>The page you are looking for does not exist.</p>}
      <div className="boundary-actions">
        <button className="button" onClick={() => history.back()}>Go back</button>
        <a className="button primary" href="/">Start over</a>
      </div>
    </section>
  );
}

/** A loader (or a page) failed: its message, "Try again" and "Go back". */
export function RouteError({ error }) {
  const router = useRouter();
  const queryClient = useQueryClient();
  const retry = () => {
    // Failed queries start afresh: a Convex query's error stays while its subscription lives,
    // so drop them (a new subscription runs them again), then run the loaders again. (Right
    // after the drop, convex-js may still answer from the old result: then a second try works.)
    queryClient.removeQueries({ predicate: (query) => query.state.status === 'error' });
    router.invalidate();
  };
  return (
    <section className="boundary error-boundary" role="alert">
      <h2>Something went wrong</h2>
      <p className="boundary-message">{error?.message ?? String(error)}</p>
      <div className="boundary-actions">
        <button className="button primary" onClick={retry}>Try again</button>
        <button className="button" onClick={() => history.back()}>Go back</button>
      </div>
    </section>
  );
}
