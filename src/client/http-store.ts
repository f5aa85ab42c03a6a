import { ConfigError } from "../model/errors.js";
import { HTTP_STORE_METHODS, type Store } from "../store/store.js";

/** A store with every method the HTTP API needs (users, tokens, task event log, queries, stats). */
export type HttpStore = Store & Required<Pick<Store, (typeof HTTP_STORE_METHODS)[number]>>;

/** The store, checked to implement the HTTP API's methods; a clear error on a backend that lacks them. */
export function httpStore(store: Store): HttpStore {
  for (const method of HTTP_STORE_METHODS) {
    if (typeof store[method] !== "function") {
      throw new ConfigError(`the ${store.dialect} store does not support users, task events and stats yet (missing ${method})`);
    }
  }
  return store as HttpStore;
}
