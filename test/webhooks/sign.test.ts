import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { secretKey, signatureHeader, signedHeaders, verifySignature } from '../../src/webhooks/index.js';
import { EngineConfig } from '../../src/config/schema.js';

describe('Standard Webhooks signatures', () => {
  it('matches the published test vector of the reference libraries', () => {
    // The vector of the standard-webhooks reference implementations (libraries/javascript tests).
    const key = secretKey('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    expect(signatureHeader([key], 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}')).toBe(
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    );
  });

  it('is accepted by the standardwebhooks package, with either secret while rotating', () => {
    const fresh = 'whsec_' + Buffer.alloc(32, 7).toString('base64');
    const old = 'whsec_' + Buffer.alloc(32, 9).toString('base64');
    const body = JSON.stringify({ type: 'message.sent', data: { a: 'ü' } });
    const headers = signedHeaders([secretKey(fresh), secretKey(old)], 'evt_1', Math.floor(Date.now() / 1000), body);
    for (const s of [fresh, old]) expect(new Webhook(s).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook('whsec_' + Buffer.alloc(32, 1).toString('base64')).verify(body, headers)).toThrow();
    expect(verifySignature(secretKey(old), headers, body, Math.floor(Date.now() / 1000))).toBe(true);
    expect(verifySignature(secretKey(old), headers, body + ' ', Math.floor(Date.now() / 1000))).toBe(false);
  });

  it('refuses bad secrets, schemes and endpoint names in the config, naming the field', () => {
    const bad = EngineConfig.safeParse({
      webhooks: [{ url: 'ftp://x.example/h', events: ['message.sent'], secret: 'plain' }],
    });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['webhooks.0.url', 'webhooks.0.secret']));
    const env = EngineConfig.safeParse({
      webhooks: [{ url: 'https://x.example/h', events: ['*'], secret: 'env:COMEBACK_TEST_UNSET_SECRET' }],
    });
    expect(env.error!.issues[0]!.message).toContain('COMEBACK_TEST_UNSET_SECRET is not set');
    process.env.COMEBACK_TEST_HOOK_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const ok = EngineConfig.parse({
      webhooks: [{ url: 'https://x.example/h', events: ['*'], secret: 'env:COMEBACK_TEST_HOOK_SECRET' }],
    });
    expect(ok.webhooks[0]!.secret[0]).toBe('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    const unknown = EngineConfig.safeParse({
      webhooks: [
        { url: 'https://x.example/h', events: ['message.sennt'], secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
      ],
    });
    expect(unknown.error!.issues[0]!.path.join('.')).toBe('webhooks.0.events.0');
  });
});
