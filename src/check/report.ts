/**
 * The readable report of `drove check` (the JSON one is the {@link CheckReport} itself).
 * @module
 */
import type { RequestView } from './findings.js';
import type { CheckReport, RunSummary } from './index.js';

const describe = (r: RequestView) =>
  `${r.method} ${r.path} -> ${r.status ?? 'no answer'} (request ${r.seq}, served by ${r.instance ?? 'no instance'})`;

function run(label: string, s: RunSummary | undefined): string {
  if (!s) return `  ${label}: not run`;
  const restarts = s.restarts.length ? `, ${s.restarts.length} restarts` : '';
  return `  ${label}: ${s.passed ? 'passed' : `FAILED (exit ${s.exitCode})`}, ${s.requests.length} requests${restarts}`;
}

/** The report as text for a terminal or a CI log. */
export function formatReport(report: CheckReport): string {
  const { mode } = report;
  const lines: string[] = [];
  const how = [
    `${mode.instances} web instances`,
    'adversarial balancing',
    mode.restartEvery > 0
      ? `${mode.kill ? 'SIGKILL of a drained instance' : 'rolling restart'} every ${mode.restartEvery} requests`
      : 'no restarts',
    ...(mode.hosts ? ['one host per instance'] : []),
  ].join(', ');
  if (report.result === 'error') {
    lines.push(`drove check: could not run: ${report.reason ?? 'unknown reason'}`);
  } else if (report.result === 'stateless') {
    lines.push('drove check: no hidden state found: the tests pass alone and in the herd');
  } else {
    lines.push(
      'drove check: hidden state: the tests pass against one instance but fail in the herd',
    );
  }
  lines.push(run('alone (1 plain instance)', report.alone));
  if (report.result !== 'error' || report.herd) lines.push(run(`herd (${how})`, report.herd));
  for (const [i, f] of report.findings.entries()) {
    lines.push('', `finding ${i + 1} (${f.kind}): ${f.hint}`);
    if (f.step) lines.push(`  scenario step:    ${f.step.name}: ${f.step.reason}`);
    if (f.request) {
      const alone = f.bodyDiffers
        ? 'same status, another body than alone'
        : `alone it got ${f.aloneStatus ?? 'another status'}`;
      lines.push(`  failing request:  ${describe(f.request)}; ${alone}`);
    }
    if (f.previous) lines.push(`  client's previous: ${describe(f.previous)}`);
    else if (f.request) lines.push("  client's previous: none");
    lines.push(
      f.restartBefore
        ? `  restart before it: ${f.restartBefore.how === 'kill' ? 'SIGKILL' : 'rolling restart'} of ${f.restartBefore.instance} after request ${f.restartBefore.afterRequest}`
        : '  restart before it: none',
    );
  }
  const failed = report.herd && !report.herd.passed ? report.herd : report.alone;
  if (report.result !== 'stateless' && failed && failed.outputTail.length > 0) {
    lines.push('', 'test output (last lines):', ...failed.outputTail.map((l) => `  ${l}`));
  }
  if (report.logTail && report.logTail.length > 0) {
    lines.push(
      '',
      'formation log (last lines):',
      ...report.logTail.slice(-20).map((l) => `  ${l}`),
    );
  }
  if (report.result !== 'stateless')
    lines.push('', 'see docs/check.md, "Dynamic: drove check -- TEST_COMMAND"');
  return `${lines.join('\n')}\n`;
}
