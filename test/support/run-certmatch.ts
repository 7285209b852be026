/** Runs the certmatch CLI in a child process, from source (default) or from the build, and never throws. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const projectRoot = new URL('../..', import.meta.url).pathname;
export const fromSource = ['--import', 'tsx', join(projectRoot, 'src/cli/main.ts')];
export const fromBuild = [join(projectRoot, 'bin/certmatch.js')];

export async function runCertmatch(
  args: string[],
  entry: string[] = fromSource,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...entry, ...args], { cwd: projectRoot });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
