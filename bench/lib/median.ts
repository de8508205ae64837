/** The median of `values` (the mean of the middle two when their number is even). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The round whose `ratio` is the median (the upper one of an even count), so its other measurements go with the figure. */
export function medianRound<R>(rounds: R[], ratio: (round: R) => number): R {
  return [...rounds].sort((a, b) => ratio(a) - ratio(b))[rounds.length >> 1]!;
}
