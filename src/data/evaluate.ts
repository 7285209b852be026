/**
 * Accuracy of match results against the labelled query set, by category, with the targets:
 * exact categories must reach the exact band on the right entity, ranking categories must put the right
 * entity first, negatives must not be exactly matched; and exact precision overall.
 */
import type { CompanyMatch } from '../engine/index.js';
import {
  exactCategories,
  type LabelledQuery,
  negativeCategories,
  type QueryCategory,
  queryCategories,
  rankingCategories,
} from './generate-queries.js';

export interface CategoryAccuracy {
  category: QueryCategory;
  queries: number;
  /** Share meeting the category's goal (exact on the right entity / right first / not exact). */
  success: number;
  goal: string;
  target: number;
}

export interface AccuracyReport {
  categories: CategoryAccuracy[];
  exactResults: number;
  exactCorrect: number;
  /** Correct exact matches over all exact matches. */
  exactPrecision: number;
  /** Exact matches between siblings that differ by a numeral or an industry word. */
  siblingFalseExacts: number;
}

export class AccuracyTally {
  readonly #counts = new Map<QueryCategory, { queries: number; success: number }>();
  #exactResults = 0;
  #exactCorrect = 0;
  #siblingFalseExacts = 0;

  /** Records one query's best result (or none). Queries without a label are ignored. */
  add(query: Pick<LabelledQuery, 'label'> | undefined, best: CompanyMatch | undefined): void {
    const label = query?.label;
    if (!label || !(queryCategories as readonly string[]).includes(label.category)) return;
    const counts = this.#counts.get(label.category) ?? { queries: 0, success: 0 };
    counts.queries++;
    const right = best !== undefined && best.ce_id === label.expected_ce_id;
    const exact = best?.match_type === 'exactly_matched';
    let success: boolean;
    if ((exactCategories as readonly string[]).includes(label.category)) success = right && exact;
    else if ((rankingCategories as readonly string[]).includes(label.category)) success = right;
    else success = !exact;
    if (success) counts.success++;
    this.#counts.set(label.category, counts);
    if (exact) {
      this.#exactResults++;
      if (right) this.#exactCorrect++;
      else if (label.category === 'sibling' || label.category === 'near_miss') this.#siblingFalseExacts++;
    }
  }

  report(): AccuracyReport {
    const categories: CategoryAccuracy[] = [];
    for (const category of queryCategories) {
      const counts = this.#counts.get(category);
      if (!counts) continue;
      const isExact = (exactCategories as readonly string[]).includes(category);
      const isNegative = (negativeCategories as readonly string[]).includes(category);
      categories.push({
        category,
        queries: counts.queries,
        success: counts.success / counts.queries,
        goal: isExact ? 'exact, right entity' : isNegative ? 'not exact' : 'right entity first',
        target: isExact ? 0.98 : isNegative ? 0.99 : 0.95,
      });
    }
    return {
      categories,
      exactResults: this.#exactResults,
      exactCorrect: this.#exactCorrect,
      exactPrecision: this.#exactResults === 0 ? 1 : this.#exactCorrect / this.#exactResults,
      siblingFalseExacts: this.#siblingFalseExacts,
    };
  }
}

export function formatAccuracy(report: AccuracyReport): string {
  const rows = report.categories.map(
    (c) =>
      `  ${c.category.padEnd(18)} ${String(c.queries).padStart(6)}  ${(100 * c.success).toFixed(1).padStart(6)}%  ` +
      `${c.success >= c.target ? 'meets' : 'MISSES'} ${(100 * c.target).toFixed(0)}% (${c.goal})`,
  );
  return [
    '  category           queries  success  target',
    ...rows,
    `  exact precision: ${(100 * report.exactPrecision).toFixed(2)}% of ${report.exactResults} exact results ` +
      `(target 99.5%); false exacts between siblings: ${report.siblingFalseExacts}`,
  ].join('\n');
}
