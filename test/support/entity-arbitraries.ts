import fc from 'fast-check';

/**
 * Names and other texts an entity line may carry, for property tests of how lines are read: a few with
 * diacritics, Cyrillic, quotes and backslashes (escaped in JSON), blanks, and arbitrary strings of any code
 * unit.
 */
export const entityText = fc.oneof(
  fc.constantFrom(
    'Müller Gas GmbH',
    'ООО Сибирские Технологии',
    'A "quoted" \\ name',
    'Tanbro S.A.',
    ' ',
    '',
  ),
  fc.string({ maxLength: 20, unit: 'binary' }),
);
