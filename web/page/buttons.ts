// The buttons: each asks the server to change the demo calendar through the Calendar API, then waits for the change to come back.
import type { ActionAnswer, ActionItem, ActionName } from './shared.js';

/** Wires every `button[data-action]`; `onDone` gets what Google did, with the press's time. */
export function wireButtons(
  root: HTMLElement,
  status: HTMLElement,
  onDone: (item: ActionItem, pressedAt: number) => void,
): void {
  const buttons = [...root.querySelectorAll<HTMLButtonElement>('button[data-action]')];
  for (const button of buttons) {
    button.addEventListener('click', () => {
      const action = button.dataset.action as ActionName;
      const pressedAt = performance.now();
      for (const b of buttons) b.disabled = true;
      status.textContent = `${button.textContent ?? action}: asking the Calendar API…`;
      void press(action)
        .then((answer) => {
          if (answer.ok) {
            status.textContent = `${answer.item.call} “${answer.item.summary}”: done in Google; waiting for it to reach this page…`;
            onDone(answer.item, pressedAt);
          } else {
            status.textContent = answer.error;
          }
        })
        .finally(() => {
          for (const b of buttons) b.disabled = false;
        });
    });
  }
}

async function press(action: ActionName): Promise<ActionAnswer> {
  try {
    const res = await fetch(`/api/${action}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    return (await res.json()) as ActionAnswer;
  } catch (err) {
    return { ok: false, error: `the page's server did not answer: ${String(err)}` };
  }
}
