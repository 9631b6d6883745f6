// Benchmark page (the twin of bench/client/rust/page-mutation): 100 components, each subscribed
// with `useQuery(api.ledger.list)` and rendering `<li class="bench-item" data-last data-count>`.
// `window.__benchMutate(key)` adds a key (`ledger:add`) and returns its promise;
// `window.__benchReady` turns true once all 100 have data. The backend is `?convex=<url>`
// (default: the build's Convex URL). No Clerk here.
import { useEffect } from 'react';
import { createRoot } from 'react-dom/client';
import { ConvexProvider, ConvexReactClient, useQuery } from 'convex/react';
import { CONVEX_URL, api } from './config.js';

const COMPONENTS = 100;
const client = new ConvexReactClient(new URLSearchParams(location.search).get('convex') || CONVEX_URL);
window.__benchMutate = (key) => client.mutation(api.ledger.add, { key });

const ready = new Set();
function markReady(index) {
  ready.add(index);
  if (ready.size === COMPONENTS) window.__benchReady = true;
}

function Item({ index }) {
  const keys = useQuery(api.ledger.list, {});
  const loaded = keys !== undefined;
  useEffect(() => {
    if (loaded) markReady(index);
  }, [loaded, index]);
  if (!loaded) return <li className="bench-item loading" />;
  return <li className="bench-item" data-last={keys.at(-1) ?? ''} data-count={keys.length} />;
}

createRoot(document.getElementById('root')).render(
  <ConvexProvider client={client}>
    {Array.from({ length: COMPONENTS }, (_, i) => <Item key={i} index={i} />)}
  </ConvexProvider>,
);
