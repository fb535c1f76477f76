/** Bounds every window store keeps, so an item stays small whatever the traffic. */

/** Candidate extremes a min/max slot keeps before a new extreme replaces them. */
export const MAX_CANDIDATES = 16;
