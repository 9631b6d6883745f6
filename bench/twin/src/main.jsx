// The app: Clerk, Convex authenticated by Clerk, the query cache over Convex, then the router.
import { StrictMode, useEffect, useRef } from 'react';
import { createRoot } from 'react-dom/client';
import { ClerkProvider, useAuth } from '@clerk/react';
import { ConvexReactClient } from 'convex/react';
import { ConvexProviderWithClerk } from 'convex/react-clerk';
import { ConvexQueryClient } from '@convex-dev/react-query';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { RouterProvider } from '@tanstack/react-router';
import '../../../static/app.css';
import {
  CLERK_JS_VERSION,
  CLERK_PROXY_URL,
  CLERK_PUBLISHABLE_KEY,
  CLERK_UI_VERSION,
  CONVEX_URL,
} from './config.js';
import { createAuthState } from './auth.js';
import { createAppRouter } from './router.jsx';

const convex = new ConvexReactClient(CONVEX_URL);
// Convex queries in TanStack Query's cache, kept live by Convex subscriptions.
const convexQueryClient = new ConvexQueryClient(convex);
const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      queryKeyHashFn: convexQueryClient.hashFn(),
      queryFn: convexQueryClient.queryFn(),
    },
  },
});
convexQueryClient.connect(queryClient);

const auth = createAuthState();
const router = createAppRouter({ queryClient, auth });

/** Clerk navigates after sign-in/out and in its UI: kept inside the single-page app. */
function clerkNavigate(to, replace) {
  const url = new URL(to, location.href);
  if (url.origin !== location.origin) return location.assign(url.href);
  return router.navigate({ href: url.pathname + url.search + url.hash, replace });
}

/** The router, told about the signed-in user: a change of user runs the routes' `beforeLoad`
 *  and loaders again (e.g. signing out on "New post" goes to sign-in). */
function Shell() {
  const { isLoaded, userId } = useAuth();
  const first = useRef(true);
  useEffect(() => {
    auth.set({ isLoaded, userId: userId ?? null });
    if (first.current) first.current = false;
    else router.invalidate();
  }, [isLoaded, userId]);
  return <RouterProvider router={router} />;
}

function App() {
  return (
    <ClerkProvider
      publishableKey={CLERK_PUBLISHABLE_KEY}
      proxyUrl={CLERK_PROXY_URL || undefined}
      __internal_clerkJSVersion={CLERK_JS_VERSION}
      __internal_clerkUIVersion={CLERK_UI_VERSION}
      signInUrl="/sign-in"
      telemetry={false}
      routerPush={(to) => clerkNavigate(to, false)}
      routerReplace={(to) => clerkNavigate(to, true)}
    >
      <ConvexProviderWithClerk client={convex} useAuth={useAuth}>
        <QueryClientProvider client={queryClient}>
          <Shell />
        </QueryClientProvider>
      </ConvexProviderWithClerk>
    </ClerkProvider>
  );
}

createRoot(document.getElementById('root')).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
