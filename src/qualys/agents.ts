/**
 * The HTTP agents of the Qualys client: keep-alive pools sized for the call budget, the proxy
 * (proxy_url, else HTTPS_PROXY / NO_PROXY of the environment) reached with a CONNECT tunnel, and
 * the certificate authorities to trust (ca_certificate besides the public ones), for the API
 * server and an https proxy alike.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';

import { AgentConnectOpts } from 'agent-base';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { getProxyForUrl } from 'proxy-from-env';

import { ConfigError, QualysConfig, userinfoOf } from '../config';
import { secrets } from '../redaction';

export interface HttpAgents {
  httpAgent: http.Agent;
  httpsAgent: https.Agent;
}

export function httpAgents(config: QualysConfig): HttpAgents {
  const pool = { keepAlive: true, maxSockets: config.max_concurrency * 3 };
  const trust = config.ca_certificate
    ? { ca: [...tls.rootCertificates, config.ca_certificate] }
    : {};
  const proxy = proxyFor(config);
  return {
    // http is only accepted for loopback hosts, which are never proxied.
    httpAgent: new http.Agent(pool),
    httpsAgent: proxy
      ? new TunnelAgent(proxy, { ...pool, ...trust }, trust)
      : new https.Agent({ ...pool, ...trust }),
  };
}

/**
 * https-proxy-agent applies its options to the proxy connection only; the TLS connection through
 * the tunnel gets the request's: the CAs are added there too.
 */
class TunnelAgent extends HttpsProxyAgent<string> {
  constructor(
    proxy: URL,
    options: http.AgentOptions & tls.ConnectionOptions,
    private readonly trust: tls.ConnectionOptions,
  ) {
    super(proxy, options);
  }

  override async connect(req: http.ClientRequest, options: AgentConnectOpts): Promise<net.Socket> {
    try {
      return await super.connect(req, { ...options, ...this.trust } as AgentConnectOpts);
    } catch (err) {
      // Said of the proxy, not of the API server (ECONNREFUSED would read "cannot reach Qualys").
      const { code, message } = err as NodeJS.ErrnoException;
      throw Object.assign(
        new Error(`cannot reach the proxy ${this.proxy.origin} (${code ?? message})`),
        { code: 'ERR_PROXY_CONNECT' },
      );
    }
  }
}

/** The proxy for base_url, credentials included; undefined for a direct connection. */
export function proxyFor(config: QualysConfig): URL | undefined {
  if (!config.base_url.startsWith('https:')) return undefined;
  if (config.proxy_url !== undefined) {
    const url = new URL(config.proxy_url);
    if (config.proxy_username !== undefined) url.username = config.proxy_username;
    if (config.proxy_password !== undefined) url.password = config.proxy_password;
    return url;
  }
  const fromEnv = getProxyForUrl(config.base_url);
  if (!fromEnv) return undefined;
  for (const credential of userinfoOf(fromEnv)) secrets.add(credential);
  let url: URL;
  try {
    url = new URL(fromEnv);
  } catch {
    throw new ConfigError('The proxy of the environment (HTTPS_PROXY) is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(
      `The proxy of the environment (HTTPS_PROXY) is a ${url.protocol}// proxy: only http:// and https:// proxies are supported`,
    );
  }
  return url;
}
