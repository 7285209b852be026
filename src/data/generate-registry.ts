/**
 * A seeded generator of a registry that looks real: 53 countries with their own legal forms, local words
 * (with diacritics), Cyrillic and Greek names with English names, CJK entities certified under English names,
 * identifiers in each country's shape, 1–5 certificates with real standards and bodies, and families of
 * near-duplicates (numbered siblings, "X Engineering" beside "X Engineering Services", the same name in two
 * countries, Gas beside Oil). Every entity carries hidden ground truth for the labelled query set.
 */
import anyAscii from 'any-ascii';
import type { CertificateRecord, CertifiedEntityRecord } from '../engine/entity-record.js';
import { normalizeName } from '../engine/normalize.js';
import {
  type CertificationTable,
  type CountryEntry,
  certificationTable,
  countryTable,
  type IdentifierType,
} from '../engine/reference-tables.js';
import { Random } from './random.js';

export interface RegistryOptions {
  count: number;
  seed: number | string;
  /** Leave certificates out (benchmarks that only index names). Default true. */
  certificates?: boolean;
}

/** How an entity relates to the family it was generated in; ground truth for sibling and negative queries. */
export type FamilyRole = 'base' | 'numbered' | 'extended' | 'industry' | 'other_country' | 'other_legal_form';

export interface GeneratedEntity {
  entity: CertifiedEntityRecord;
  role: FamilyRole;
  /** The country's reference entry, for query generation. */
  countryEntry: CountryEntry;
  /** For Cyrillic and Greek entities: the local words, to romanize differently in transliteration queries. */
  localWords?: string[];
  /** The core words of the name (without legal form), in order. */
  coreWords: string[];
  legalForm: string;
}

/** Registry share by country: big manufacturing nations hold most certificates. */
const countryWeights: Record<string, number> = {
  CN: 14,
  IT: 8,
  DE: 7,
  JP: 6,
  ES: 5,
  GB: 5,
  US: 5,
  FR: 4,
  IN: 4,
  KR: 3,
  BR: 3,
  TR: 3,
  PL: 2,
  NL: 2,
};

const englishIndustry = [
  'Engineering',
  'Steel',
  'Plastics',
  'Packaging',
  'Logistics',
  'Electronics',
  'Machinery',
  'Chemicals',
  'Foods',
  'Construction',
  'Automotive',
  'Textiles',
  'Software',
  'Energy',
  'Medical',
  'Printing',
  'Marine',
  'Aerospace',
  'Castings',
  'Instruments',
  'Pharma',
  'Glass',
  'Timber',
  'Metal',
  'Security',
  'Cleaning',
  'Transport',
  'Gas',
  'Oil',
];
const englishTails = [
  'Services',
  'Systems',
  'Solutions',
  'Group',
  'Industries',
  'Technologies',
  'Holdings',
  'International',
  'Manufacturing',
  'Trading',
  'Partners',
];
const industrySwaps: [string, string][] = [
  ['Gas', 'Oil'],
  ['Steel', 'Aluminium'],
  ['Plastics', 'Rubber'],
  ['Foods', 'Beverages'],
  ['Software', 'Electronics'],
  ['Logistics', 'Construction'],
  ['Medical', 'Dental'],
  ['Glass', 'Paper'],
  ['Timber', 'Cement'],
  ['Marine', 'Aviation'],
];
const syllables = {
  latin: [
    'ka',
    'lo',
    'ver',
    'tan',
    'mar',
    'sil',
    'bro',
    'den',
    'rix',
    'vel',
    'nor',
    'sta',
    'pel',
    'gor',
    'lin',
    'tek',
    'ros',
    'mun',
    'dal',
    'fer',
    'cor',
    'vin',
    'bal',
    'sen',
    'tor',
    'lux',
    'qua',
    'zen',
    'hal',
    'mer',
    'pro',
    'vik',
    'ast',
    'ion',
    'ul',
    'em',
    'or',
    'an',
  ],
  cjk: [
    'zhong',
    'hua',
    'xin',
    'tai',
    'heng',
    'li',
    'jin',
    'long',
    'hong',
    'da',
    'sheng',
    'feng',
    'yuan',
    'kai',
    'tian',
    'bao',
    'rui',
    'ming',
    'shin',
    'kyo',
    'dae',
    'sung',
    'han',
    'won',
    'jun',
    'yama',
    'kawa',
    'hoku',
    'nan',
  ],
};
const cyrillicCoins = [
  'Ромашка',
  'Вектор',
  'Альфа',
  'Гранит',
  'Сфера',
  'Прогресс',
  'Восток',
  'Заря',
  'Меридиан',
  'Орион',
  'Темп',
  'Радуга',
  'Сокол',
  'Кедр',
  'Витязь',
  'Импульс',
  'Континент',
  'Титан',
  'Лидер',
  'Стандарт',
];
const greekCoins = [
  'Αλφα',
  'Δέλτα',
  'Ωμέγα',
  'Ήλιος',
  'Ποσειδών',
  'Αθηνά',
  'Ερμής',
  'Ίκαρος',
  'Ολυμπος',
  'Κένταυρος',
  'Ζέφυρος',
  'Νίκη',
];

