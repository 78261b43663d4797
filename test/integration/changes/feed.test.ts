// The worker with the change feed and occurrences: a 410 diffing resync announces exactly the mirror's changes, occurrences match Google's expansion.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pubsubChangePublisher } from '../../../functions/changes/publisher.js';
import { windowFor } from '../../../functions/occurrences/pass.js';
import { paths } from '../../../functions/store/schema.js';
import { runSync } from '../../../functions/sync/engine.js';
import { emulatorsMissing } from '../../harness/env.js';
import { syncFixture } from '../sync/helpers.js';
import { createFeed, drain, type Feed } from './helpers.js';

const TZ = 'Europe/Berlin';

describe.skipIf(emulatorsMissing() !== '')('change feed and occurrences through the worker', () => {
  const f = syncFixture({ name: 'feed', simulator: { seed: 11 }, timeZone: TZ });
  let feed: Feed;

  beforeAll(async () => {
    feed = await createFeed(f.projectId, 'calendar-changes');
  });
  afterAll(() => feed.pubsub.close());

  const day = (offsetDays: number, hour: number) => {
    const d = new Date(Date.now() + offsetDays * 86_400_000);
    return `${d.toISOString().slice(0, 10)}T${String(hour).padStart(2, '0')}:00:00`;
  };
  const etagsOf = async () => new Map([...(await f.mirror())].map(([id, d]) => [id, d.etag]));

  /** Google's own expansion (singleEvents=true) over the occurrence window vs the occurrence docs. */
  async function expectOccurrencesMatchGoogle() {
    const w = windowFor(Date.now(), {});
    const google = new Map<string, string>();
    let pageToken: string | undefined;
    do {
      const { data } = await f.cal.events.list({
        calendarId: f.seeded.calendarId,
        singleEvents: true,
        timeMin: new Date(w.start).toISOString(),
        timeMax: new Date(w.end).toISOString(),
        maxResults: 2500,
        ...(pageToken ? { pageToken } : {}),
      });
      for (const e of data.items ?? []) {
        google.set(e.id!, new Date(e.start!.dateTime ?? e.start!.date!).toISOString());
      }
      pageToken = data.nextPageToken ?? undefined;
    } while (pageToken);
    const snap = await f.db.collection(paths.occurrences(f.seeded.uid, f.seeded.calendarId)).get();
    const ours = new Map(
      snap.docs.map((d) => [d.id, (d.get('startAt') as { toDate(): Date }).toDate().toISOString()]),
    );
    expect(Object.fromEntries([...ours].sort())).toEqual(Object.fromEntries([...google].sort()));
    return ours.size;
  }

  it('first sync announces every event created; a 410 resync announces exactly what changed', async () => {
    const singles = [];
    for (let i = 0; i < 6; i++) {
      singles.push(
        await f.insert({
          summary: `single ${i}`,
          start: { dateTime: day(3 + i, 9), timeZone: TZ },
          end: { dateTime: day(3 + i, 10), timeZone: TZ },
        }),
      );
    }
    const series = await f.insert({
      summary: 'weekly',
      start: { dateTime: day(1, 8), timeZone: TZ },
      end: { dateTime: day(1, 9), timeZone: TZ },
      recurrence: ['RRULE:FREQ=WEEKLY;COUNT=70'],
    });
    const publisher = pubsubChangePublisher(f.projectId, feed.topic);
    const d = f.deps({ changes: publisher });

    const first = await runSync(d, f.seeded.subscriptionId);
    expect(first).toMatchObject({ outcome: 'synced', full: true });
    const created = await drain(feed);
    expect(created.map((r) => r.message.change)).toEqual(Array(7).fill('created'));
    expect(new Set(created.map((r) => r.message.eventId))).toEqual(
      new Set([...singles.map((s) => s.id), series.id]),
    );
    expect(new Set(created.map((r) => r.orderingKey))).toEqual(
      new Set([`${f.seeded.uid}/${f.seeded.calendarId}`]),
    );
    expect(await expectOccurrencesMatchGoogle()).toBeGreaterThan(50);

    // Changes while the token is lost.
    const before = await etagsOf();
    const instances = await f.instances(series.id!);
    await f.rename([singles[0]!.id!], 'single 0, renamed');
    await f.remove([singles[1]!.id!]);
    const added = await f.insert({
      summary: 'new',
      start: { dateTime: day(20, 14), timeZone: TZ },
      end: { dateTime: day(20, 15), timeZone: TZ },
    });
    await f.patch(instances[2]!.id!, {
      summary: 'weekly, moved a day',
      start: { dateTime: day(16, 8), timeZone: TZ },
      end: { dateTime: day(16, 9), timeZone: TZ },
    });
    await f.remove([instances[3]!.id!]);
    await f.ctl.expireSyncTokens(f.seeded.calendarId);

    const res = await runSync(d, f.seeded.subscriptionId);
    expect(res).toMatchObject({ outcome: 'synced', full: true });
    const got = await drain(feed);
    await publisher.close();

    // The feed equals the mirror's own diff: nothing more (no flood), nothing less.
    const after = await etagsOf();
    const diff = new Map<string, string>();
    for (const [id, etag] of after) {
      if (!before.has(id)) diff.set(id, 'created');
      else if (before.get(id) !== etag) diff.set(id, 'updated');
    }
    for (const id of before.keys()) if (!after.has(id)) diff.set(id, 'deleted');
    const live = (await f.mirror()).get(instances[3]!.id!);
    if (live?.status === 'cancelled') diff.set(instances[3]!.id!, 'deleted'); // a tombstone
    const announced = new Map(got.map((r) => [r.message.eventId, r.message.change]));
    expect(got).toHaveLength(announced.size);
    expect(announced).toEqual(diff);
    expect(announced.get(singles[0]!.id!)).toBe('updated');
    expect(announced.get(singles[1]!.id!)).toBe('deleted');
    expect(announced.get(added.id!)).toBe('created');
    expect(announced.get(instances[2]!.id!)).toBe('created');
    expect(announced.get(instances[3]!.id!)).toBe('deleted');
    expect(got.length).toBeLessThanOrEqual(6); // + the master, if Google bumped it
    await expectOccurrencesMatchGoogle();
  });

  it('through the worker: one instance edited writes one occurrence, the series edited writes its window', async () => {
    const series = await f.insert({
      summary: 'weekly',
      start: { dateTime: day(1, 8), timeZone: TZ },
      end: { dateTime: day(1, 9), timeZone: TZ },
      recurrence: ['RRULE:FREQ=WEEKLY'],
    });
    const d = f.deps();
    const occurrenceWrites = () => {
      const line = d.lines.filter((l) => l.message === 'sync').at(-1)!;
      return [line.occurrenceWrites, line.occurrenceDeletes];
    };
    await runSync(d, f.seeded.subscriptionId);
    const inWindow = await expectOccurrencesMatchGoogle();
    expect(occurrenceWrites()).toEqual([inWindow, 0]);

    const instances = await f.instances(series.id!);
    await f.rename([instances[1]!.id!], 'weekly, this one only');
    // Google (and the simulator) bump the master's etag and `updated` too: the master is in the
    // delta, yet its instances' content did not change, so their documents are not rewritten.
    await runSync(d, f.seeded.subscriptionId);
    expect(occurrenceWrites()).toEqual([1, 0]);

    await f.rename([series.id!], 'weekly, renamed');
    await runSync(d, f.seeded.subscriptionId);
    // Every instance but the modified one (its own document did not change).
    expect(occurrenceWrites()).toEqual([inWindow - 1, 0]);
    await expectOccurrencesMatchGoogle();
    console.log(
      `[measure] occurrence writes through the worker: one instance edited → 1, weekly series edited → ${inWindow - 1} of ${inWindow}`,
    );
  });
});
