import { describe, expect, it } from 'vitest';
import { argvFor, commandForm, literalPort, PORT_MARK } from './command.js';

describe('commandForm', () => {
  it('plain words become an argument vector, $PORT (either spelling) a placeholder', () => {
    expect(commandForm('node build/web.js')).toEqual({
      kind: 'exec',
      argv: ['node', 'build/web.js'],
    });
    expect(commandForm('gunicorn --bind :$PORT app:wsgi  ')).toEqual({
      kind: 'exec',
      argv: ['gunicorn', '--bind', `:${PORT_MARK}`, 'app:wsgi'],
    });
    expect(commandForm('rails s -p $' + '{PORT}').kind).toBe('exec');
    // $PORTAL is another variable.
    expect(commandForm('x $PORTAL').kind).toBe('shell');
  });

  it('variables, quotes and assignments need a shell; exec goes after NAME=value words', () => {
    expect(commandForm('sidekiq -e $RAILS_ENV')).toEqual({
      kind: 'shell',
      script: 'sidekiq -e $RAILS_ENV',
      execScript: 'exec sidekiq -e $RAILS_ENV',
    });
    expect(commandForm('A=1 B=2 rails db:migrate')).toMatchObject({
      execScript: 'A=1 B=2 exec rails db:migrate',
    });
  });

  it('no exec where it would change what runs', () => {
    for (const script of ['a && b', 'a; b', 'a | b', 'a > log', '(a)', 'echo `date`', 'x $(y)']) {
      expect(commandForm(script)).toEqual({ kind: 'shell', script, execScript: undefined });
    }
    expect(commandForm('A="x y" cmd')).toMatchObject({ execScript: undefined });
  });
});

describe('argvFor', () => {
  it('fills the port in, or wraps the script in /bin/sh -c', () => {
    expect(argvFor(commandForm('node web.js -p $PORT'), literalPort(5000))).toEqual([
      'node',
      'web.js',
      '-p',
      '5000',
    ]);
    expect(argvFor(commandForm('a && b'), literalPort(5000))).toEqual(['/bin/sh', '-c', 'a && b']);
    expect(argvFor(commandForm('run $X'), literalPort(5000))).toEqual([
      '/bin/sh',
      '-c',
      'exec run $X',
    ]);
  });
});
