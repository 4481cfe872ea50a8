import { ConfigError, tagNames, validateConfig } from '../../src/config';
import { detectionParams, hostListParams } from '../../src/qualys/params';

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
      'Invalid configuration: base_url must start with https://',
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
      'Invalid configuration: expected a JSON object',
    ],
  ])('refuses %s with a message naming the field', (_label, config, message) => {
    expect(errorOf(config)).toBe(message);
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
