import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

/**
 * Table types. Conventions, the same on SQLite and PostgreSQL:
 * - timestamps are UTC epoch milliseconds (`*_at`, bigint), so arithmetic is plain integer math;
 * - money is integer minor units (`*_minor`) plus an ISO 4217 `currency`;
 * - booleans are 0/1 integers; structured extras are JSON text.
 */
export interface CustomersTable {
  id: Generated<number>;
  external_id: string;
  email: string | null;
  email_hash: string | null;
  first_name: string | null;
  last_name: string | null;
  /** `f`, `m`, `d` (diverse) or null when unknown: drives the salutation. */
  gender: string | null;
  title: string | null;
  locale: string;
  time_zone: string;
  /** How the address was obtained: `sale` qualifies for the existing-customer exception. */
  acquired_via: Generated<string>;
  churn_reason: string | null;
  churn_reason_source: string | null;
  late_payments: Generated<number>;
  tags: Generated<string>;
  attributes: Generated<string>;
  created_at: number;
  updated_at: number;
  erased_at: number | null;
}

export interface ProductsTable {
  id: Generated<number>;
  external_id: string;
  name: string;
  category: string | null;
  price_minor: Generated<number>;
  currency: string;
  url: string | null;
  image_url: string | null;
  in_stock: Generated<number>;
}

export interface OrdersTable {
  id: Generated<number>;
  external_id: string;
  customer_id: number;
  ordered_at: number;
  total_minor: number;
  discount_minor: Generated<number>;
  currency: string;
  /** `paid`, `returned`, `cancelled`. */
  status: Generated<string>;
  paid_late: Generated<number>;
  returned_minor: Generated<number>;
  coupon_code: string | null;
  created_at: number;
  /** The total as the shop reported it, when that was another currency (converted into `total_minor`). */
  original_total_minor: number | null;
  /** The currency the shop reported the order in, when it was not the shop's; null otherwise. */
  original_currency: string | null;
}

export interface OrderItemsTable {
  id: Generated<number>;
  order_id: number;
  product_id: number | null;
  sku: string;
  name: string;
  category: string | null;
  quantity: Generated<number>;
  unit_price_minor: Generated<number>;
}

/** Append-only consent ledger: the current state is derived, history is never rewritten. */
export interface ConsentsTable {
  id: Generated<number>;
  customer_id: number;
  channel: Generated<string>;
  /** `grant` or `withdraw`. */
  action: string;
  /** `double_opt_in`, `opt_in`, `existing_customer`; null on a withdrawal of all bases. */
  basis: string | null;
  source: string;
  text_version: string | null;
  evidence: Generated<string>;
  recorded_at: number;
}

/** Addresses that are never mailed again, keyed by a hash so they survive erasure. */
export interface SuppressionsTable {
  id: Generated<number>;
  email_hash: string;
  /** `all` or a sequence id. */
  scope: Generated<string>;
  reason: string;
  created_at: number;
}

/** Double opt-in requests waiting for the confirm click; unconfirmed ones expire. */
export interface ConsentRequestsTable {
  id: Generated<number>;
  /** The address to confirm; cleared once the request is confirmed or expired. */
  email: string | null;
  email_hash: string;
  /** The customer the request was made for, or the one created on confirmation. */
  customer_id: number | null;
  /** `pending`, `confirmed`, `expired`. */
  status: Generated<string>;
  source: string;
  text_version: string | null;
  locale: string;
  /** Proof of the request: IP, user agent. */
  evidence: Generated<string>;
  requested_at: number;
  expires_at: number;
  confirmed_at: number | null;
  /** The ledger entry written on confirmation. */
  consent_id: number | null;
}

export interface SequencesTable {
  id: string;
  version: number;
  hash: string;
  definition: string;
  /** `active` or `paused` (paused sequences neither enrol nor send). */
  status: string;
  paused_reason: string | null;
  loaded_at: number;
  /** When the sequence was paused. */
  paused_at: number | null;
  /** The deliverability guard counts only messages sent from here on (set by resume). */
  guard_since: number | null;
}

