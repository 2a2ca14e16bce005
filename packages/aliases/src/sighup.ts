import type { AliasStore, ReloadOutcome } from './store.js';

/**
 * Reloads the aliases on every SIGHUP. A bad file is logged by the store and
 * leaves the old aliases in force, so a typo never takes the process down.
 * Returns a function that removes the handler.
 */
export function reloadOnSighup(store: AliasStore, onReload: (outcome: ReloadOutcome) => void = () => {}): () => void {
  const handler = () => {
    void store.reload().then(onReload);
  };
  process.on('SIGHUP', handler);
  return () => process.off('SIGHUP', handler);
}
