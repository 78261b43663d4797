// Conformance: every field the simulator emits exists in the v3 discovery document's schemas.
// Reads ../shared/fixtures/google-real/discovery/calendar-v3.discovery.json in place (never copied).
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { googleCalendar, SimulatorClient } from '../../simulator/client.js';
import { startSimulator, type Simulator } from '../../simulator/index.js';
import { startWebhookListener, type WebhookListener } from '../../simulator/webhook-listener.js';

const DISCOVERY = resolve(
  process.cwd(),
  '../shared/fixtures/google-real/discovery/calendar-v3.discovery.json',
);

interface JsonSchema {
  $ref?: string;
  type?: string;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  additionalProperties?: JsonSchema;
}

/** Paths of fields present in `value` that `schema` does not declare. */
function unknownFields(
  value: unknown,
  schema: JsonSchema,
  schemas: Record<string, JsonSchema>,
  path = '',
): string[] {
  const s = schema.$ref ? schemas[schema.$ref]! : schema;
  if (Array.isArray(value))
    return value.flatMap((v, i) =>
      s.items ? unknownFields(v, s.items, schemas, `${path}[${i}]`) : [],
    );
  if (value === null || typeof value !== 'object') return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    const prop = s.properties?.[k] ?? s.additionalProperties;
    if (!prop) out.push(`${path}.${k}`);
    else out.push(...unknownFields(v, prop, schemas, `${path}.${k}`));
  }
  return out;
}

describe.skipIf(!existsSync(DISCOVERY))('responses match the discovery document', () => {
  let sim: Simulator;
  let hook: WebhookListener;
  let schemas: Record<string, JsonSchema>;

  beforeAll(async () => {
    schemas = (
      JSON.parse(readFileSync(DISCOVERY, 'utf8')) as { schemas: Record<string, JsonSchema> }
    ).schemas;
    sim = await startSimulator();
    hook = await startWebhookListener();
    await new SimulatorClient(sim.url).createUser('s@example.com', 'rt-s');
  });
  afterAll(async () => {
    await sim.close();
    await hook.close();
  });

  it('Event, Events, CalendarList, Calendar and Channel use only declared property names', async () => {
    const { calendar } = googleCalendar(sim.url, 'rt-s');
    const master = (
      await calendar.events.insert({
        calendarId: 'primary',
        requestBody: {
          summary: 's',
          description: 'd',
          location: 'l',
          attendees: [{ email: 'a@example.com' }, { email: 'b@example.com' }],
          extendedProperties: { private: { k: 'v' } },
          start: { dateTime: '2025-03-24T07:30:00-05:00', timeZone: 'America/Chicago' },
          end: { dateTime: '2025-03-24T08:15:00-05:00', timeZone: 'America/Chicago' },
          recurrence: ['RRULE:FREQ=DAILY;COUNT=3'],
        },
      })
    ).data;
    expect(unknownFields(master, { $ref: 'Event' }, schemas)).toEqual([]);
    await calendar.events.delete({
      calendarId: 'primary',
      eventId: `${master.id}_20250325T123000Z`,
    });
    const checks: [unknown, string][] = [
      [(await calendar.events.list({ calendarId: 'primary' })).data, 'Events'],
      [
        (await calendar.events.list({ calendarId: 'primary', singleEvents: true, maxAttendees: 1 }))
          .data,
        'Events',
      ],
      [
        (
          await calendar.events.list({
            calendarId: 'primary',
            showDeleted: true,
            singleEvents: true,
          })
        ).data,
        'Events',
      ],
      [
        (await calendar.events.instances({ calendarId: 'primary', eventId: master.id! })).data,
        'Events',
      ],
      [(await calendar.calendarList.list()).data, 'CalendarList'],
      [(await calendar.calendars.get({ calendarId: 'primary' })).data, 'Calendar'],
      [
        (
          await calendar.events.watch({
            calendarId: 'primary',
            requestBody: { id: 'c1', type: 'web_hook', address: hook.url, token: 't' },
          })
        ).data,
        'Channel',
      ],
    ];
    for (const [value, name] of checks)
      expect(unknownFields(value, { $ref: name }, schemas), name).toEqual([]);
    const withAttendees = checks[1]![0] as {
      items: { attendees?: unknown[]; attendeesOmitted?: boolean }[];
    };
    expect(withAttendees.items[0]!.attendees).toHaveLength(1);
    expect(withAttendees.items[0]!.attendeesOmitted).toBe(true);
  });

  it('the realism additions too: AclRule, Acl, a patched Calendar, an imported Event, busy blocks, a `_R` split', async () => {
    const ctl = new SimulatorClient(sim.url);
    await ctl.createUser('s2@example.com', 'rt-s2');
    const { calendar } = googleCalendar(sim.url, 'rt-s');
    const checks: [unknown, string][] = [
      [
        (
          await calendar.acl.insert({
            calendarId: 'primary',
            requestBody: {
              role: 'freeBusyReader',
              scope: { type: 'user', value: 's2@example.com' },
            },
          })
        ).data,
        'AclRule',
      ],
      [(await calendar.acl.list({ calendarId: 'primary' })).data, 'Acl'],
      [
        (await calendar.calendars.patch({ calendarId: 'primary', requestBody: { summary: 'p' } }))
          .data,
        'Calendar',
      ],
      [
        (
          await calendar.events.import({
            calendarId: 'primary',
            requestBody: {
              iCalUID: 'x@example.org',
              start: { date: '2025-05-01' },
              end: { date: '2025-05-02' },
            },
          })
        ).data,
        'Event',
      ],
    ];
    const { data: series } = await calendar.events.insert({
      calendarId: 'primary',
      requestBody: {
        start: { dateTime: '2025-03-24T07:30:00-05:00', timeZone: 'America/Chicago' },
        end: { dateTime: '2025-03-24T08:15:00-05:00', timeZone: 'America/Chicago' },
        recurrence: ['RRULE:FREQ=DAILY;COUNT=5'],
      },
    });
    await ctl.splitSeries('s@example.com', series.id!, `${series.id}_20250326T123000Z`);
    await ctl.setRealism({ preset: 'google' });
    const other = googleCalendar(sim.url, 'rt-s2').calendar;
    for (const params of [{}, { singleEvents: true }]) {
      let pageToken: string | undefined;
      do {
        const page = (await calendar.events.list({ calendarId: 'primary', pageToken, ...params }))
          .data;
        checks.push([page, 'Events']);
        pageToken = page.nextPageToken ?? undefined;
      } while (pageToken);
      checks.push([
        (await other.events.list({ calendarId: 's@example.com', ...params, maxResults: 2500 }))
          .data,
        'Events',
      ]);
    }
    await ctl.setRealism({ preset: 'off' });
    for (const [value, name] of checks)
      expect(unknownFields(value, { $ref: name }, schemas), name).toEqual([]);
  });
});
