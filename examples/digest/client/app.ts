// Browser side of the digest example: streams uploads and keeps the list of digests live by
// polling /api/digests (any web process can answer: progress lives in the database).

interface ColumnStats {
  name: string;
  count: number;
  empty: number;
  numeric?: { min: number; max: number; mean: number };
  distinctEstimate: number;
}

interface Digest {
  id: number;
  name: string;
  source: 'url' | 'upload';
  status: 'queued' | 'running' | 'done' | 'failed';
  phase: string | null;
  progress: number | null;
  error: string | null;
  attempts: number;
  result: {
    size: number;
    sha256: string;
    lines: number;
    csv?: { rows: number; columns: ColumnStats[] };
  } | null;
}

const list = document.querySelector<HTMLElement>('#digests');

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

function render(digests: Digest[]): void {
  if (!list) return;
  if (digests.length === 0) {
    list.replaceChildren(el('p', { class: 'muted' }, 'Nothing digested yet.'));
    return;
  }
  list.replaceChildren(
    ...digests.map((d) => {
      const item = el('li', {
        class: `digest ${d.status}`,
        'data-id': String(d.id),
        'data-status': d.status,
      });
      item.append(el('div', { class: 'name' }, d.name), el('span', { class: 'status' }, d.status));
      if (d.status === 'running' || d.status === 'queued') {
        const bar = el('progress', { max: '100' });
        if (d.progress !== null) bar.value = Math.round(d.progress * 100);
        item.append(el('div', { class: 'phase' }, d.phase ?? 'waiting for a worker'), bar);
      }
      if (d.error) item.append(el('p', { class: 'error' }, d.error));
      if (d.result) {
        const r = d.result;
        item.append(
          el(
            'dl',
            {},
            el('dt', {}, 'Size'),
            el('dd', { class: 'size' }, `${formatBytes(r.size)} (${r.size} bytes)`),
            el('dt', {}, 'SHA-256'),
            el('dd', { class: 'sha256' }, r.sha256),
            el('dt', {}, 'Lines'),
            el('dd', { class: 'lines' }, String(r.lines)),
          ),
        );
        if (r.csv) {
          const head = el(
            'tr',
            {},
            ...['Column', 'Count', 'Empty', 'Min', 'Max', 'Mean', 'Distinct ≈'].map((h) =>
              el('th', {}, h),
            ),
          );
          const rows = r.csv.columns.map((c) =>
            el(
              'tr',
              { 'data-column': c.name },
              el('td', {}, c.name),
              el('td', {}, String(c.count)),
              el('td', {}, String(c.empty)),
              el('td', {}, c.numeric ? String(c.numeric.min) : ''),
              el('td', {}, c.numeric ? String(c.numeric.max) : ''),
              el('td', {}, c.numeric ? c.numeric.mean.toFixed(2) : ''),
              el('td', {}, String(c.distinctEstimate)),
            ),
          );
          item.append(
            el('table', { class: 'csv' }, el('caption', {}, `${r.csv.rows} rows`), head, ...rows),
          );
        }
      }
      return item;
    }),
  );
}

async function refresh(): Promise<void> {
  try {
    const res = await fetch('/api/digests', { headers: { accept: 'application/json' } });
    if (res.status === 401) {
      location.href = '/';
      return;
    }
    if (res.ok) render((await res.json()) as Digest[]);
  } catch {
    // A web process restarting: the next poll lands on another one.
  }
}

const upload = document.querySelector<HTMLFormElement>('#upload');
upload?.addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = upload.querySelector<HTMLInputElement>('input[type=file]');
  const file = input?.files?.[0];
  const status = document.querySelector<HTMLElement>('#upload-status');
  if (!file || !status) return;
  status.textContent = `Uploading ${file.name}…`;
  const res = await fetch(`/upload?name=${encodeURIComponent(file.name)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: file,
  });
  const body = (await res.json().catch(() => ({}))) as { error?: string };
  status.textContent = res.ok
    ? `Digested ${file.name}.`
    : (body.error ?? `Upload failed (${res.status}).`);
  upload.reset();
  await refresh();
});

if (list) {
  void refresh();
  setInterval(refresh, 700);
}
