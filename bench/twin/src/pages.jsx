// The pages: Home, Posts (paginated, live), New post (optimistic), post detail (summarize,
// delete) and Sign in, with the Rust demo's markup (demo/src/app.rs).
import { Component, useState } from 'react';
import { Link, useNavigate, useParams, useSearch } from '@tanstack/react-router';
import { useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import { convexQuery } from '@convex-dev/react-query';
import { useAction, useMutation, usePaginatedQuery, useQuery } from 'convex/react';
import { ConvexError } from 'convex/values';
import { Show, useAuth } from '@clerk/react';
import { useSignIn } from '@clerk/react/legacy';
import { APP, PAGE_SIZE, api } from './config.js';
import { NO_ACTIVE, NotFound, PendingSkeleton } from './layout.jsx';

/** The list's first page as the route's loader warms it in the query cache. */
export const firstPageQuery = () =>
  convexQuery(api.posts.listPaginated, { paginationOpts: { numItems: PAGE_SIZE, cursor: null } });
export const postQuery = (id) => convexQuery(api.posts.get, { id });

const when = (ms) => new Date(ms).toLocaleDateString('en-US');

/** The signed-in user (`users:me`), skipped while signed out. */
function useMe() {
  const { isSignedIn } = useAuth();
  return useQuery(api.users.me, isSignedIn ? {} : 'skip');
}

const displayName = (me) => me.name ?? me.email ?? me.tokenIdentifier;

/** A ConvexError's `data.message` (what the functions throw for the user), else the message. */
function errorText(e) {
  if (e instanceof ConvexError && typeof e.data?.message === 'string') return e.data.message;
  return e?.message ?? String(e);
}

export function Home() {
  const me = useMe();
  const greeting = me ? `Welcome back, ${displayName(me)}` : 'A reactive app, in Rust';
  return (
    <section className="hero">
      <h1>{greeting}</h1>
      <p className="lead">
        Posts update live for everyone, pages load before you click, and sign-in is Clerk's — all
        in a Yew app compiled to WebAssembly.
      </p>
      <div className="hero-actions">
        <Link to="/posts" className="button primary" activeProps={NO_ACTIVE}>Read the posts</Link>
        <Link to="/posts/new" className="button" activeProps={NO_ACTIVE}>Write a post</Link>
      </div>
    </section>
  );
}

export function Posts() {
  return (
    <section className="posts">
      <div className="page-header">
        <h1>Posts</h1>
        <Link to="/posts/new" className="button primary" activeProps={NO_ACTIVE}>New post</Link>
      </div>
      <ListError>
        <PostList />
      </ListError>
    </section>
  );
}

function PostList() {
  // Page by page, each loaded page live.
  const posts = usePaginatedQuery(api.posts.listPaginated, {}, { initialNumItems: PAGE_SIZE });
  let { results, status } = posts;
  // The hook's first page is a subscription of its own (its args carry a per-hook id), so
  // until it arrives, show the page the route's loader put in the cache: the list is there in
  // the first frame, as in the Rust demo.
  const warm = useQueryClient().getQueryData(firstPageQuery().queryKey);
  if (status === 'LoadingFirstPage' && warm) {
    results = warm.page;
    status = warm.isDone ? 'Exhausted' : 'CanLoadMore';
  }
  if (status === 'LoadingFirstPage') return <PendingSkeleton />;
  if (results.length === 0) {
    return (
      <div className="empty">
        <p className="empty-title">No posts yet</p>
        <p className="muted">Be the first to write one.</p>
        <Link to="/posts/new" className="button primary" activeProps={NO_ACTIVE}>Write a post</Link>
      </div>
    );
  }
  return (
    <>
      <ul className="post-list">
        {results.map((p) => (
          <li key={p._id} className="post-card">
            <Link to="/posts/$id" params={{ id: p._id }} className="post-link" activeProps={NO_ACTIVE}>
              <span className="post-title">{p.title}</span>
              <span className="post-meta">{`${p.authorName} · ${when(p._creationTime)}`}</span>
            </Link>
          </li>
        ))}
      </ul>
      <div className="list-footer">
        {status === 'CanLoadMore' ? (
          <button className="button load-more" onClick={() => posts.loadMore(PAGE_SIZE)}>Load more</button>
        ) : status === 'LoadingMore' ? (
          <button className="button load-more" disabled>Loading…</button>
        ) : (
          <p className="muted">{`All ${results.length} posts`}</p>
        )}
      </div>
    </>
  );
}

/** usePaginatedQuery throws a failed page: the list shows the error in its place. */
class ListError extends Component {
  state = { error: null };
  static getDerivedStateFromError(error) {
    return { error };
  }
  render() {
    const { error } = this.state;
    if (!error) return this.props.children;
    return <p className="error" role="alert">{error.message}</p>;
  }
}

export function NewPost() {
  const [title, setTitle] = useState('');
  const [body, setBody] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const navigate = useNavigate();
  // The new post shows at once at the top of the list's first page (whatever its size: it may
  // have been split), and is replaced by the server's.
  const create = useMutation(api.posts.create).withOptimisticUpdate((store, args) => {
    for (const { args: pageArgs, value } of store.getAllQueries(api.posts.listPaginated)) {
      if (!value || (pageArgs.paginationOpts.cursor ?? null) !== null) continue;
      const post = {
        _id: 'optimistic',
        _creationTime: Date.now(),
        title: args.title,
        body: args.body,
        authorId: '',
        authorName: 'you',
      };
      store.setQuery(api.posts.listPaginated, pageArgs, { ...value, page: [post, ...value.page] });
    }
  });
  const onSubmit = async (e) => {
    e.preventDefault();
    setBusy(true);
    try {
      const id = await create({ title, body });
      navigate({ to: '/posts/$id', params: { id } });
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return (
    <section className="card narrow">
      <h1>New post</h1>
      <form className="form" onSubmit={onSubmit}>
        <label>
          Title
          <input name="title" required maxLength={200} placeholder="What is it about?" value={title}
            onChange={(e) => setTitle(e.target.value)} />
        </label>
        <label>
          Body
          <textarea name="body" rows={6} placeholder="Write something…" value={body}
            onChange={(e) => setBody(e.target.value)} />
        </label>
        {error && <p className="error" role="alert">{errorText(error)}</p>}
        <div className="form-actions">
          <Link to="/posts" className="button" activeProps={NO_ACTIVE}>Cancel</Link>
          <button className="button primary" type="submit" disabled={busy}>
            {busy ? 'Publishing…' : 'Publish'}
          </button>
        </div>
      </form>
    </section>
  );
}

/** Rust's `str::lines`: no trailing empty line, `\r\n` too. */
const lines = (text) => {
  const all = text.split(/\r?\n/);
  if (all[all.length - 1] === '') all.pop();
  return all;
};

export function PostDetail() {
  const { id } = useParams({ from: '/posts/$id' });
  // The loader put it in the cache: no suspense here, and it stays live.
  const { data: post } = useSuspenseQuery(postQuery(id));
  const me = useMe();
  const summarize = useAction(api.posts.summarize);
  const remove = useMutation(api.posts.remove);
  const [summary, setSummary] = useState(null);
  const navigate = useNavigate();
  const onSummarize = () =>
    summarize({ id }).then((text) => setSummary({ text }), (error) => setSummary({ error }));
  const onDelete = () =>
    remove({ id }).then(() => navigate({ to: '/posts' }), (error) => setSummary({ error }));
  if (!post) {
    // Deleted while open (the loader saw it).
    return <NotFound>This post no longer exists.</NotFound>;
  }
  const mine = me != null && me.tokenIdentifier === post.authorId;
  return (
    <article className="card post">
      <Link to="/posts" className="back" activeProps={NO_ACTIVE}>← All posts</Link>
      <h1>{post.title}</h1>
      <p className="post-meta">{`${post.authorName} · ${when(post._creationTime)}`}</p>
      <div className="post-body">
        {lines(post.body).map((line, i) => <p key={i}>{line}</p>)}
      </div>
      <div className="post-actions">
        <button className="button" onClick={onSummarize}>Summarize</button>
        {mine && <button className="button danger" onClick={onDelete}>Delete</button>}
      </div>
      {summary?.error && <p className="error" role="alert">{errorText(summary.error)}</p>}
      {summary && !summary.error && <p className="summary">{summary.text}</p>}
    </article>
  );
}

/** Where to go after signing in: a path on this site (else the posts). */
function redirectTarget(redirect) {
  if (typeof redirect !== 'string' || !redirect.startsWith('/') || redirect.startsWith('//')) {
    return '/posts';
  }
  return new URL(redirect, location.origin).pathname;
}

export function SignInPage() {
  const { redirect } = useSearch({ from: '/sign-in' });
  const target = redirectTarget(redirect);
  const navigate = useNavigate();
  return (
    <section className="card narrow">
      <h1>Sign in</h1>
      <Show when="signed-out">
        <p className="muted">Use alice / alice-password or bob / bob-password.</p>
        <SignInForm onSignedIn={() => navigate({ to: target, replace: true })} />
      </Show>
      <Show when="signed-in">
        <p>You are signed in.</p>
        <Link to={target} className="button primary" activeProps={NO_ACTIVE}>Continue</Link>
      </Show>
    </section>
  );
}

/** Identifier + password on Clerk's headless sign-in (the Rust `SignInForm`). */
function SignInForm({ onSignedIn }) {
  const { signIn, setActive } = useSignIn();
  const [identifier, setIdentifier] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const onSubmit = async (e) => {
    e.preventDefault();
    setBusy(true);
    try {
      let attempt = await signIn.create({ identifier, password });
      if (attempt.status === 'needs_first_factor') {
        attempt = await attempt.attemptFirstFactor({ strategy: 'password', password });
      }
      if (attempt.status !== 'complete') {
        throw new Error(`sign-in not complete (status ${attempt.status})`);
      }
      await setActive({ session: attempt.createdSessionId });
      setError(null);
      onSignedIn();
    } catch (e) {
      setError(e.errors?.[0]?.longMessage ?? e.errors?.[0]?.message ?? e.message);
    }
    setBusy(false);
  };
  return (
    <form className="yc-sign-in-form" onSubmit={onSubmit}>
      <label>
        Email or username
        <input name="identifier" autoComplete="username" value={identifier}
          onChange={(e) => setIdentifier(e.target.value)} />
      </label>
      <label>
        Password
        <input name="password" type="password" autoComplete="current-password" value={password}
          onChange={(e) => setPassword(e.target.value)} />
      </label>
      <button type="submit" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
      {error && <p className="yc-error" role="alert">{error}</p>}
    </form>
  );
}

export const titles = {
  home: APP,
  posts: `Posts | ${APP}`,
  newPost: `New post | ${APP}`,
  post: (post) => (post ? `${post.title} | ${APP}` : `Post | ${APP}`),
  signIn: `Sign in | ${APP}`,
  notFound: `Not found | ${APP}`,
};