export interface EnrollmentsTable {
  id: Generated<number>;
  customer_id: number;
  sequence_id: string;
  sequence_version: number;
  /** `active`, `completed`, `converted`, `exited`. */
  status: string;
  holdout: Generated<number>;
  current_step: Generated<number>;
  next_due_at: number | null;
  enrolled_at: number;
  ended_at: number | null;
  exit_reason: string | null;
  variant_choices: Generated<string>;
  trigger_data: Generated<string>;
  consent_id: number | null;
  legal_basis: string | null;
  /** The address hash the enrolment was made for: one active enrolment per address and sequence (null after erasure). */
  address_hash: string | null;
  /** 1 when the customer was in the global control group at enrolment (never mailed; also a holdout enrolment). */
  control: Generated<number>;
  /** The path cohort drawn at enrolment when a step of the sequence splits into cohorts; null otherwise. */
  cohort: string | null;
  /** Start (epoch ms) of the allocation epoch of a draw with the optimiser's shares; null with the written shares. */
  cohort_epoch: number | null;
  /** Share the drawn cohort had at the draw; null without a cohort. */
  cohort_share: number | null;
}

/** The send ledger: one row per (enrollment, step), guarded by a unique key. */
export interface MessagesTable {
  id: Generated<number>;
  enrollment_id: number;
  customer_id: number;
  sequence_id: string;
  step_id: string;
  variant_id: string | null;
  template: string;
  /**
   * `reserved` → `claimed` (a worker prepares it; nothing sent yet) → `sending` (handed to the
   * provider) → `sent` | `failed` | `cancelled` | `uncertain` (the worker died while sending).
   */
  status: string;
  legal_basis: string | null;
  consent_id: number | null;
  transport: string | null;
  provider_id: string | null;
  subject: string | null;
  links: Generated<string>;
  /** The Message-ID header it was handed over with (stored with `sending`; null before, and after erasure). */
  message_id_header: string | null;
  error: string | null;
  attempts: Generated<number>;
  due_at: number;
  reserved_at: number;
  claimed_at: number | null;
  sent_at: number | null;
  updated_at: number;
  /** When the message was last handed to the job queue (re-dispatched if the queue lost it). */
  dispatched_at: number | null;
}

/** Per-transport state every worker sees: a policy block (SMTP 5.7.x) pauses the sender. */
export interface DeliveryStateTable {
  transport: string;
  paused_until: number | null;
  reason: string | null;
  updated_at: number;
}

export interface EventsTable {
  id: Generated<number>;
  message_id: number | null;
  customer_id: number | null;
  enrollment_id: number | null;
  /** `delivered`, `open`, `click`, `unsubscribe`, `complaint`, `bounce`, `reason`. */
  type: string;
  link_index: number | null;
  /** 1 when an open looks like a prefetch (Apple MPP, proxies) or a click like a scanner. */
  machine: Generated<number>;
  machine_reason: string | null;
  source: string;
  provider_event_id: string | null;
  user_agent: string | null;
  detail: Generated<string>;
  occurred_at: number;
}

export interface ConversionsTable {
  id: Generated<number>;
  enrollment_id: number;
  order_id: number;
  customer_id: number;
  sequence_id: string;
  step_id: string | null;
  variant_id: string | null;
  holdout: Generated<number>;
  revenue_minor: number;
  discount_minor: Generated<number>;
  currency: string;
  /** `goal_window`, `coupon`. */
  attributed_by: string;
  converted_at: number;
}

export interface CouponsTable {
  id: Generated<number>;
  code: string;
  customer_id: number;
  enrollment_id: number | null;
  message_id: number | null;
  percent: number | null;
  amount_minor: number | null;
  currency: string | null;
  expires_at: number;
  redeemed_order_id: number | null;
  created_at: number;
  /** The shop's id of the code once the shop has it (a connected shop only). */
  shop_ref: string | null;
  shop_created_at: number | null;
}

/** A shop webhook delivery, recorded before it is applied (one row per delivery id). */
export interface ShopWebhooksTable {
  id: Generated<number>;
  provider: string;
  webhook_id: string;
  topic: string;
  body: string;
  received_at: number;
  processed_at: number | null;
  error: string | null;
  /** What applying it produced for the operator (a data request's export). */
  result: string | null;
}

/** Where a shop sync of one resource stands: its cursor, resumed after an interruption. */
export interface ShopSyncStateTable {
  provider: string;
  resource: string;
  cursor: string | null;
  since: number | null;
  records: number;
  started_at: number;
  finished_at: number | null;
  updated_at: number;
}

