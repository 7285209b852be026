/**
 * The labelled query set: realistic ways customers write a company, each with the entity it means (or
 * `null` for negatives). Built from the registry generator's ground truth, in the same pass.
 */
import anyAscii from 'any-ascii';
import { countryAlpha2, resolveCountry } from '../engine/countries.js';
import type { CompanyRequest } from '../engine/query.js';
import { type IdentifierType, legalFormTable } from '../engine/reference-tables.js';
import { composeName, type GeneratedEntity, type RegistryGenerator } from './generate-registry.js';
import { Random } from './random.js';

/** Categories whose target is "the exact band, on the right entity". */
export const exactCategories = [
  'exact',
  'case_punctuation',
  'legal_form',
  'diacritics',
  'english_name',
  'identifier',
] as const;
/** Categories whose target is "the right entity first". */
export const rankingCategories = [
  'sibling',
  'typo',
  'abbreviation',
  'word_order',
  'noise',
  'transliteration',
] as const;
/** Categories with no right entity: the target is "no exact match". */
export const negativeCategories = ['near_miss', 'wrong_country', 'unknown'] as const;
export const queryCategories = [...exactCategories, ...rankingCategories, ...negativeCategories] as const;
export type QueryCategory = (typeof queryCategories)[number];

export interface LabelledQuery extends CompanyRequest {
  label: { category: QueryCategory; expected_ce_id: string | null };
}

const abbreviations: [RegExp, string][] = [
  [/\bInternational\b/, 'Intl'],
  [/\bManufacturing\b/, 'Mfg'],
  [/\bServices\b/, 'Svcs'],
  [/\bGroup\b/, 'Grp'],
  [/\bTechnologies\b/, 'Tech'],
  [/\bEngineering\b/, 'Eng'],
  [/\bSystems\b/, 'Sys'],
  [/\bIndustries\b/, 'Inds'],
  [/\bHoldings\b/, 'Hldgs'],
  [/\bChemicals\b/, 'Chem'],
  [/\bPharma\b/, 'Pharm'],
  [/\bLaboratories\b/, 'Labs'],
];

/** A second romanization of Cyrillic and Greek, unlike any-ascii's, as another registry might write it. */
const alternativeRomanization: Record<string, string> = {
  а: 'a',
  б: 'b',
  в: 'v',
  г: 'g',
  д: 'd',
  е: 'e',
  ё: 'jo',
  ж: 'zh',
  з: 'z',
  и: 'i',
  й: 'j',
  к: 'k',
  л: 'l',
  м: 'm',
  н: 'n',
  о: 'o',
  п: 'p',
  р: 'r',
  с: 's',
  т: 't',
  у: 'u',
  ф: 'f',
  х: 'h',
  ц: 'c',
  ч: 'ch',
  ш: 'sh',
  щ: 'sch',
  ъ: '',
  ы: 'y',
  ь: '',
  э: 'e',
  ю: 'ju',
  я: 'ja',
  і: 'i',
  ї: 'ji',
  є: 'je',
  ґ: 'g',
  α: 'a',
  ά: 'a',
  β: 'b',
  γ: 'g',
  δ: 'd',
  ε: 'e',
  έ: 'e',
  ζ: 'z',
  η: 'e',
  ή: 'e',
  θ: 'th',
  ι: 'i',
  ί: 'i',
  ϊ: 'i',
  κ: 'k',
  λ: 'l',
  μ: 'm',
  ν: 'n',
  ξ: 'x',
  ο: 'o',
  ό: 'o',
  π: 'p',
  ρ: 'r',
  σ: 's',
  ς: 's',
  τ: 't',
  υ: 'y',
  ύ: 'y',
  φ: 'ph',
  χ: 'ch',
  ψ: 'ps',
  ω: 'o',
  ώ: 'o',
};

function romanizeAlternatively(word: string): string {
  let out = '';
  for (const character of word) {
    const lower = character.toLowerCase();
    const mapped = alternativeRomanization[lower] ?? anyAscii(character);
    out += lower === character ? mapped : mapped.charAt(0).toUpperCase() + mapped.slice(1);
  }
  return out;
}

function germanExpansion(text: string): string {
  return text
    .replace(/ä/g, 'ae')
    .replace(/ö/g, 'oe')
    .replace(/ü/g, 'ue')
    .replace(/Ä/g, 'Ae')
    .replace(/Ö/g, 'Oe')
    .replace(/Ü/g, 'Ue')
    .replace(/ß/g, 'ss');
}

