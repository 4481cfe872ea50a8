import fs from 'node:fs';
import path from 'node:path';

import { ConfigError, credentialsOf, tagNames, userinfoOf, validateConfig } from '../../src/config';
import { detectionParams, hostListParams } from '../../src/qualys/params';

const CA = fs.readFileSync(path.join(__dirname, '../../test_files/tls/ca.pem'), 'utf8');

const minimal = {
  base_url: 'https://qualysapi.qg2.apps.qualys.com',
  username: 'jdoe',
  password: 's3cr3t-pa55',
};

function errorOf(config: unknown): string {
  try {
    validateConfig(config);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).not.toContain('s3cr3t-pa55');
    return (err as Error).message;
  }
  throw new Error('expected the configuration to be refused');
}

describe('validateConfig', () => {
  it('applies every spec default and derives the subscription label', () => {
    expect(validateConfig(minimal)).toEqual({
      ...minimal,
      subscription: 'jdoe@qualysapi.qg2.apps.qualys.com',
      finding_types: ['Confirmed', 'Potential'],
      include_information_gathered: false,
      severities: [1, 2, 3, 4, 5],
      statuses: ['New', 'Active', 'Re-Opened', 'Fixed'],
      include_ignored: true,
      include_disabled: false,
      include_results: false,
      results_max_length: 4096,
      hosts_page_size: 200,
      detections_page_size: 500,
      kb_batch_size: 500,
      max_concurrency: 8,
      timeout: 600,
      max_retries: 8,
    });
  });

  it('does not modify the object it is given', () => {
    const raw = { ...minimal };
    validateConfig(raw);
    expect(raw).toEqual(minimal);
  });

  it('derives the same subscription label whatever port base_url names', () => {
    for (const base_url of [
      'https://qualysapi.qg2.apps.qualys.com',
      'https://qualysapi.qg2.apps.qualys.com:8443',
      'https://qualysapi.qg2.apps.qualys.com:443/',
    ]) {
      expect(validateConfig({ ...minimal, base_url }).subscription).toBe(
        'jdoe@qualysapi.qg2.apps.qualys.com',
      );
    }
  });

  it('keeps a given subscription label and normalises base_url and start_date', () => {
    const config = validateConfig({
      ...minimal,
      base_url: 'https://qualysapi.qg2.apps.qualys.com/',
      subscription: 'EU business unit',
      start_date: '2025-01-31',
    });
    expect(config.base_url).toBe('https://qualysapi.qg2.apps.qualys.com');
    expect(config.subscription).toBe('EU business unit');
    expect(config.start_date).toBe('2025-01-31T00:00:00Z');
    expect(
      validateConfig({ ...minimal, start_date: '2025-01-31T10:11:12.345+02:00' }).start_date,
    ).toBe('2025-01-31T08:11:12Z');
  });

  it('accepts http only for loopback hosts', () => {
    for (const url of [
      'http://127.0.0.1:8080',
      'http://localhost:1',
      'http://[::1]:9',
      'http://127.4.5.6',
    ]) {
      expect(validateConfig({ ...minimal, base_url: url }).base_url).toBe(url.replace(/\/$/, ''));
    }
    expect(errorOf({ ...minimal, base_url: 'http://qualysapi.qualys.com' })).toBe(
      'base_url must use https (http is only accepted for loopback hosts): http://qualysapi.qualys.com',
    );
  });

  it.each([
    [
      'an empty password',
      { ...minimal, password: '' },
      'Invalid configuration: password must not be empty',
    ],
    [
      'a missing password',
      { base_url: minimal.base_url, username: 'u' },
      'Invalid configuration: password is required',
    ],
    [
      'a severity out of range',
      { ...minimal, severities: [0, 3] },
      'Invalid configuration: severities[0] must be >= 1',
    ],
    [
      'severities not a list',
      { ...minimal, severities: '4' },
      'Invalid configuration: severities must be array',
    ],
    [
      'an unknown status',
      { ...minimal, statuses: ['Active', 'Closed'] },
      'Invalid configuration: statuses[1] must be one of New, Active, Re-Opened, Fixed',
    ],
    [
      'an unknown finding type',
      { ...minimal, finding_types: ['Info'] },
      'Invalid configuration: finding_types[0] must be one of Confirmed, Potential',
    ],
    [
      'a boolean given as text',
      { ...minimal, include_ignored: 'yes' },
      'Invalid configuration: include_ignored must be boolean',
    ],
    ['a zero timeout', { ...minimal, timeout: 0 }, 'Invalid configuration: timeout must be >= 1'],
    [
      'a fractional page size',
      { ...minimal, hosts_page_size: 2.5 },
      'Invalid configuration: hosts_page_size must be integer',
    ],
    [
      'a base_url without scheme',
      { ...minimal, base_url: 'qualysapi.qualys.com' },
      'Invalid configuration: base_url has no scheme: write https://qualysapi.qualys.com',
    ],
    [
      'a base_url without scheme and with a path',
      { ...minimal, base_url: 'qualysapi.qualys.com/api/2.0' },
      'Invalid configuration: base_url has no scheme: write https://qualysapi.qg2.apps.qualys.com',
    ],
    [
      'a base_url with another scheme',
      { ...minimal, base_url: 'ftp://qualysapi.qualys.com' },
      'Invalid configuration: base_url must start with https://, not ftp://',
    ],
    [
      'a base_url with a path',
      { ...minimal, base_url: 'https://qualysapi.qualys.com/api/2.0/fo/' },
      'base_url must be the API server root, e.g. https://qualysapi.qg2.apps.qualys.com, not https://qualysapi.qualys.com/api/2.0/fo/',
    ],
    [
      'a base_url with credentials',
      { ...minimal, base_url: 'https://jdoe:s3cr3t-pa55@qualysapi.qualys.com' },
      'base_url must not contain credentials; use username and password',
    ],
    [
      'an empty tag in tag_filter',
      { ...minimal, tag_filter: 'eval-214027-test,, exec-220563' },
      'tag_filter is malformed: tag 2 of "eval-214027-test,, exec-220563" is empty (use "tag-a, tag-b")',
    ],
    ['a duplicate tag', { ...minimal, tag_filter: 'a, b, a' }, 'tag_filter names tag "a" twice'],
    [
      'an unparseable start_date',
      { ...minimal, start_date: 'last tuesday' },
      'start_date must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC), not "last tuesday"',
    ],
    [
      'a config that is not an object',
      'not an object',
      'Invalid configuration: expected a JSON object, not a string',
    ],
    ['null', null, 'Invalid configuration: expected a JSON object, not null'],
    ['an array', [minimal], 'Invalid configuration: expected a JSON object, not an array'],
    [
      'a start_date in the future',
      { ...minimal, start_date: '2999-01-01' },
      'start_date 2999-01-01T00:00:00Z is in the future: nothing would be read',
    ],
    [
      'a timeout beyond a day (a timer holds 24.8 days)',
      { ...minimal, timeout: 3_000_000 },
      'Invalid configuration: timeout must be <= 86400',
    ],
    [
      'results_max_length beyond 1 MiB',
      { ...minimal, results_max_length: 2 ** 40 },
      'Invalid configuration: results_max_length must be <= 1048576',
    ],
    [
      'a page size beyond what Qualys serves',
      { ...minimal, detections_page_size: 1e12 },
      'Invalid configuration: detections_page_size must be <= 1000000',
    ],
    [
      'a subscription label of 10,000 characters',
      { ...minimal, subscription: 'x'.repeat(10_000) },
      'Invalid configuration: subscription must be at most 256 characters',
    ],
    [
      'a config nested too deep',
      { ...minimal, severities: [[[[[[[[[[5]]]]]]]]]] },
      'Invalid configuration: nested deeper than 8 levels',
    ],
    [
      'a misspelled key',
      { ...minimal, severites: [5] },
      'Invalid configuration: unknown key "severites" (did you mean severities?)',
    ],
    [
      'a key sharing a word with a known one',
      { ...minimal, tags: 'PCI' },
      'Invalid configuration: unknown key "tags" (did you mean tag_filter?)',
    ],
    [
      'keys differing in case or separators',
      { ...minimal, Password: 'x', 'start-date': '2025-01-01', page_size: 10 },
      'Invalid configuration: unknown keys "Password" (did you mean password?), "start-date" (did you mean start_date?), "page_size" (did you mean hosts_page_size or detections_page_size?)',
    ],
    [
      'a proxy_url without scheme',
      { ...minimal, proxy_url: 'proxy.corp:3128' },
      'Invalid configuration: proxy_url has no scheme: write http://proxy.corp:3128',
    ],
    [
      'a proxy_url with credentials',
      { ...minimal, proxy_url: 'http://me:s3cr3t-pa55@proxy.corp:3128' },
      'proxy_url must not contain credentials; use proxy_username and proxy_password',
    ],
    [
      'a proxy_url with a path',
      { ...minimal, proxy_url: 'http://proxy.corp:3128/pac' },
      "proxy_url must be the proxy's address, e.g. http://proxy.example.com:3128, not http://proxy.corp:3128/pac",
    ],
    [
      'proxy credentials without a proxy',
      { ...minimal, proxy_username: 'me', proxy_password: 'x' },
      'proxy_username and proxy_password are only used with proxy_url',
    ],
    [
      'a proxy password without a user',
      { ...minimal, proxy_url: 'http://proxy.corp:3128', proxy_password: 'x' },
      'proxy_password needs proxy_username',
    ],
    [
      'a ca_certificate that is not PEM',
      { ...minimal, ca_certificate: 'MIIB' },
      'ca_certificate must be PEM text: -----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----',
    ],
    [
      'a ca_certificate whose base64 is broken',
      {
        ...minimal,
        ca_certificate: `${CA}\n-----BEGIN CERTIFICATE-----\nMIIBbroken\n-----END CERTIFICATE-----\n`,
      },
      expect.stringMatching(/^ca_certificate: certificate 2 of 2 is not valid \(.+\)$/),
    ],
    [
      'a base_url that is not a URL, without echoing its userinfo',
      { ...minimal, base_url: 'https://jdoe:s3cr3t-pa55@[bad' },
      'base_url is not a valid URL: https://[bad',
    ],
  ])('refuses %s with a message naming the field', (_label, config, message) => {
    expect(errorOf(config)).toEqual(message);
  });

  it('accepts the proxy and the CA, and keeps the proxy without a trailing slash', () => {
    const config = validateConfig({
      ...minimal,
      proxy_url: 'http://proxy.corp:3128/',
      proxy_username: 'me',
      proxy_password: 'proxy-pa55',
      ca_certificate: CA,
    });
    expect(config).toMatchObject({
      proxy_url: 'http://proxy.corp:3128',
      proxy_username: 'me',
      proxy_password: 'proxy-pa55',
      ca_certificate: CA,
    });
  });

  it('warns about unknown keys far from any known one, and drops them', () => {
    const warnings: string[] = [];
    const config = validateConfig(
      { ...minimal, notes: 'prod', _comment: 1, check_connection: false },
      (message) => warnings.push(message),
    );
    expect(warnings).toEqual([
      'Configuration keys "notes", "_comment" are not in the spec: ignored',
    ]);
    expect(config).not.toHaveProperty('notes');
    expect(config).not.toHaveProperty('_comment');
    // The CDK's own options are known.
    expect(config).toHaveProperty('check_connection', false);
  });

  it('names at most ten unknown keys, each cut at 40 characters', () => {
    const warnings: string[] = [];
    const unknown = Object.fromEntries(
      Array.from({ length: 12 }, (_, i) => [`zz${i}${'q'.repeat(50)}`, i]),
    );
    validateConfig({ ...minimal, ...unknown }, (message) => warnings.push(message));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^Configuration keys "zz0q{37}…", .* and 2 more are not in the spec: ignored$/,
    );
  });
});

