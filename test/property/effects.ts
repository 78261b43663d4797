// Fault classes of the property test and their tally: how often each was drawn and how often it really took effect.

/** Every class the soak expects to see take effect (a class that never does fails the soak). */
export const FAULT_CLASSES = [
  // Pub/Sub
  'deliverConcurrently',
  'deliverBackground',
  /** Two workers' deliveries for one calendar overlapped in time (latency per call). */
  'overlap',
  'lose',
  'duplicate',
  'delay',
  'reorder',
  // Google
  'expireTokens',
  'expireMidPaging',
  'accessTokenExpiry',
  'apiErrors:403',
  'apiErrors:429',
  'apiErrors:500',
  'apiErrors:503',
  'permanent:forbidden',
  'permanent:insufficientPermissions',
  'permanent:badRequest',
  'lift',
  'googleDrops',
  'visibilityLag',
  'notExists:spurious',
  'notExists:real',
  'oversize',
  'setTimeZone',
  // Workers and time
  'crash',
  'kill',
  'stall:incremental',
  'stall:full',
  'stall:write',
  'stall:publish',
  'notifyBeforeStore',
  'leaseExpiry',
  'renewal',
  'renewal:pastExpiry',
  'stragglers',
] as const;

/** Consequences counted beside the faults (not required: a correct product may never dead-letter). */
export const CONSEQUENCES = ['redelivery', 'deadLetter'] as const;

export type FaultClass = (typeof FAULT_CLASSES)[number] | (typeof CONSEQUENCES)[number];

export class Effects {
  readonly drawn = new Map<FaultClass, number>();
  readonly effective = new Map<FaultClass, number>();

  draw(c: FaultClass): void {
    this.drawn.set(c, (this.drawn.get(c) ?? 0) + 1);
  }

  hit(c: FaultClass, n = 1): void {
    if (n > 0) this.effective.set(c, (this.effective.get(c) ?? 0) + n);
  }

  count(c: FaultClass): number {
    return this.effective.get(c) ?? 0;
  }

  /** Faults that took effect, in total (consequences not included). */
  get total(): number {
    return FAULT_CLASSES.reduce((n, c) => n + this.count(c), 0);
  }

  add(other: Effects): void {
    for (const [c, n] of other.drawn) this.drawn.set(c, (this.drawn.get(c) ?? 0) + n);
    for (const [c, n] of other.effective) this.effective.set(c, (this.effective.get(c) ?? 0) + n);
  }

  /** Classes that never took effect. */
  missing(): FaultClass[] {
    return FAULT_CLASSES.filter((c) => this.count(c) === 0);
  }

  /** Classes that took effect exactly once (issue 13 asks for more than once each). */
  rare(): FaultClass[] {
    return FAULT_CLASSES.filter((c) => this.count(c) === 1);
  }

  /** One line per class: effective / drawn (then the consequences). */
  table(): string {
    const all = [...FAULT_CLASSES, ...CONSEQUENCES];
    const width = Math.max(...all.map((c) => c.length));
    return all
      .map((c) => {
        const drawn = this.drawn.get(c);
        return `  ${c.padEnd(width)}  ${String(this.count(c)).padStart(6)} effective${
          drawn !== undefined ? ` / ${drawn} drawn` : ''
        }`;
      })
      .join('\n');
  }
}