/** One typo in a word: a deletion, insertion, substitution or swap of two adjacent letters. */
export function typo(random: Random, word: string): string {
  const letters = [...word];
  const at = random.int(1, letters.length - 2);
  const letter = String.fromCharCode(97 + random.int(0, 25));
  switch (random.int(0, 3)) {
    case 0:
      letters.splice(at, 1);
      break;
    case 1:
      letters.splice(at, 0, letter);
      break;
    case 2:
      letters[at] = letters[at] === letter ? 'x' : letter;
      break;
    default: {
      const next = letters[at + 1] ?? letters[at - 1] ?? '';
      if (next === letters[at]) letters[at] = letter;
      else [letters[at], letters[at + 1]] = [next, letters[at] as string];
    }
  }
  return letters.join('');
}

function otherLegalFormVariant(random: Random, legalForm: string): string | undefined {
  const entry = legalFormTable().find((form) => form.variants.includes(legalForm));
  const others =
    entry?.variants.filter((variant) => variant !== legalForm && /^[\u0020-\u024f]*$/.test(variant)) ?? [];
  return others.length > 0 ? random.pick(others) : undefined;
}

function formatIdentifierVariant(random: Random, value: string, alpha2: string): string {
  const compact = value.replace(/[^A-Za-z0-9]/g, '');
  switch (random.int(0, 3)) {
    case 0:
      return compact.toLowerCase();
    case 1:
      return compact.replace(/(.{3})/g, '$1 ').trim();
    case 2:
      // People add the country prefix to a bare number (123456789 → DE123456789), never before letters.
      return /^[0-9]/.test(compact) ? `${alpha2}${compact}` : compact;
    default:
      return value;
  }
}

/** How much more often an entity that can carry a rare category is sampled. */
const rareBoost = 6;

/**
 * Draws labelled queries while the registry is generated. Call {@link offer} for each generated entity and
 * {@link finish} once the registry is complete (negatives are checked against the whole registry then).
 */
export class QuerySampler {
  readonly #random: Random;
  readonly #queries: LabelledQuery[] = [];
  readonly #pendingChecks: { query: LabelledQuery; alpha2: string }[] = [];
  readonly #probability: number;
  readonly #perCategory = new Map<QueryCategory, number>();

  constructor(
    private readonly registry: RegistryGenerator,
    options: { count: number; registryCount: number; seed: number | string },
  ) {
    this.#random = new Random(`${options.seed}:queries`);
    this.#probability = Math.min(1, (options.count * 1.3) / Math.max(1, options.registryCount));
  }

