/** proxy-from-env 2 ships no types. */
declare module 'proxy-from-env' {
  /** The proxy for `url` from *_PROXY and NO_PROXY of the environment; '' for none. */
  export function getProxyForUrl(url: string | URL): string;
}
