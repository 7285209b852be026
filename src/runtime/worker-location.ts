/**
 * Where a worker module lives, given the `import.meta.url` of the module beside it: TypeScript when running
 * from source (tsx, vitest), which needs tsx's loader inside the thread because its hooks do not reach worker
 * threads; JavaScript in dist/. Piscina imports the module after the loader is active, so pools work from
 * both; a plain `new Worker` on a .ts entry does not.
 *
 * @internal
 */
export function workerLocation(
  baseName: string,
  besideModule: string,
): { filename: string; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  return {
    filename: new URL(`./${baseName}${fromSource ? '.ts' : '.js'}`, besideModule).href,
    execArgv: fromSource ? ['--import', 'tsx'] : [],
  };
}