  offer(generated: GeneratedEntity): void {
    const random = this.#random;
    // Entities that can carry a rare category (English names, transliteration, diacritics) are sampled
    // more often, so every category gets enough queries to measure even in a small registry.
    const rare =
      generated.localWords !== undefined || !/^[\x20-\x7e]*$/.test(generated.entity.certified_entity_name);
    if (!random.chance(rare ? Math.min(1, this.#probability * rareBoost) : this.#probability)) return;
    // The least-filled category this entity can express, so categories stay balanced.
    const order = [...queryCategories].sort(
      (a, b) => (this.#perCategory.get(a) ?? 0) - (this.#perCategory.get(b) ?? 0) || random.next() - 0.5,
    );
    for (const category of order) {
      const query = this.#make(category, generated);
      if (!query) continue;
      this.#perCategory.set(category, (this.#perCategory.get(category) ?? 0) + 1);
      // Negatives, and variants that could coincide with another entity's name (a reordered or misspelt name
      // can be a real company too), are checked against the whole registry once it is complete.
      if (query.label.expected_ce_id === null || category === 'word_order' || category === 'typo') {
        const alpha2 = countryAlpha2(resolveCountry(query.company_country)) ?? '';
        this.#pendingChecks.push({ query, alpha2 });
      } else this.#queries.push(query);
      return;
    }
  }

  finish(count: number): LabelledQuery[] {
    for (const { query, alpha2 } of this.#pendingChecks) {
      if (query.company_name && !this.registry.hasName(alpha2, query.company_name)) this.#queries.push(query);
    }
    // Shuffle deterministically so categories interleave like a real file, then cut to the requested size.
    const queries = this.#queries;
    for (let i = queries.length - 1; i > 0; i--) {
      const j = this.#random.int(0, i);
      [queries[i], queries[j]] = [queries[j] as LabelledQuery, queries[i] as LabelledQuery];
    }
    return queries.slice(0, count);
  }

  #make(category: QueryCategory, generated: GeneratedEntity): LabelledQuery | undefined {
    const random = this.#random;
    const { entity, countryEntry: country } = generated;
    const name = entity.certified_entity_name;
    const expected = entity.ce_id;
    const ask = (
      company_name: string | null,
      expected_ce_id: string | null,
      extra: Partial<CompanyRequest> = {},
    ): LabelledQuery => ({
      company_name,
      company_country: random.pick([country.alpha2, country.alpha2, country.alpha3, country.name]),
      // Loose answers are returned for review at 30, so "right entity first" is measurable for every category.
      match_rate: 30,
      ...extra,
      label: { category, expected_ce_id },
    });
    const latin = country.script !== 'cyrillic' && country.script !== 'greek';
    switch (category) {
      case 'exact':
        return ask(name, expected);
      case 'case_punctuation': {
        const variants = [
          name.toUpperCase(),
          name.toLowerCase(),
          name.replace(/\./g, ''),
          name.replace(/ /, ' - '),
          name.replace(/ (\S+)$/, ', $1'),
          `  ${name.replace(/ /g, '  ')} `,
        ];
        return ask(random.pick(variants), expected);
      }
      case 'legal_form': {
        const other = otherLegalFormVariant(random, generated.legalForm);
        if (other) return ask(composeName(generated.coreWords, other), expected);
        if (this.registry.hasLegalFormTwin(country.alpha2, name)) return undefined;
        return ask(generated.coreWords.join(' '), expected);
      }
      case 'diacritics': {
        if (!latin || /^[\x20-\x7e]*$/.test(name)) return undefined;
        return ask(random.chance(0.5) ? anyAscii(name) : germanExpansion(name), expected);
      }
      case 'english_name':
        return entity.certified_entity_english_name && entity.certified_entity_english_name !== name
          ? ask(entity.certified_entity_english_name, expected)
          : undefined;
      case 'identifier': {
        const identifiers = Object.entries(entity.company_identifiers ?? {}).filter(
          ([, value]) => typeof value === 'string',
        );
        if (identifiers.length === 0) return undefined;
        const [type, value] = random.pick(identifiers) as [IdentifierType, string];
        return ask(random.chance(0.5) ? name : null, expected, {
          company_identifiers: { [type]: formatIdentifierVariant(random, value, country.alpha2) },
        });
      }
      case 'sibling':
        return generated.role === 'base' ? undefined : ask(name, expected);
      case 'typo': {
        const words = generated.coreWords.filter((word) => word.length >= 5 && latin);
        if (words.length === 0) return undefined;
        const word = random.pick(words);
        return ask(name.replace(word, typo(random, word)), expected);
      }
      case 'abbreviation': {
        const usable = abbreviations.filter(([pattern]) => pattern.test(name));
        if (usable.length === 0) return undefined;
        const [pattern, short] = random.pick(usable);
        return ask(name.replace(pattern, short), expected);
      }
      case 'word_order': {
        if (generated.coreWords.length < 2) return undefined;
        const words = [...generated.coreWords];
        const i = random.int(0, words.length - 2);
        [words[i], words[i + 1]] = [words[i + 1] as string, words[i] as string];
        return ask(composeName(words, generated.legalForm), expected);
      }
      case 'noise': {
        const qualifier = random.pick([country.alpha2, country.name, country.alpha3]);
        return ask(random.chance(0.5) ? `The ${name} (${qualifier})` : `${name} (${qualifier})`, expected);
      }
      case 'transliteration': {
        if (!generated.localWords) return undefined;
        const romanized = generated.localWords.map(romanizeAlternatively);
        const form = random.chance(0.5) ? generated.legalForm : '';
        return ask(composeName(romanized, anyAscii(form)), expected);
      }
      case 'near_miss':
        return this.#nearMiss(generated, ask);
      case 'wrong_country': {
        const other = random.pick(
          ['FR', 'DE', 'US', 'GB', 'IT', 'ES', 'NL', 'SE'].filter((c) => c !== country.alpha2),
        );
        return { ...ask(name, null), company_country: other };
      }
      case 'unknown': {
        const coined = `${String.fromCharCode(65 + random.int(0, 25))}${random.alphanumeric(6).toLowerCase().replace(/[0-9]/g, 'e')}`;
        return ask(
          `${coined} ${random.pick(['Fabrication', 'Trading', 'Works', 'Studio', 'Supplies'])} ${random.pick(country.legalForms)}`,
          null,
        );
      }
    }
  }

  #nearMiss(
    generated: GeneratedEntity,
    ask: (name: string, expected: null) => LabelledQuery,
  ): LabelledQuery | undefined {
    const random = this.#random;
    const words = generated.coreWords;
    const kind = random.int(0, 2);
    let changed: string[];
    if (kind === 0) changed = [...words, random.pick(['5', '7', 'IX', '12'])];
    else if (kind === 1)
      changed = [...words.slice(0, -1), random.pick(['Glass', 'Dairy', 'Tobacco', 'Mining', 'Printing'])];
    else changed = [...words, random.pick(['Nordwerk', 'Castellan', 'Brightwater', 'Ostrander'])];
    if (changed.length === 1 && kind === 1) return undefined;
    return ask(composeName(changed, generated.legalForm), null);
  }
}
