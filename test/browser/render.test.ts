/**
 * The demo's rendering of model output in Chromium: markdown (code blocks, lists, tables, emphasis)
 * becomes HTML; any HTML the model writes is shown as text; links cannot run script.
 */
import { expect, it } from 'vitest';
import { useTestPage } from '../helpers/browser.js';

const t = useTestPage('/test/browser/pages/render.html', 'renderTest');
const render = (md: string) => t.page.evaluate((m) => (window as any).renderTest.render(m), md) as Promise<string>;

it('renders markdown: code blocks, lists, tables, emphasis', async () => {
  const html = await render('# Title\n\n- one\n- **two**\n\n1. first\n\n```js\nconst x = 1 < 2;\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n`inline` and *em*');
  expect(html).toContain('<h1>Title</h1>');
  expect(html).toMatch(/<ul>\s*<li>one<\/li>\s*<li><strong>two<\/strong><\/li>\s*<\/ul>/);
  expect(html).toMatch(/<ol>\s*<li>first<\/li>\s*<\/ol>/);
  expect(html).toContain('<pre><code class="language-js">const x = 1 &lt; 2;');
  expect(html).toMatch(/<table>[\s\S]*<th>a<\/th>[\s\S]*<td>2<\/td>[\s\S]*<\/table>/);
  expect(html).toContain('<code>inline</code> and <em>em</em>');
});

it('shows HTML from the model as text and never lets it run', async () => {
  for (const attack of ['<img src=x onerror=alert(1)>', '<script>alert(1)</script>', 'text <b onmouseover=alert(1)>bold</b>', '<iframe src="javascript:alert(1)"></iframe>']) {
    const html = await render(attack);
    expect(html, attack).not.toMatch(/<(img|script|iframe|b)[\s>]/);
    const text = await t.page.evaluate((h) => {
      const d = document.createElement('div');
      d.innerHTML = h;
      return d.textContent;
    }, html);
    expect(text!.replace(/\s+/g, ' ').trim(), attack).toBe(attack.replace(/\s+/g, ' '));
  }
  const link = await render('[click](javascript:alert(1)) and [ok](https://example.com)');
  expect(link).not.toContain('javascript:');
  expect(link).toContain('href="https://example.com"');
});
