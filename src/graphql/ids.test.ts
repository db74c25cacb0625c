import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import { globalId, localId } from './ids';

describe('global ids', () => {
  test('are the Relay plugin’s ids, and decode back to the type and database id', () => {
    for (const [typename, id] of [
      ['Interaction', '1'],
      ['Customer', '9223372036854775807'],
      ['ScoreHistoryPoint', '42'],
      ['Ab', '7'],
    ] as const) {
      expect(globalId(typename, id)).toBe(encodeGlobalID(typename, id));
      expect(decodeGlobalID(globalId(typename, id))).toEqual({ typename, id });
      expect(localId(globalId(typename, id), typename, 'id')).toBe(id);
    }
  });

  test('an id outside ASCII is encoded as UTF-8 like the plugin does', () => {
    expect(globalId('Segment', 'ünï')).toBe(encodeGlobalID('Segment', 'ünï'));
  });
});
