/** Which score changes a scoreChanged subscription delivers; every condition given must hold. */
export interface ScoreChangeFilter {
  crossesAbove?: number | null;
  crossesBelow?: number | null;
  minChange?: number | null;
  labelIn?: readonly string[] | null;
}

/** Whether a `score.changed` payload meets `filter`. A missing value (no score before, or removed) is below every threshold. */
export function matchesScoreChange(filter: ScoreChangeFilter, change: { value: number | null; previousValue: number | null; label: string | null }): boolean {
  const { value, previousValue: before, label } = change;
  if (filter.crossesAbove != null) {
    const t = filter.crossesAbove;
    if (!(value !== null && value >= t && (before === null || before < t))) return false;
  }
  if (filter.crossesBelow != null) {
    const t = filter.crossesBelow;
    if (!(before !== null && before >= t && (value === null || value < t))) return false;
  }
  if (filter.minChange != null) {
    if (value !== null && before !== null && Math.abs(value - before) < filter.minChange) return false;
  }
  if (filter.labelIn != null && !(label !== null && filter.labelIn.includes(label))) return false;
  return true;
}
