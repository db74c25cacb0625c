import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ConfigurationError, loadConfig } from '../src/config';

describe('configuration', () => {
  test('defaults describe embedded mode', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 4000, host: '127.0.0.1', databaseUrl: undefined, redisUrl: undefined, logLevel: 'info', demoData: true });
    expect(config.dataDir).toBe(path.resolve('.rapport'));
    expect(config.scoreHistoryDays).toBe(0);
    expect(loadConfig({ RAPPORT_SCORE_HISTORY_DAYS: '400' }).scoreHistoryDays).toBe(400);
    expect(() => loadConfig({ RAPPORT_SCORE_HISTORY_DAYS: '-1' })).toThrow('RAPPORT_SCORE_HISTORY_DAYS');
  });

  test('a bad value is an error naming each variable at fault', () => {
    expect(() => loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud' })).toThrow(ConfigurationError);
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud' });
    } catch (error) {
      expect((error as ConfigurationError).issues.map((i) => i.variable).sort()).toEqual(['DATABASE_URL', 'LOG_LEVEL', 'PORT']);
      expect((error as Error).message).toContain('DATABASE_URL: must be a URL starting with postgres:// or postgresql://');
    }
  });

  test('RAPPORT_DEFAULT_PHONE_COUNTRY is a country code phone numbers can be read in', () => {
    expect(loadConfig({}).defaultPhoneCountry).toBeUndefined();
    expect(loadConfig({ RAPPORT_DEFAULT_PHONE_COUNTRY: ' gb ' }).defaultPhoneCountry).toBe('GB');
    for (const value of ['XX', 'GBR', 'United Kingdom']) {
      try {
        loadConfig({ RAPPORT_DEFAULT_PHONE_COUNTRY: value });
        throw new Error(`${value} was accepted`);
      } catch (error) {
        expect((error as ConfigurationError).issues).toEqual([{ variable: 'RAPPORT_DEFAULT_PHONE_COUNTRY', message: expect.stringContaining('ISO 3166-1') }]);
      }
    }
  });

  test('the CLI stops at startup with a message naming the variable', () => {
    const root = path.join(__dirname, '..');
    const result = spawnSync(process.execPath, [path.join(root, 'bin/rapport.js'), 'start'], {
      env: { ...process.env, REDIS_URL: 'localhost:6379' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('REDIS_URL: must be a URL starting with redis:// or rediss://');
  });
});