describe('credentialsOf', () => {
  it('finds the secret fields, URL userinfo and everything under unknown keys', () => {
    expect(
      credentialsOf({
        ...minimal,
        base_url: 'https://jdoe:p%40ss-w0rd@qualysapi.qualys.com',
        proxy_password: 'proxy-pa55',
        pasword: 'typo-pa55',
        ['__proto__']: { nested: ['deep-pa55', 12345678] },
        subscription: 'not a secret',
      }),
    ).toEqual([
      'jdoe:p%40ss-w0rd',
      'jdoe',
      'p%40ss-w0rd',
      'jdoe:p@ss-w0rd',
      'p@ss-w0rd',
      's3cr3t-pa55',
      'proxy-pa55',
      'typo-pa55',
      'deep-pa55',
      '12345678',
    ]);
  });

  it('takes every string of a config that is not an object', () => {
    expect(credentialsOf(['a-pa55', { b: 'b-pa55' }])).toEqual(['a-pa55', 'b-pa55']);
    expect(credentialsOf('whole-pa55')).toEqual(['whole-pa55']);
    expect(credentialsOf(null)).toEqual([]);
  });

  it('reads userinfo without a scheme too', () => {
    expect(userinfoOf('jdoe:s3cr3t@qualysapi.qualys.com')).toEqual([
      'jdoe:s3cr3t',
      'jdoe',
      's3cr3t',
    ]);
    expect(userinfoOf('https://qualysapi.qualys.com/a@b')).toEqual([]);
  });
});