/** Greek coins come with an English name written the way an English-speaking registrar would. */
function romanizeForEnglish(local: string): string {
  return anyAscii(local);
}

function coinedWord(random: Random, pool: readonly string[]): string {
  const parts = random.int(2, 3);
  let word = '';
  for (let i = 0; i < parts; i++) word += random.pick(pool);
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function titleCase(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function identifierFromShape(random: Random, shape: string): string {
  let value = '';
  for (const character of shape) {
    if (character === '#') value += String(random.int(0, 9));
    else if (character === '@') value += String.fromCharCode(65 + random.int(0, 25));
    else value += character;
  }
  return value;
}

interface NamePlan {
  coreWords: string[];
  legalForm: string;
  localWords?: string[];
  englishWords?: string[];
  englishLegalForm?: string;
}

function planLatinName(random: Random, country: CountryEntry): NamePlan {
  const brand = random.chance(0.55) ? coinedWord(random, syllables.latin) : random.pick(country.words);
  const words = [brand];
  if (random.chance(0.35)) words.push(random.pick(country.words));
  if (random.chance(0.7)) words.push(random.pick(englishIndustry));
  if (random.chance(0.3)) words.push(random.pick(englishTails));
  return { coreWords: dedupe(words), legalForm: random.pick(country.legalForms) };
}

function planCjkName(random: Random, country: CountryEntry): NamePlan {
  const words = [];
  if (random.chance(0.5)) words.push(random.pick(country.words));
  words.push(coinedWord(random, syllables.cjk));
  words.push(random.pick(country.words.slice(-10)));
  if (random.chance(0.3)) words.push(random.pick(englishIndustry));
  return { coreWords: dedupe(words), legalForm: random.pick(country.legalForms) };
}

function planLocalScriptName(random: Random, country: CountryEntry): NamePlan {
  const pairs = country.wordPairs ?? [];
  const formPair: [string, string] = random.pick(country.legalFormPairs ?? [['', '']]);
  const chosen = new Set<[string, string]>();
  const wanted = random.int(1, 3);
  while (chosen.size < wanted) chosen.add(random.pick(pairs));
  const local = [...chosen].map(([word]) => word);
  const english = [...chosen].map(([, word]) => word);
  if (random.chance(0.6)) {
    const coin = random.pick(country.script === 'cyrillic' ? cyrillicCoins : greekCoins);
    local.unshift(coin);
    english.unshift(romanizeForEnglish(coin));
  }
  return {
    coreWords: local,
    legalForm: formPair[0],
    localWords: local,
    englishWords: english,
    englishLegalForm: formPair[1],
  };
}

function dedupe(words: string[]): string[] {
  return [...new Set(words)];
}

/** Legal forms written before the name, as Russian, Ukrainian and Indonesian registries do. */
const prefixLegalForms = new Set(['ООО', 'АО', 'ПАО', 'ТОВ', 'ПрАТ', 'АТ', 'PT']);

/** Writes a name the way the registry stores it. */
export function composeName(words: readonly string[], legalForm: string): string {
  if (legalForm === '') return words.join(' ');
  return prefixLegalForms.has(legalForm)
    ? `${legalForm} ${words.join(' ')}`
    : `${words.join(' ')} ${legalForm}`;
}

class CertificateFactory {
  readonly #table: CertificationTable = certificationTable();
  constructor(private readonly random: Random) {}

  make(
    entity: CertifiedEntityRecord,
    country: CountryEntry,
    coreWords: readonly string[],
  ): CertificateRecord {
    const random = this.random;
    const table = this.#table;
    const standard = random.weighted(
      table.standards,
      table.standards.map((s) => s.weight),
    );
    const status = random.weighted(
      table.statuses.map(([s]) => s),
      table.statuses.map(([, w]) => w),
    );
    const original = new Date(Date.UTC(random.int(2005, 2024), random.int(0, 11), random.int(1, 28)));
    const issue = new Date(original.getTime() + random.int(0, 6) * 365 * 86_400_000);
    const expiry = new Date(issue.getTime() + 3 * 365 * 86_400_000);
    const sector = random.pick(table.sectors);
    const template = random.pick(table.scopeTemplates);
    const scope = template
      .replace('{product}', random.pick(table.scopeProducts))
      .replace('{service}', titleCase(random.pick(table.scopeServices)))
      .replace('{sector}', sector[0].toLowerCase());
    const address = entity.certified_entity_addresses?.[0];
    return {
      cert_id: `cert_${random.alphanumeric(24)}`,
      accreditation_bodies_name: country.accreditationBody,
      certification_bodies_name: random.pick(table.certificationBodies),
      certification_number: `${coreWords[0]?.slice(0, 3).toUpperCase() ?? 'CRT'}-${random.int(10000, 999999)}`,
      certification_status: status as CertificateRecord['certification_status'],
      certification_scope: scope,
      certification_standards_scheme: [
        {
          standard_name: standard.standard_name,
          scheme_name: standard.scheme_name,
          is_accredited_mla: random.chance(0.9),
        },
      ],
      certification_main_sites: address ? [{ ...address, scope }] : [],
      certification_additional_sites: [],
      certification_sectors: [{ sector_name: sector[0], sector_code: sector[1] }],
      certified_entities: [
        { ce_id: entity.ce_id, certified_entity_name: entity.certified_entity_name, country: entity.country },
      ],
      certification_original_issue_date: original.toISOString().slice(0, 10),
      certification_issue_date: issue.toISOString().slice(0, 10),
      certification_expiry_date: expiry.toISOString().slice(0, 10),
      updated_at: Math.floor(issue.getTime() / 1000),
    };
  }
}

export interface RegistryGenerator {
  /** The entities, deterministic for the seed. */
  entities: Generator<GeneratedEntity>;
  /** Whether the registry generated so far holds this name in this country (after normalization). */
  hasName(alpha2: string, name: string): boolean;
  /** Whether another entity in the country shares the name once legal forms are set aside. */
  hasLegalFormTwin(alpha2: string, name: string): boolean;
}

/**
 * Generates `count` entities, deterministic for a seed. Names are unique per country after normalization
 * (so a query that copies a name has exactly one right answer), except the legal-form twins a family makes on
 * purpose (Acme GmbH beside Acme AG), which differ only in their legal form.
 */
export function createRegistryGenerator(options: RegistryOptions): RegistryGenerator {
  const takenNames = new Set<string>();
  const twins = new Set<string>();
  const key = (alpha2: string, name: string) => `${alpha2}|${normalizeName(name, true).tokens.join('')}`;
  return {
    entities: generateRegistry(options, takenNames, twins),
    hasName: (alpha2, name) => takenNames.has(key(alpha2, name)),
    hasLegalFormTwin: (alpha2, name) => twins.has(key(alpha2, name)),
  };
}

/** The entities alone, for callers that need no ground truth. */
export function* registryEntities(options: RegistryOptions): Generator<CertifiedEntityRecord> {
  for (const generated of createRegistryGenerator(options).entities) yield generated.entity;
}

function* generateRegistry(
  options: RegistryOptions,
  taken: Set<string>,
  twins: Set<string>,
): Generator<GeneratedEntity> {
  const random = new Random(options.seed);
  const countries = countryTable();
  const weights = countries.map((country) => countryWeights[country.alpha2] ?? 1);
  const certificates = new CertificateFactory(random);
  const identifiersTaken = new Set<string>();
  let produced = 0;

  const nameKey = (name: string, alpha2: string) => {
    const normalized = normalizeName(name, true);
    return `${alpha2}|${normalized.tokens.join('')}`;
  };

  const makeEntity = (
    country: CountryEntry,
    plan: NamePlan,
    role: FamilyRole,
  ): GeneratedEntity | undefined => {
    const name = composeName(plan.coreWords, plan.legalForm);
    const key = nameKey(name, country.alpha2);
    if (taken.has(key) && role !== 'other_legal_form') return undefined;
    if (!taken.has(key) && role === 'other_legal_form') return undefined;
    if (role === 'other_legal_form') {
      if (twins.has(key)) return undefined;
      twins.add(key);
    }
    taken.add(key);
    const entity: CertifiedEntityRecord = {
      ce_id: `ce_${random.alphanumeric(24)}`,
      certified_entity_name: name,
      certified_entity_english_name: null,
      certified_entity_trading_name: null,
      country: country.alpha2,
      company_identifiers: {},
      certified_entity_addresses: [],
      updated_at: 1_700_000_000 + random.int(0, 60_000_000),
    };
    if (plan.englishWords) {
      const english = `${plan.englishWords.join(' ')} ${plan.englishLegalForm ?? ''}`.trim();
      entity.certified_entity_english_name = english;
      const englishKey = nameKey(english, country.alpha2);
      if (taken.has(englishKey)) entity.certified_entity_english_name = null;
      else taken.add(englishKey);
    } else if (country.script === 'cjk' && random.chance(0.15)) {
      entity.certified_entity_english_name = name;
    }
    if (random.chance(0.12) && plan.coreWords.length > 1) {
      const trading = plan.coreWords.slice(0, -1).join(' ');
      const tradingKey = nameKey(trading, country.alpha2);
      if (!taken.has(tradingKey)) {
        taken.add(tradingKey);
        entity.certified_entity_trading_name = trading;
      }
    }
    const identifiers: Partial<Record<IdentifierType, string>> = {};
    for (const [type, shape] of Object.entries(country.identifiers) as [IdentifierType, string][]) {
      if (!random.chance(0.85)) continue;
      for (let attempt = 0; attempt < 5; attempt++) {
        const value = identifierFromShape(random, shape);
        const identifierKey = `${type}|${country.alpha2}|${value.replace(/[^A-Z0-9]/gi, '').toUpperCase()}`;
        if (identifiersTaken.has(identifierKey)) continue;
        identifiersTaken.add(identifierKey);
        identifiers[type] = value;
        break;
      }
    }
    if (random.chance(0.35)) {
      const duns = identifierFromShape(random, '#########');
      if (!identifiersTaken.has(`duns|${duns}`)) {
        identifiersTaken.add(`duns|${duns}`);
        identifiers.duns_number = duns;
      }
    }
    entity.company_identifiers = identifiers;
    const city = random.pick(country.cities);
    const street = `${random.pick(country.words.length > 0 ? country.words : [city])} ${random.int(1, 250)}`;
    const postCode = String(random.int(10000, 99999));
    entity.certified_entity_addresses = [
      {
        street,
        city,
        state: '',
        post_code: postCode,
        full_address: `${street}, ${postCode} ${city}, ${country.name}`,
        country: country.name,
      },
    ];
    if (options.certificates !== false) {
      const count = random.int(1, 5);
      entity.certificates = Array.from({ length: count }, () =>
        certificates.make(entity, country, plan.coreWords),
      );
    }
    const generated: GeneratedEntity = {
      entity,
      role,
      countryEntry: country,
      coreWords: plan.coreWords,
      legalForm: plan.legalForm,
    };
    if (plan.localWords) generated.localWords = plan.localWords;
    return generated;
  };

  while (produced < options.count) {
    const country = random.weighted(countries, weights);
    const plan =
      country.script === 'latin'
        ? planLatinName(random, country)
        : country.script === 'cjk'
          ? planCjkName(random, country)
          : planLocalScriptName(random, country);
    const base = makeEntity(country, plan, 'base');
    if (!base) continue;
    produced++;
    yield base;
    if (!random.chance(0.12)) continue;
    for (const [sibling, role] of familyOf(random, plan, country, countries)) {
      if (produced >= options.count) break;
      const made = makeEntity(sibling.country, sibling.plan, role);
      if (!made) continue;
      // A shared (group) certificate covers the base and its sibling: stored once in the catalog.
      const shared = base.entity.certificates?.[0];
      if (shared && made.entity.certificates && random.chance(0.3)) {
        shared.certified_entities.push({
          ce_id: made.entity.ce_id,
          certified_entity_name: made.entity.certified_entity_name,
          country: made.entity.country,
        });
        made.entity.certificates[0] = shared;
      }
      produced++;
      yield made;
    }
  }
}

/** The same name with one more word, in every script the plan carries. */
function extendPlan(plan: NamePlan, word: string): NamePlan {
  const extended: NamePlan = { ...plan, coreWords: [...plan.coreWords, word] };
  if (plan.localWords) extended.localWords = [...plan.localWords, word];
  if (plan.englishWords) extended.englishWords = [...plan.englishWords, word];
  return extended;
}

function familyOf(
  random: Random,
  plan: NamePlan,
  country: CountryEntry,
  countries: readonly CountryEntry[],
): [{ plan: NamePlan; country: CountryEntry }, FamilyRole][] {
  const family: [{ plan: NamePlan; country: CountryEntry }, FamilyRole][] = [];
  const kind = random.int(0, 4);
  if (kind === 0) {
    const numerals = random.chance(0.5) ? ['II', 'III', 'IV'] : ['2', '3', '4'];
    for (const numeral of numerals.slice(0, random.int(1, 3))) {
      family.push([{ plan: extendPlan(plan, numeral), country }, 'numbered']);
    }
  } else if (kind === 1) {
    const tail = random.pick(['Services', 'Systems', 'Solutions', 'International']);
    family.push([{ plan: extendPlan(plan, tail), country }, 'extended']);
  } else if (kind === 2 && country.script !== 'cyrillic' && country.script !== 'greek') {
    const swap = random.pick(industrySwaps);
    const replaced = plan.coreWords.map((word) =>
      word === swap[0] ? swap[1] : word === swap[1] ? swap[0] : word,
    );
    const words =
      replaced.join() === plan.coreWords.join() ? [...plan.coreWords.slice(0, 1), swap[0]] : replaced;
    family.push([{ plan: { ...plan, coreWords: words }, country }, 'industry']);
  } else if (kind === 3 && country.script === 'latin') {
    const other = random.pick(countries.filter((c) => c.script === 'latin' && c.alpha2 !== country.alpha2));
    family.push([
      { plan: { ...plan, legalForm: random.pick(other.legalForms) }, country: other },
      'other_country',
    ]);
  } else if (country.script === 'latin') {
    // A twin differs in its kind of company (GmbH beside AG), not in how one form is spelt (Ltd. / Ltd).
    const code = normalizeName(`x ${plan.legalForm}`).legalForm;
    const other = country.legalForms.find((form) => normalizeName(`x ${form}`).legalForm !== code);
    if (other) family.push([{ plan: { ...plan, legalForm: other }, country }, 'other_legal_form']);
  }
  return family;
}
