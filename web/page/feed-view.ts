// "What happened": the server's feed (button presses, notifications, delta fetches) and the changes this page saw, newest first.
import { el, timeOfDay } from './dom.js';
import type { FeedItem } from './shared.js';

/** A change that reached this page through onSnapshot. */
export interface SeenItem {
  kind: 'seen';
  at: number;
  text: string;
}

const MAX_ITEMS = 60;

function describe(item: FeedItem | SeenItem): [tag: string, text: string] {
  switch (item.kind) {
    case 'action':
      return ['you', `${item.call} “${item.summary}” — Google answered in ${item.ms} ms`];
    case 'notification':
      return item.state === 'sync'
        ? ['notification', 'sync: watch channel confirmed']
        : [
            'notification',
            `#${item.messageNumber ?? '?'} ${item.state} → webhook → Pub/Sub (${item.publishMs ?? '?'} ms)`,
          ];
    case 'delta':
      return [
        'delta fetch',
        `${item.full ? 'full' : 'incremental'}: ${item.pages} page(s), ${item.items} item(s) → ` +
          `${item.writes} event write(s), ${item.deletes} delete(s), ` +
          `${item.occurrenceWrites + item.occurrenceDeletes} occurrence change(s) (${item.durationMs} ms)`,
      ];
    case 'problem':
      return [item.severity.toLowerCase(), `${item.target}: ${item.message}`];
    case 'seen':
      return ['this page', item.text];
  }
}

export class FeedView {
  constructor(private readonly list: HTMLOListElement) {}

  add(item: FeedItem | SeenItem): void {
    const [tag, text] = describe(item);
    const li = el(
      'li',
      { class: `feed-${item.kind}` },
      el('time', { datetime: new Date(item.at).toISOString() }, timeOfDay(item.at)),
      ' ',
      el('span', { class: 'tag' }, tag),
      ' ',
      text,
    );
    this.list.prepend(li);
    while (this.list.children.length > MAX_ITEMS) this.list.lastElementChild?.remove();
  }

  /** Follows the server's feed (server-sent events; the browser reconnects by itself). */
  connect(url: string): EventSource {
    const source = new EventSource(url);
    source.onmessage = (e: MessageEvent<string>) => this.add(JSON.parse(e.data) as FeedItem);
    return source;
  }
}