describe('request parameters', () => {
  it('ask for everything by default, Fixed included', () => {
    const config = validateConfig(minimal);
    expect(detectionParams(config)).toEqual({
      show_asset_id: '1',
      show_tags: '1',
      show_qds: '1',
      show_qds_factors: '1',
      show_reopened_info: '1',
      show_igs: '0',
      show_results: '0',
      include_ignored: '1',
      include_disabled: '0',
      status: 'New,Active,Re-Opened,Fixed',
      severities: '1,2,3,4,5',
    });
    expect(hostListParams(config)).toEqual({
      details: 'All',
      show_asset_id: '1',
      show_tags: '1',
      show_trurisk: '1',
      host_metadata: 'all',
      show_cloud_tags: '1',
    });
  });

  it('carry the filters and the tag filter', () => {
    const config = validateConfig({
      ...minimal,
      finding_types: ['Confirmed'],
      include_information_gathered: true,
      severities: [5, 4],
      statuses: ['Active', 'Fixed'],
      include_ignored: false,
      include_disabled: true,
      include_results: true,
      tag_filter: ' eval-214027-test , exec-220563',
    });
    expect(detectionParams(config)).toMatchObject({
      include_vuln_type: 'confirmed',
      show_igs: '1',
      severities: '4,5',
      status: 'Active,Fixed',
      include_ignored: '0',
      include_disabled: '1',
      show_results: '1',
      use_tags: '1',
      tag_set_by: 'name',
      tag_include_selector: 'any',
      tag_set_include: 'eval-214027-test,exec-220563',
    });
    expect(hostListParams(config).tag_set_include).toBe('eval-214027-test,exec-220563');
    expect(tagNames('Windows Servers, Production')).toEqual(['Windows Servers', 'Production']);
  });
});
