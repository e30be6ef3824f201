import { describe, expect, it } from 'vitest';
import { canSend, deriveConsentState } from '../../src/consent/index.js';
import { parseSequence } from '../../src/index.js';
import { sequenceYaml } from './fixtures.js';

const row = (
  id: number,
  action: 'grant' | 'withdraw',
  basis: string | null,
  recorded_at: number,
  channel = 'email',
) => ({ id, action, basis, recorded_at, channel });
const customer = { email: 'a@example.com', erased_at: null, acquired_via: 'sale' };
const all = { consent: ['double_opt_in', 'opt_in', 'existing_customer'] as const, ownSimilarGoods: true };

describe('consent state derived from the ledger', () => {
  it('is empty without entries, and a grant puts its basis in force', () => {
    expect(deriveConsentState([])).toEqual({ active: [], objected: false });
    expect(deriveConsentState([row(1, 'grant', 'opt_in', 10)]).active).toEqual([
      { basis: 'opt_in', consentId: 1, grantedAt: 10 },
    ]);
  });

  it('follows the time things happened, not the order they were written: an old imported grant does not undo a newer objection', () => {
    const s = deriveConsentState([row(1, 'withdraw', null, 100), row(2, 'grant', 'opt_in', 50)]);
    expect(s.objected).toBe(true);
    expect(s.active).toEqual([]);
  });

  it('withdrawing one basis keeps the others; withdrawing without a basis is an objection to everything', () => {
    const one = deriveConsentState([
      row(1, 'grant', 'opt_in', 1),
      row(2, 'grant', 'existing_customer', 2),
      row(3, 'withdraw', 'opt_in', 3),
    ]);
    expect(one.active.map((a) => a.basis)).toEqual(['existing_customer']);
    expect(one.objected).toBe(false);
    const all = deriveConsentState([
      row(1, 'grant', 'opt_in', 1),
      row(2, 'grant', 'existing_customer', 2),
      row(3, 'withdraw', null, 3),
    ]);
    expect(all).toEqual({ active: [], objected: true, objectedAt: 3 });
  });

  it('after an objection the existing-customer exception never comes back; only an explicit opt-in allows mail again', () => {
    const objected = [
      row(1, 'grant', 'existing_customer', 1),
      row(2, 'withdraw', null, 2),
      row(3, 'grant', 'existing_customer', 3),
    ];
    expect(deriveConsentState(objected)).toMatchObject({ active: [], objected: true });
    const again = deriveConsentState([...objected, row(4, 'grant', 'double_opt_in', 4)]);
    expect(again.objected).toBe(false);
    expect(again.active.map((a) => a.basis)).toEqual(['double_opt_in']);
  });

  it('ignores other channels', () => {
    expect(deriveConsentState([row(1, 'grant', 'opt_in', 1, 'sms')]).active).toEqual([]);
  });
});

describe('canSend: the one policy, used at enrolment and before each send', () => {
  const state = (...bases: string[]) => deriveConsentState(bases.map((b, i) => row(i + 1, 'grant', b, i)));

  it('refuses without consent, when suppressed, objected, erased or without address', () => {
    expect(canSend(customer, state(), false, all)).toEqual({ allowed: false, reason: 'no_consent' });
    expect(canSend(customer, state('opt_in'), true, all)).toMatchObject({ allowed: false, reason: 'suppressed' });
    expect(
      canSend(customer, deriveConsentState([row(1, 'grant', 'opt_in', 1), row(2, 'withdraw', null, 2)]), false, all),
    ).toMatchObject({ reason: 'objected' });
    expect(canSend({ ...customer, erased_at: 5 }, state('opt_in'), false, all)).toMatchObject({ reason: 'erased' });
    expect(canSend({ ...customer, email: null }, state('opt_in'), false, all)).toMatchObject({ reason: 'no_email' });
  });

  it('picks the strongest basis the sequence accepts and names the ledger entry', () => {
    expect(canSend(customer, state('existing_customer', 'double_opt_in'), false, all)).toEqual({
      allowed: true,
      basis: 'double_opt_in',
      consentId: 2,
    });
    expect(canSend(customer, state('opt_in'), false, { consent: ['double_opt_in'] })).toMatchObject({
      allowed: false,
      reason: 'basis_not_accepted',
    });
  });

  it('allows the existing-customer exception only for an address from a sale and a sequence of own similar goods', () => {
    expect(canSend(customer, state('existing_customer'), false, all)).toMatchObject({
      allowed: true,
      basis: 'existing_customer',
    });
    expect(canSend({ ...customer, acquired_via: 'newsletter' }, state('existing_customer'), false, all)).toMatchObject({
      allowed: false,
      reason: 'existing_customer_conditions',
      detail: 'the address was not obtained in a sale',
    });
    expect(
      canSend(customer, state('existing_customer'), false, { consent: ['existing_customer'], ownSimilarGoods: false }),
    ).toMatchObject({
      reason: 'existing_customer_conditions',
      detail: 'the sequence does not declare own_similar_goods',
    });
  });
});

describe('validate: the existing-customer basis needs own similar goods', () => {
  it('names the problem at the consent line', () => {
    const r = parseSequence(sequenceYaml('bad', ['existing_customer'], false), 'sequences/bad.yaml');
    const p = r.problems.find((x) => x.path.startsWith('consent'));
    expect(p?.message).toMatch(/own_similar_goods: true/);
    expect(p?.message).toMatch(/§7\(3\) UWG/);
    expect(p?.line).toBe(6);
    expect(parseSequence(sequenceYaml('good', ['existing_customer'], true), 'sequences/good.yaml').problems).toEqual(
      [],
    );
  });
});
