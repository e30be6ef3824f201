import { existsSync } from 'node:fs';
import { TemplateError } from '../errors.js';

/** Widths a mail is looked at: a phone and a desktop client. */
export const SCREENSHOT_WIDTHS = [375, 800] as const;

/** One rendering of a mail at one width. */
export interface Shot {
  width: number;
  /** The document's scroll width: greater than `width` means horizontal scrolling. */
  scrollWidth: number;
  /** The PNG (full page). */
  png: Buffer;
}

/** The Chromium binary: `COMEBACK_CHROMIUM`, else the system package (`apt-get install chromium`). */
export function chromiumPath(): string {
  const p = process.env.COMEBACK_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(p))
    throw new TemplateError(
      `headless Chromium not found at ${p}: install it (apt-get install chromium) or set COMEBACK_CHROMIUM`,
    );
  return p;
}

/** A headless Chromium that renders mails; close it when done. Every network request is refused. */
export class MailRenderer {
  private constructor(
    private readonly browser: import('playwright-core').Browser,
    private readonly page: import('playwright-core').Page,
  ) {}

  /** Starts the browser (playwright-core with the system Chromium; nothing is downloaded). */
  static async launch(): Promise<MailRenderer> {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: chromiumPath(),
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: SCREENSHOT_WIDTHS[0], height: 800 } });
      // A mail preview must not phone home: tracking pixels and remote images stay blank.
      await page.route('**/*', (route) =>
        route.request().url().startsWith('data:') ? route.continue() : route.abort(),
      );
      return new MailRenderer(browser, page);
    } catch (err) {
      await browser.close();
      throw err;
    }
  }

  /** Renders HTML at each width: full-page PNG and the scroll width (data: images only). */
  async shoot(html: string, widths: readonly number[] = SCREENSHOT_WIDTHS): Promise<Shot[]> {
    const out: Shot[] = [];
    for (const width of widths) {
      await this.page.setViewportSize({ width, height: 800 });
      await this.page.setContent(html, { waitUntil: 'load' });
      const scrollWidth = Number(await this.page.evaluate('document.documentElement.scrollWidth'));
      out.push({ width, scrollWidth, png: await this.page.screenshot({ fullPage: true }) });
    }
    return out;
  }

  /** Closes the browser. */
  async close(): Promise<void> {
    await this.browser.close();
  }
}
