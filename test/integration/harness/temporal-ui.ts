import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * The sandbox's Temporal UI driven as an operator drives it, in headless Chromium (Debian's package, installed by
 * scripts/install-test-tools.sh; playwright-core downloads nothing). Every step leaves a screenshot in
 * artifacts/temporal-ui/, so that a failure shows what the operator would have seen.
 */

/** Where the screenshots go (the repository's artifacts/, ignored by git). */
export const UI_ARTIFACTS = join(__dirname, '../../../artifacts/temporal-ui');

/** The Chromium binary: ETCD_GUARDIAN_CHROMIUM, else Debian's. Throws naming what is missing and how to get it. */
export function chromiumBinary(): string {
  const path = process.env['ETCD_GUARDIAN_CHROMIUM'] ?? '/usr/bin/chromium';
  if (!existsSync(path)) {
    throw new Error(
      `the Temporal UI test needs headless Chromium at ${path}, which is missing: run scripts/install-test-tools.sh (Debian package chromium), or point ETCD_GUARDIAN_CHROMIUM at a Chromium binary`,
    );
  }
  return path;
}

/** What the Start Workflow form asks for. */
export interface UiStart {
  workflowId: string;
  taskQueue: string;
  workflowType: string;
  /** The input, as an operator pastes it into the Data field. */
  input: string;
  /** The "Summary" under More options, shown in the workflow list and page. */
  summary?: string;
}

export class TemporalUi {
  private shots = 0;

  private constructor(
    private readonly browser: Browser,
    readonly page: Page,
    private readonly baseUrl: string,
    private readonly namespace: string,
    private readonly prefix: string,
  ) {}

  /** A browser on the UI at `uiUrl`; screenshots are named `<prefix>-<n>-<step>.png`. */
  static async open(uiUrl: string, namespace: string, prefix: string): Promise<TemporalUi> {
    mkdirSync(UI_ARTIFACTS, { recursive: true });
    const browser = await chromium.launch({ executablePath: chromiumBinary(), args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.setDefaultTimeout(30_000);
    return new TemporalUi(browser, page, uiUrl.replace(/\/$/, ''), namespace, prefix);
  }

  /** A full-page screenshot of what is on screen now; returns its path. */
  async screenshot(step: string): Promise<string> {
    this.shots += 1;
    const path = join(UI_ARTIFACTS, `${this.prefix}-${String(this.shots).padStart(2, '0')}-${step}.png`);
    await this.page.screenshot({ path, fullPage: true });
    return path;
  }

  /**
   * From the workflow list: Start Workflow, fill the form as the README documents it, start. Resolves once the UI
   * shows the started workflow's page.
   */
  async startWorkflow(start: UiStart): Promise<void> {
    const { page } = this;
    await page.goto(`${this.baseUrl}/namespaces/${this.namespace}/workflows`);
    await page.getByRole('link', { name: 'Start Workflow' }).or(page.getByRole('button', { name: 'Start Workflow' })).first().click();
    await page.locator('#workflowId').fill(start.workflowId);
    await page.locator('#taskQueue').fill(start.taskQueue);
    await page.locator('#workflowType').fill(start.workflowType);
    // The optional fields first: a click while an editor has the focus may only take the focus away from it.
    if (start.summary !== undefined) {
      await page.getByText('More options').click();
      await this.typeInto(page.locator('.cm-content[data-language="markdown"]').first(), start.summary);
    }
    await this.typeInto(page.locator('.cm-content').first(), start.input);
    await page.getByRole('heading', { name: 'Start a Workflow' }).click();
    await this.screenshot('start-form');
    await page.getByRole('button', { name: 'Start Workflow' }).click();
    // The UI stays on the form and says so in a toast that links to the workflow; a refusal is a toast too.
    const started = page.getByText('Workflow started successfully');
    const toast = page.locator('[role="alert"], [data-testid="toast"]').first();
    await started.or(toast).first().waitFor({ timeout: 30_000 });
    await this.screenshot('started');
    if (!(await started.isVisible())) throw new Error(`the UI did not start ${start.workflowType}: ${(await toast.innerText()).trim()}`);
    await started.click();
    await page.waitForURL((url) => url.pathname.includes(`/workflows/${encodeURIComponent(start.workflowId)}/`), { waitUntil: 'commit' });
  }

  /** The page of a workflow run (its summary, details, input, result and event history). */
  async openWorkflow(workflowId: string, runId: string, view: 'history' = 'history'): Promise<void> {
    await this.page.goto(`${this.baseUrl}/namespaces/${this.namespace}/workflows/${encodeURIComponent(workflowId)}/${runId}/${view}`);
    await this.page.waitForLoadState('networkidle');
    // The network can be idle before the app has rendered (a loaded machine hydrates slowly: the body's text was
    // empty once in CI): the page is there once it names the workflow.
    await this.page.getByText(workflowId).first().waitFor({ state: 'visible', timeout: 30_000 });
  }

  /** The text the page shows, whitespace collapsed: what an operator reads. */
  async visibleText(): Promise<string> {
    return (await this.page.locator('body').innerText()).replace(/\s+/g, ' ');
  }

  async close(): Promise<void> {
    await this.browser.close();
  }

  /** Replace a CodeMirror editor's text, as pasting does; throws if the editor does not hold it afterwards. */
  private async typeInto(editor: ReturnType<Page['locator']>, text: string): Promise<void> {
    await editor.click();
    await this.page.keyboard.press('ControlOrMeta+A');
    await this.page.keyboard.insertText(text);
    const held = (await editor.innerText()).trim();
    if (held !== text.trim()) throw new Error(`the UI's editor holds ${JSON.stringify(held)} after pasting ${JSON.stringify(text)}`);
  }
}
