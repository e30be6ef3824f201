/**
 * The engine's namespaces as named interfaces: what `engine.customers`, `engine.orders`, … offer
 * to a shop that embeds Comeback. The implementations are in engine.ts; these are the contract.
 */
import type { Actor } from './operator-log.js';
import type { EnforceResult } from '../consent/enforce.js';
import type { ConsentRecord } from '../consent/ledger.js';
import type { ConfirmResult, OptInRequest, OptInRequestResult } from '../consent/optin.js';
import type { ConsentEntry, ConsentState } from '../consent/types.js';
import type { Customer } from '../db/schema.js';
import type { CustomerInput, OrderInput, ProductInput } from '../shop/types.js';
import type { Attribution } from './attribution.js';
import type { EventInput } from './events.js';
import type { MailUnsubscribeResult } from './mail-unsubscribe.js';
import type { PersonAudit } from './person-audit.js';
import type { ForgetResult, PersonExport } from './privacy.js';

/** A consent entry that names the customer by internal or external id. */
export type ConsentInput = Omit<ConsentEntry, 'customerId' | 'recordedAt'> & {
  customer: number | string;
  recordedAt?: number;
};

/** A stored customer as `engine.customers.get` returns it. */
export type CustomerRecord = Customer;

/** `engine.customers`: upsert by the shop's external id, look up by id or external id. */
export interface EngineCustomers {
  /**
   * Inserts or updates customers; returns their internal ids by external id. An update changes
   * only the fields given (`null` clears one); a new customer gets defaults for the others.
   */
  upsert(input: CustomerInput | CustomerInput[]): Promise<Map<string, number>>;
  /** A customer by internal or external id, or undefined. */
  get(ref: number | string): Promise<CustomerRecord | undefined>;
}

/** `engine.orders`: the one door every order source uses. */
export interface EngineOrders {
  /** Records one order; throws NotFoundError for an unknown customer, InputError naming each wrong field. */
  record(input: OrderInput): Promise<{ id: number; conversions: Attribution[] }>;
  /**
   * Records up to 10,000 orders in one transaction, attributed in batches: all or nothing (an
   * invalid order or unknown customer throws, naming it by its index, and nothing is stored).
   */
  recordMany(inputs: OrderInput[]): Promise<{ ids: Map<string, number>; conversions: Attribution[] }>;
}

/** `engine.products`: the product catalogue (for recommendations). */
export interface EngineProducts {
  /** Inserts or updates products by the shop's product id. */
  upsert(input: ProductInput | ProductInput[]): Promise<void>;
}

/** `engine.consents`: the consent ledger and double opt-in. */
export interface EngineConsents {
  /**
   * Appends a grant or withdrawal (never rewrites one) and returns its id. A withdrawal takes
   * effect at once: reserved messages the policy no longer allows are cancelled.
   */
  record(input: ConsentInput): Promise<number>;
  /** Withdraws one basis, or (without `basis`) objects to all marketing mail. */
  withdraw(
    customer: number | string,
    options?: { basis?: ConsentInput['basis']; source?: string; evidence?: Record<string, unknown> },
  ): Promise<{ consentId: number } & EnforceResult>;
  /** The current state derived from the ledger: bases in force, objection. */
  state(ref: number | string): Promise<ConsentState>;
  /** The customer's whole ledger, oldest first. */
  history(ref: number | string): Promise<ConsentRecord[]>;
  /** Double opt-in, step 1: stores the request and sends the confirmation mail. */
  requestOptIn(input: OptInRequest): Promise<OptInRequestResult>;
  /** Double opt-in, step 2 (the confirm link): records the grant with the full evidence. */
  confirm(token: string, proof?: { ip?: string; userAgent?: string }): Promise<ConfirmResult>;
  /** Expires unconfirmed requests past their time and clears their addresses; returns how many. */
  expireRequests(): Promise<number>;
  /** A mail to the List-Unsubscribe `mailto:` address: unsubscribes when its sender is the recipient. */
  unsubscribeByMail(mail: { from: string; subject: string; id?: string }): Promise<MailUnsubscribeResult>;
}

/** `engine.privacy`: data subject rights (GDPR Art. 15, 17, 20) and the audit of legal bases. */
export interface EnginePrivacy {
  /** Everything stored about the person with this address, as plain JSON. */
  export(email: string): Promise<PersonExport>;
  /** Erases the person's data; keeps the hashed suppression and anonymous statistics. */
  /** Erases a person; `by` names who asked, for the operator log (default: the library). */
  forget(email: string, options?: { by?: Actor }): Promise<ForgetResult>;
  /** Why each mail to this address was allowed, and what the policy says now. */
  audit(email: string): Promise<PersonAudit>;
}

/** `engine.events`: feedback from tracking and providers. */
export interface EngineEvents {
  /** Records an event with its consequences; false when it was recorded before (same provider id). */
  record(e: EventInput): Promise<boolean>;
}

/** What `engine.trigger` returns: the new enrolment, or null with the reason nobody was enrolled. */
export interface TriggerResult {
  enrollmentId: number | null;
  reason?: string;
}
