import { CHURN_REASONS } from '../shop/types.js';
import type { LABEL_KEYS } from './model.js';

/** Legal texts per language. The right-to-object notice is required in every mail (§7(3) UWG). */
export const NOTICES: Record<
  string,
  { right_to_object: string; unsubscribe: string; preferences: string; view_online: string }
> = {
  de: {
    right_to_object:
      'Sie erhalten diese E-Mail, weil Sie bei uns eingekauft haben. Sie können der Verwendung Ihrer E-Mail-Adresse für Werbung jederzeit widersprechen, ohne dass Ihnen andere als die Übermittlungskosten nach den Basistarifen entstehen.',
    unsubscribe: 'Abmelden',
    preferences: 'E-Mail-Einstellungen',
    view_online: 'Im Browser ansehen',
  },
  en: {
    right_to_object:
      'You receive this email because you bought from us. You can object to the use of your email address for advertising at any time, at no cost other than the basic transmission charges.',
    unsubscribe: 'Unsubscribe',
    preferences: 'Email preferences',
    view_online: 'View in browser',
  },
};

/** Salutation style: "Sie" or "du" in German, "Dear Ms X" or "Hi Anna" in English. */
export type SalutationStyle = 'formal' | 'informal';

type Labels = Record<(typeof LABEL_KEYS)[number], string>;

/** Texts of the shared partials per language and style. */
export const LABELS: Record<string, Record<SalutationStyle, Labels>> = {
  de: {
    formal: {
      last_order: 'Ihre letzte Bestellung',
      recommended: 'Das könnte Ihnen gefallen',
      view_product: 'Ansehen',
      your_code: 'Ihr persönlicher Gutscheincode',
      valid_until: 'gültig bis',
      off: 'Rabatt',
      shop_now: 'Jetzt entdecken',
      reason_question: 'Warum haben Sie zuletzt nicht mehr bei uns bestellt? Ein Klick genügt:',
      reason_thanks: 'Als Dankeschön für Ihre Antwort',
    },
    informal: {
      last_order: 'Deine letzte Bestellung',
      recommended: 'Das könnte dir gefallen',
      view_product: 'Ansehen',
      your_code: 'Dein persönlicher Gutscheincode',
      valid_until: 'gültig bis',
      off: 'Rabatt',
      shop_now: 'Jetzt entdecken',
      reason_question: 'Warum hast du zuletzt nicht mehr bei uns bestellt? Ein Klick genügt:',
      reason_thanks: 'Als Dankeschön für deine Antwort',
    },
  },
  en: {
    formal: {
      last_order: 'Your last order',
      recommended: 'You might like',
      view_product: 'View',
      your_code: 'Your personal code',
      valid_until: 'valid until',
      off: 'off',
      shop_now: 'Shop now',
      reason_question: "Why haven't you ordered from us lately? One click is enough:",
      reason_thanks: 'As a thank-you for your answer',
    },
    informal: {} as Labels,
  },
};
LABELS.en!.informal = LABELS.en!.formal;

/** The churn reasons in the customers' words (first person, so the style does not matter). */
export const REASON_LABELS: Record<string, Record<(typeof CHURN_REASONS)[number], string>> = {
  de: {
    moved: 'Ich bin umgezogen',
    financial: 'Meine finanzielle Lage hat sich geändert',
    variety: 'Ich wollte etwas Neues ausprobieren',
    life_phase: 'Neue Lebensphase, ich brauche anderes',
    price: 'Die Preise sind mir zu hoch',
    quality: 'Ich war mit der Qualität unzufrieden',
    service: 'Ich war mit dem Service unzufrieden',
    image: 'Die Marke passt nicht mehr zu mir',
    location: 'Standort oder Lieferung passen nicht',
    new_contact: 'Wir haben eine neue Ansprechperson',
    competitor: 'Ich kaufe jetzt günstiger woanders',
  },
  en: {
    moved: 'I moved',
    financial: 'My financial situation changed',
    variety: 'I wanted to try something new',
    life_phase: 'A new phase of life, I need other things',
    price: 'Prices are too high for me',
    quality: 'I was unhappy with the quality',
    service: 'I was unhappy with the service',
    image: 'The brand no longer suits me',
    location: "Location or delivery doesn't work for me",
    new_contact: 'We have a new contact person',
    competitor: 'I buy cheaper elsewhere now',
  },
};

const lang = (locale: string) => locale.split('-')[0]!.toLowerCase();

/** Notices for a locale, falling back to English. */
export function noticesFor(locale: string): (typeof NOTICES)[string] {
  return NOTICES[lang(locale)] ?? NOTICES.en!;
}

/** Partial texts for a locale and style, falling back to English. */
export function labelsFor(locale: string, style: SalutationStyle): Labels {
  return (LABELS[lang(locale)] ?? LABELS.en!)[style];
}

/** Churn reason labels for a locale, falling back to English. */
export function reasonLabelsFor(locale: string): Record<string, string> {
  return REASON_LABELS[lang(locale)] ?? REASON_LABELS.en!;
}

// Bidi embeddings/overrides/isolates and other control characters never belong in a name: a
// U+202E in a name would visually reverse the rest of the line (and of the subject).
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const RTL = /[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]/;

/**
 * A name fit to print: control and bidi-override characters removed, whitespace collapsed, and a
 * right-to-left name wrapped in Unicode isolates (FSI … PDI) so it cannot reorder the text around
 * it. Null when nothing is left.
 */
export function cleanName(name: string | null | undefined): string | null {
  if (!name) return null;
  const cleaned = name.replace(CONTROL, ' ').replace(/\s+/g, ' ').trim();
  if (!cleaned) return null;
  return RTL.test(cleaned) ? `\u2068${cleaned}\u2069` : cleaned;
}

/**
 * The salutation line for a customer (without trailing comma): formal or informal, neutral when
 * gender or name is unknown. German formal: "Sehr geehrte Frau Dr. Müller", "Sehr geehrter Herr
 * Schmidt", neutral "Guten Tag Alex Schmidt" (gender diverse or unknown) or "Guten Tag".
 * Informal: "Hallo Anna" or "Hallo". English: "Dear Ms Müller", "Dear Dr Müller", "Hi Anna", "Hello".
 */
export function salutation(
  c: { first_name: string | null; last_name: string | null; gender: string | null; title: string | null },
  locale: string,
  style: SalutationStyle,
): string {
  const first = cleanName(c.first_name);
  const last = cleanName(c.last_name);
  const title = cleanName(c.title);
  const full = [first, title, last].filter(Boolean).join(' ');
  if (lang(locale) === 'de') {
    if (style === 'informal') return first ? `Hallo ${first}` : 'Hallo';
    const t = title ? `${title} ` : '';
    if (last && c.gender === 'f') return `Sehr geehrte Frau ${t}${last}`;
    if (last && c.gender === 'm') return `Sehr geehrter Herr ${t}${last}`;
    return last ? `Guten Tag ${full}` : 'Guten Tag';
  }
  if (style === 'informal') return first ? `Hi ${first}` : 'Hello';
  if (last && title) return `Dear ${title.replace(/\.$/, '')} ${last}`;
  if (last && c.gender === 'f') return `Dear Ms ${last}`;
  if (last && c.gender === 'm') return `Dear Mr ${last}`;
  return last ? `Dear ${full}` : 'Hello';
}
