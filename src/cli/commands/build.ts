import type { Command } from 'commander';

/** Placeholder until the feature lands; replaced by its owner. */
export function register(_program: Command): void {}
