// The demo calendar of `npm start`: a few hundred events (recurring ones included) and the story's steps.
import type { calendar_v3 } from '@googleapis/calendar';

export interface Seeded {
  singles: number;
  series: number;
  standupId: string;
  lunchIds: string[];
}

const ZONE = 'Europe/Berlin';
const SUMMARIES = [
  'Design review',
  'Customer call',
  '1:1',
  'Planning',
  'Focus time',
  'Interview',
  'Retro',
  'Lunch',
];

function isoDay(offsetDays: number, hour: number, minute = 0): string {
  const d = new Date();
  d.setUTCHours(0, 0, 0, 0);
  d.setUTCDate(d.getUTCDate() + offsetDays);
  d.setUTCHours(hour, minute);
  return d.toISOString().replace('.000Z', 'Z');
}

function dateOnly(offsetDays: number): string {
  return isoDay(offsetDays, 0).slice(0, 10);
}

/** Inserts 294 single events over ±90 days and six series, through Google's own endpoints. */
export async function seedDemoCalendar(
  cal: calendar_v3.Calendar,
  calendarId: string,
): Promise<Seeded> {
  const lunchIds: string[] = [];
  let singles = 0;
  const inserts: Array<Promise<unknown>> = [];
  for (let i = 0; i < 294; i++) {
    const day = -90 + Math.floor((i * 180) / 294);
    const hour = 8 + (i % 9);
    const summary = `${SUMMARIES[i % SUMMARIES.length]} #${i + 1}`;
    inserts.push(
      cal.events
        .insert({
          calendarId,
          requestBody: {
            summary,
            location: i % 5 === 0 ? 'Room 4' : undefined,
            start: { dateTime: isoDay(day, hour) },
            end: { dateTime: isoDay(day, hour, 45) },
          },
        })
        .then((r) => {
          singles++;
          if (summary.startsWith('Lunch') && r.data.id) lunchIds.push(r.data.id);
        }),
    );
    if (inserts.length >= 16) await Promise.all(inserts.splice(0));
  }
  await Promise.all(inserts);
  const series: calendar_v3.Schema$Event[] = [
    {
      summary: 'Team standup',
      recurrence: ['RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;COUNT=120'],
      start: { dateTime: isoDay(-7, 9).replace('Z', ''), timeZone: ZONE },
      end: { dateTime: isoDay(-7, 9, 15).replace('Z', ''), timeZone: ZONE },
    },
    {
      summary: 'Monthly review',
      recurrence: ['RRULE:FREQ=MONTHLY;BYDAY=1TU'],
      start: { dateTime: isoDay(-30, 14).replace('Z', ''), timeZone: ZONE },
      end: { dateTime: isoDay(-30, 15).replace('Z', ''), timeZone: ZONE },
    },
    {
      summary: 'Gym',
      recurrence: [
        'RRULE:FREQ=WEEKLY;BYDAY=TU,TH;UNTIL=' + dateOnly(120).replace(/-/g, '') + 'T000000Z',
      ],
      start: { dateTime: isoDay(0, 18).replace('Z', ''), timeZone: ZONE },
      end: { dateTime: isoDay(0, 19).replace('Z', ''), timeZone: ZONE },
    },
    {
      summary: 'Sprint',
      recurrence: ['RRULE:FREQ=WEEKLY;INTERVAL=2;COUNT=12'],
      start: { date: dateOnly(-14) },
      end: { date: dateOnly(-13) },
    },
    {
      summary: 'Payroll day',
      recurrence: ['RRULE:FREQ=MONTHLY;BYMONTHDAY=25'],
      start: { date: dateOnly(-40) },
      end: { date: dateOnly(-39) },
    },
    {
      summary: 'Daily journal',
      recurrence: ['RRULE:FREQ=DAILY;COUNT=60'],
      start: { dateTime: isoDay(-3, 21).replace('Z', ''), timeZone: ZONE },
      end: { dateTime: isoDay(-3, 21, 10).replace('Z', ''), timeZone: ZONE },
    },
  ];
  let standupId = '';
  for (const body of series) {
    const r = await cal.events.insert({ calendarId, requestBody: body });
    if (body.summary === 'Team standup') standupId = r.data.id ?? '';
  }
  return { singles, series: series.length, standupId, lunchIds };
}

export interface StoryStep {
  title: string;
  run(): Promise<void>;
  /** Recognises the Firestore change this step must cause. */
  expect(change: { type: string; id: string; status: string }): boolean;
}

/** The seed write-up's walk-through: add an event, edit it, cancel one instance, delete one. */
export function storySteps(
  cal: calendar_v3.Calendar,
  calendarId: string,
  seeded: Seeded,
): StoryStep[] {
  let newId = '';
  let cancelledInstance = '';
  const deleteId = seeded.lunchIds[seeded.lunchIds.length - 1] ?? '';
  return [
    {
      title: 'add an event: "Coffee with Mina" tomorrow at 10:00',
      run: async () => {
        const r = await cal.events.insert({
          calendarId,
          requestBody: {
            summary: 'Coffee with Mina',
            start: { dateTime: isoDay(1, 10) },
            end: { dateTime: isoDay(1, 10, 30) },
          },
        });
        newId = r.data.id ?? '';
      },
      expect: (c) => c.type === 'added' && c.id === newId,
    },
    {
      title: 'edit it: move to 11:00 and add a location',
      run: async () => {
        await cal.events.patch({
          calendarId,
          eventId: newId,
          requestBody: {
            location: 'Café Nord',
            start: { dateTime: isoDay(1, 11) },
            end: { dateTime: isoDay(1, 11, 30) },
          },
        });
      },
      expect: (c) => c.type === 'modified' && c.id === newId,
    },
    {
      title: 'cancel one instance of the weekly "Team standup"',
      run: async () => {
        const instances = await cal.events.instances({
          calendarId,
          eventId: seeded.standupId,
          timeMin: isoDay(1, 0),
          maxResults: 1,
        });
        const instance = instances.data.items?.[0];
        if (!instance?.id) throw new Error('no upcoming standup instance');
        cancelledInstance = instance.id;
        await cal.events.delete({ calendarId, eventId: instance.id });
      },
      expect: (c) => c.id === cancelledInstance && c.status === 'cancelled',
    },
    {
      title: 'delete an event',
      run: async () => {
        await cal.events.delete({ calendarId, eventId: deleteId });
      },
      expect: (c) => c.type === 'removed' && c.id === deleteId,
    },
  ];
}
