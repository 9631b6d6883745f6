// The routes (code-based), their loaders over the query cache, before-load redirects, titles,
// and the router: preload on intent, pending / error / not-found components.
import {
  createRootRouteWithContext,
  createRoute,
  createRouter,
  notFound,
  redirect,
} from '@tanstack/react-router';
import { Layout, NotFound, PendingSkeleton, RouteError } from './layout.jsx';
import {
  Home,
  NewPost,
  PostDetail,
  Posts,
  SignInPage,
  firstPageQuery,
  postQuery,
  titles,
} from './pages.jsx';

const title = (text) => ({ meta: [{ title: text }] });

const rootRoute = createRootRouteWithContext()({
  component: Layout,
  // The root alone matches a path no route has.
  head: ({ matches }) => title(matches.length === 1 ? titles.notFound : titles.home),
  notFoundComponent: () => <NotFound />,
});

const homeRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/',
  component: Home,
  head: () => title(titles.home),
});

const postsRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/posts',
  // The list's first page before the page shows.
  loader: ({ context }) => context.queryClient.ensureQueryData(firstPageQuery()),
  component: Posts,
  head: () => title(titles.posts),
});

const newPostRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/posts/new',
  // Signed out: to the sign-in page, and back here after it (decided once Clerk has loaded).
  beforeLoad: async ({ context, location }) => {
    const { userId } = await context.auth.loaded();
    if (!userId) {
      throw redirect({ to: '/sign-in', search: { redirect: location.pathname }, replace: true });
    }
  },
  component: NewPost,
  head: () => title(titles.newPost),
});

/** Convex's id alphabet and lengths: anything else names no post (not found, never a
 *  server error); an id of the right shape that fails the server's check is not found too. */
const ID_SHAPE = /^[0-9a-hjkmnp-tv-z]{31,37}$/;

const postRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/posts/$id',
  loader: async ({ context, params }) => {
    if (!ID_SHAPE.test(params.id)) throw notFound();
    let post;
    try {
      post = await context.queryClient.ensureQueryData(postQuery(params.id));
    } catch (e) {
      if (/ArgumentValidationError/.test(e?.message)) throw notFound();
      throw e;
    }
    if (post === null) throw notFound();
    return post;
  },
  component: PostDetail,
  // Its own boundary, so that its head (below) still names the tab.
  notFoundComponent: () => <NotFound />,
  // The loader put the post in the cache: the tab shows its title.
  head: ({ loaderData }) => title(titles.post(loaderData)),
});

const signInRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/sign-in',
  validateSearch: (search) => ({
    redirect: typeof search.redirect === 'string' ? search.redirect : undefined,
  }),
  component: SignInPage,
  head: () => title(titles.signIn),
});

const routeTree = rootRoute.addChildren([
  homeRoute,
  postsRoute,
  newPostRoute,
  postRoute,
  signInRoute,
]);

/** `context`: `{ queryClient, auth }` (auth: ./auth.js). */
export function createAppRouter(context) {
  return createRouter({
    routeTree,
    context,
    // Hovering or focusing a link runs its route's loaders (after 50 ms; fresh for 30 s).
    defaultPreload: 'intent',
    defaultPreloadDelay: 50,
    defaultPreloadStaleTime: 30_000,
    // A slow load shows the skeleton after 1 s, for at least 0.5 s.
    defaultPendingComponent: PendingSkeleton,
    defaultPendingMs: 1000,
    defaultPendingMinMs: 500,
    defaultErrorComponent: RouteError,
    defaultNotFoundComponent: () => <NotFound />,
    scrollRestoration: true,
  });
}
