/**
 * Channel icons: a symbol beside the channel's name (never the symbol alone),
 * from the common text fonts' symbol ranges rather than emoji, which many
 * systems (a headless server, a locked-down desktop) cannot draw.
 */
const CHANNEL_ICONS: Record<string, string> = {
  email: '✉',
  web: '◎',
  mobile: '▯',
  app: '▯',
  store: '⌂',
  in_person: '⌂',
  pos: '⌂',
  phone: '☎',
  call: '☎',
  sms: '✎',
  chat: '✎',
  social: '☺',
  support: '⚑',
  payment: '¤',
  ads: '✦',
};

export function ChannelLabel({ channel }: { channel: string }) {
  return (
    <span className="channel">
      <span className="channel-icon" aria-hidden="true">
        {CHANNEL_ICONS[channel.toLowerCase()] ?? '•'}
      </span>{' '}
      {channel}
    </span>
  );
}

/** A JSON value as short text: strings as they are, the rest as JSON. */
export function showValue(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toLocaleString('en', { maximumFractionDigits: 4 });
  return JSON.stringify(value);
}

/** The entries of a JSON object (traits, components), in key order. */
export function entriesOf(value: unknown): [string, unknown][] {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return [];
  return Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b));
}
