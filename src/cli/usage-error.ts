/** A command line that cannot run as written; the runner prints the message and the command's usage. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Parses a positive integer option, or throws a {@link UsageError} naming the option. */
export function integerOption(
  value: string | undefined,
  name: string,
  usage: string,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got "${value}"`, usage);
  }
  return parsed;
}
