import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellCommand } from './shell.js';

describe('shellCommand', () => {
  it('execs a simple command line, keeping expansions and quotes for the shell', () => {
    expect(shellCommand('node server.js --port $PORT')).toEqual({
      script: 'exec node server.js --port $PORT',
      exec: true,
    });
    expect(shellCommand("node -e 'x' 2>&1 # note").script).toBe("exec node -e 'x' 2>&1 # note");
    expect(shellCommand('NODE_ENV=production A=1 node a.js').script).toBe(
      'NODE_ENV=production A=1 exec node a.js',
    );
    expect(shellCommand('exec node a.js')).toEqual({ script: 'exec node a.js', exec: true });
  });

  it('keeps the wrapper for lists, pipes, background jobs, subshells, keywords and builtins', () => {
    for (const command of [
      'npm run migrate && node a.js',
      'node a.js | tee log',
      'sleep 600 & wait',
      "trap '' TERM; sleep 1",
      'node $(which app)',
      'cd app',
      'if true',
      'A="x y" node a.js',
      'ulimit -n 4096',
    ]) {
      expect(shellCommand(command), command).toEqual({ script: command, exec: false });
    }
  });

  it('what it builds runs in sh with the same meaning', () => {
    const script = shellCommand('A=1 B="$A" printf "%s-%s" "$A" $B').script;
    expect(script).toBe('A=1 B="$A" printf "%s-%s" "$A" $B');
    const out = execFileSync('/bin/sh', ['-c', shellCommand('A=1 printenv A').script]);
    expect(out.toString()).toBe('1\n');
  });
});
