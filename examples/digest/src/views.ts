/** Server-rendered pages: plain HTML with escaping, enhanced by the built client script. */

export interface PageContext {
  assetUrl: (name: string) => string;
  email?: string | undefined;
  error?: string | undefined;
  notice?: string | undefined;
  processName: string;
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function layout(ctx: PageContext, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>digest · drove example</title>
<link rel="stylesheet" href="${ctx.assetUrl('style.css')}">
</head>
<body>
<header>
  <h1>digest</h1>
  <span class="muted" id="served-by">served by ${escapeHtml(ctx.processName)}</span>
</header>
${ctx.error ? `<p class="flash" role="alert">${escapeHtml(ctx.error)}</p>` : ''}
${ctx.notice ? `<p class="flash notice" role="status">${escapeHtml(ctx.notice)}</p>` : ''}
${body}
<script type="module" src="${ctx.assetUrl('app.js')}"></script>
</body>
</html>`;
}

export function signedOutPage(ctx: PageContext): string {
  const form = (action: string, title: string, button: string, autocomplete: string) => `
  <form class="card" method="post" action="${action}" id="${action.slice(1)}">
    <h2>${title}</h2>
    <label>Email <input type="email" name="email" required autocomplete="email"></label>
    <label>Password <input type="password" name="password" required minlength="8" autocomplete="${autocomplete}"></label>
    <button type="submit">${button}</button>
  </form>`;
  return layout(
    ctx,
    `<p>Digest a large file: its size, SHA-256, line count and, for CSV files, per-column statistics.
  Any request may land on any process; none of them keeps anything between requests.</p>
<div class="forms">
${form('/signin', 'Sign in', 'Sign in', 'current-password')}
${form('/signup', 'Create an account', 'Sign up', 'new-password')}
</div>`,
  );
}

export function homePage(ctx: PageContext): string {
  return layout(
    ctx,
    `<section class="card">
  <p>Signed in as <strong id="email">${escapeHtml(ctx.email ?? '')}</strong></p>
  <form method="post" action="/signout"><button class="secondary" id="signout">Sign out</button></form>
  <form method="post" action="/signout-everywhere"><button class="secondary" id="signout-everywhere">Sign out everywhere</button></form>
</section>
<section class="card">
  <h2>Digest a file from a URL</h2>
  <form method="post" action="/digests" id="submit-url">
    <label>URL <input type="url" name="url" required placeholder="https://example.com/data.csv"></label>
    <button type="submit">Digest</button>
  </form>
  <h2>…or upload one</h2>
  <form id="upload">
    <input type="file" name="file" required>
    <button type="submit">Upload and digest</button>
    <p id="upload-status" class="muted" role="status"></p>
  </form>
</section>
<h2>Your digests</h2>
<ul id="digests"></ul>`,
  );
}