/** The newest `updated_at` applied per shop record: an older update never overwrites it. */
export interface ShopVersionsTable {
  kind: string;
  external_id: string;
  updated_at: number;
}

/** Test sends (studio, `comeback send-test`): never in `messages`, so never in a metric. */
export interface TestSendsTable {
  id: Generated<number>;
  sequence_id: string;
  step_id: string;
  variant_id: string | null;
  customer_id: number | null;
  locale: string;
  to_address: string;
  subject: string;
  /** `sending` while the transport has it, then `sent` or `failed`. */
  status: string;
  provider_id: string | null;
  error: string | null;
  created_at: number;
}

/** Outbound webhook events, written in the transaction of the state change they report (docs/WEBHOOKS.md). */
export interface WebhookOutboxTable {
  id: Generated<number>;
  /** An event type of the catalogue, e.g. `message.clicked`. */
  type: string;
  customer_id: number | null;
  enrollment_id: number | null;
  message_id: number | null;
  sequence_id: string | null;
  /** The row the event is about: the `events` row of an open or click, the conversion, ... */
  ref_id: number | null;
  /** Small event-specific fields, as JSON. */
  data: Generated<string>;
  occurred_at: number;
}

/** One event for one endpoint: its frozen body and its delivery state; `dead` rows are the dead-letter list. */
export interface WebhookDeliveriesTable {
  id: Generated<number>;
  event_id: number;
  endpoint: string;
  type: string;
  customer_id: number | null;
  body: string;
  /** `pending`, `delivered`, `dead`. */
  status: Generated<string>;
  attempts: Generated<number>;
  next_attempt_at: number;
  /** A worker holds the row until then (a request in flight); a killed worker's lease runs out. */
  lease_until: number | null;
  first_attempt_at: number | null;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  delivered_at: number | null;
}

/** What every worker must know about an endpoint: failing in a row, paused, gone (HTTP 410). */
export interface WebhookEndpointsTable {
  endpoint: string;
  failures: Generated<number>;
  paused_until: number | null;
  gone_at: number | null;
  reason: string | null;
  updated_at: number;
}

/** A person who may log in to the dashboard (migration 016). */
export interface OperatorsTable {
  id: Generated<number>;
  username: string;
  /** `viewer`, `operator` or `admin`. */
  role: string;
  /** `scrypt$N$r$p$salt$hash` (base64url). */
  password_hash: string;
  failed_logins: Generated<number>;
  locked_until: number | null;
  last_login_at: number | null;
  created_at: number;
  updated_at: number;
}

/** One operator action, append-only (migration 016). */
export interface OperatorLogTable {
  id: Generated<number>;
  at: number;
  /** Who: the dashboard user, the OS user of the CLI, or what the library caller named. */
  actor: string;
  /** `dashboard`, `cli` or `library`. */
  via: string;
  action: string;
  target: string;
  reason: string | null;
  /** `done`, or why nothing was done (`already paused`, ...). */
  outcome: string;
  /** What it affected, as JSON (`{"parkedMails":12}`). */
  counts: Generated<string>;
}

/** The database as kysely sees it. */
export interface Database {
  customers: CustomersTable;
  products: ProductsTable;
  orders: OrdersTable;
  order_items: OrderItemsTable;
  consents: ConsentsTable;
  suppressions: SuppressionsTable;
  consent_requests: ConsentRequestsTable;
  sequences: SequencesTable;
  enrollments: EnrollmentsTable;
  messages: MessagesTable;
  events: EventsTable;
  conversions: ConversionsTable;
  coupons: CouponsTable;
  delivery_state: DeliveryStateTable;
  shop_webhooks: ShopWebhooksTable;
  shop_sync_state: ShopSyncStateTable;
  shop_versions: ShopVersionsTable;
  webhook_outbox: WebhookOutboxTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_endpoints: WebhookEndpointsTable;
  operators: OperatorsTable;
  operator_log: OperatorLogTable;
  test_sends: TestSendsTable;
}

export type Customer = Selectable<CustomersTable>;
export type NewCustomer = Insertable<CustomersTable>;
export type CustomerUpdate = Updateable<CustomersTable>;
export type Order = Selectable<OrdersTable>;
export type Enrollment = Selectable<EnrollmentsTable>;
export type Message = Selectable<MessagesTable>;
export type Consent = Selectable<ConsentsTable>;
