// Conformance helpers written once: listing every page, and what a failed call answered.
import type { calendar_v3 } from '@googleapis/calendar';

/** All pages of an events listing (primary calendar unless `params` says); items and the final sync token. */
export async function listAll(
  cal: calendar_v3.Calendar,
  params: calendar_v3.Params$Resource$Events$List,
): Promise<{ items: calendar_v3.Schema$Event[]; syncToken: string }> {
  const items: calendar_v3.Schema$Event[] = [];
  let pageToken: string | undefined;
  for (;;) {
    const { data } = await cal.events.list({ calendarId: 'primary', ...params, pageToken });
    items.push(...(data.items ?? []));
    if (!data.nextPageToken) return { items, syncToken: data.nextSyncToken! };
    pageToken = data.nextPageToken;
  }
}

/** The HTTP status a call ended with: 200 when it succeeded. */
export async function statusOf(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
    return 200;
  } catch (e) {
    return (e as { status?: number }).status;
  }
}

/** What a call that must fail answered: status, body, and the first error's `reason`. */
export async function failure(
  p: Promise<unknown>,
): Promise<{ status?: number; data?: unknown; reason?: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as { status?: number; response?: { data?: unknown } };
    const body = err.response?.data as { error?: { errors?: { reason?: string }[] } } | undefined;
    return {
      status: err.status,
      data: err.response?.data,
      reason: body?.error?.errors?.[0]?.reason,
    };
  }
  throw new Error('expected the call to fail');
}

/** The body Google answers an error with: one error item, its message also the top-level one. */
export function googleErrorBody(
  code: number,
  domain: string,
  reason: string,
  message: string,
  extra: Record<string, unknown> = {},
) {
  return { error: { errors: [{ domain, reason, message, ...extra }], code, message } };
}
