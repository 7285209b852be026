/**
 * Where a worker module lives: TypeScript beside this file when running from source (tsx, vitest), which
 * needs tsx's loader inside the thread because its hooks do not reach worker threads; JavaScript in dist/.
 *
 * @internal
 */
export function workerLocation(baseName: string): { filename: string; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  return {
    filename: new URL(`./${baseName}${fromSource ? '.ts' : '.js'}`, import.meta.url).href,
    execArgv: fromSource ? ['--import', 'tsx'] : [],
  };
}
